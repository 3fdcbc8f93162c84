#include "ocsp/signer.h"

#include <fmt/format.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "ocsp/asn1_time.h"
#include "ocsp/responder_cache.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {
namespace {

// The ResponderID of a response: exactly one of the two is set.
struct ResponderId {
    const ASN1_OCTET_STRING* key_hash = nullptr;  // byKey: SHA-1 of subjectPublicKey
    const X509_NAME* name = nullptr;              // byName
};

// Why a candidate signer was refused; empty when it was authorized.
struct Authorization {
    std::optional<SignerKind> kind;
    std::string refusal;
};

std::string name_of(const X509_NAME* name) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return {data, static_cast<std::size_t>(len)};
}

std::string subject_of(X509* cert) {
    return name_of(X509_get_subject_name(cert));
}

bool matches(X509* cert, const ResponderId& rid) {
    if (rid.name != nullptr) return X509_NAME_cmp(rid.name, X509_get_subject_name(cert)) == 0;
    if (rid.key_hash == nullptr || ASN1_STRING_length(rid.key_hash) != SHA_DIGEST_LENGTH)
        return false;
    unsigned char digest[SHA_DIGEST_LENGTH];
    unsigned int len = 0;
    if (X509_pubkey_digest(cert, EVP_sha1(), digest, &len) != 1 || len != sizeof digest)
        return false;
    return std::memcmp(digest, ASN1_STRING_get0_data(rid.key_hash), sizeof digest) == 0;
}

bool same_key(X509* a, X509* b) {
    const EVP_PKEY* ka = X509_get0_pubkey(a);
    const EVP_PKEY* kb = X509_get0_pubkey(b);
    return ka != nullptr && kb != nullptr && EVP_PKEY_eq(ka, kb) == 1;
}

bool valid_at(X509* cert, const ValidationInput& in) {
    const auto not_before = to_time_point(X509_get0_notBefore(cert));
    const auto not_after = to_time_point(X509_get0_notAfter(cert));
    return not_before && not_after && *not_before <= in.now + in.clock_skew &&
           *not_after >= in.now - in.clock_skew;
}

// X509_verify(candidate, issuer's key), remembered in in.responder_cache for byte-identical
// certificates while the candidate is valid: the one public-key operation of rule 2b that a
// responder's next response would repeat unchanged.
bool signed_by_issuer(X509* candidate, const ValidationInput& in) {
    ResponderCache* cache = in.responder_cache;
    if (cache != nullptr && cache->knows_signed_by(candidate, in.issuer, in.now)) return true;
    EVP_PKEY* ca_key = X509_get0_pubkey(in.issuer);
    if (ca_key == nullptr || X509_verify(candidate, ca_key) != 1) return false;
    const auto not_after = to_time_point(X509_get0_notAfter(candidate));
    if (cache != nullptr && not_after) cache->store_signed_by(candidate, in.issuer, *not_after + in.clock_skew);
    return true;
}

// Rule 2b: empty when `candidate` is a delegated responder of `in.issuer`, else why not.
std::string delegation_refusal(X509* candidate, const ValidationInput& in) {
    if (X509_NAME_cmp(X509_get_issuer_name(candidate), X509_get_subject_name(in.issuer)) != 0)
        return "is not issued by the certificate's issuer";
    if (!signed_by_issuer(candidate, in)) return "is not signed by the certificate's issuer";
    const uint32_t flags = X509_get_extension_flags(candidate);
    if ((flags & EXFLAG_INVALID) != 0) return "has malformed extensions";
    if ((flags & EXFLAG_XKUSAGE) == 0 ||
        (X509_get_extended_key_usage(candidate) & XKU_OCSP_SIGN) == 0)
        return "lacks extendedKeyUsage id-kp-OCSPSigning";
    if ((flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(candidate) & KU_DIGITAL_SIGNATURE) == 0)
        return "lacks keyUsage digitalSignature";
    if (!valid_at(candidate, in)) return "is outside its validity period";
    return {};
}

Authorization authorize(X509* candidate, const ValidationInput& in) {
    if (same_key(candidate, in.issuer)) return {SignerKind::issuer, {}};
    for (X509* trusted : in.trusted_responders) {
        if (trusted != nullptr &&
            (X509_cmp(candidate, trusted) == 0 || same_key(candidate, trusted)))
            return {SignerKind::configured, {}};
    }
    std::string refusal = delegation_refusal(candidate, in);
    if (refusal.empty()) return {SignerKind::delegated, {}};
    return {std::nullopt, "responder " + subject_of(candidate) + " " + refusal};
}

bool signature_verifies(OCSP_BASICRESP* response, X509* signer) {
    EVP_PKEY* key = X509_get0_pubkey(signer);
    // What OCSP_basic_verify() does once it has picked a signer, without its chain building.
    return key != nullptr &&
           ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA), OCSP_resp_get0_tbs_sigalg(response),
                            OCSP_resp_get0_signature(response), OCSP_resp_get0_respdata(response),
                            key) == 1;
}

// Certificates that might have signed: the response's own, then the ones we know.
std::vector<X509*> candidates(OCSP_BASICRESP* response, const ValidationInput& in) {
    std::vector<X509*> out;
    const STACK_OF(X509)* certs = OCSP_resp_get0_certs(response);
    for (int i = 0; i < sk_X509_num(certs); ++i)
        out.push_back(sk_X509_value(certs, i));
    out.push_back(in.issuer);
    for (X509* trusted : in.trusted_responders)
        if (trusted != nullptr) out.push_back(trusted);
    return out;
}

std::string describe(const ResponderId& rid) {
    if (rid.name != nullptr) return "byName " + name_of(rid.name);
    std::string out = "byKey ";
    const unsigned char* bytes = rid.key_hash ? ASN1_STRING_get0_data(rid.key_hash) : nullptr;
    for (int i = 0; bytes != nullptr && i < ASN1_STRING_length(rid.key_hash); ++i)
        out += fmt::format("{:02X}", bytes[i]);
    return out;
}

}  // namespace

std::variant<SignerKind, ResponseFailure> authenticate_signer(OCSP_BASICRESP* response,
                                                              const ValidationInput& in) {
    ResponderId rid;
    if (OCSP_resp_get0_id(response, &rid.key_hash, &rid.name) != 1)
        return ResponseFailure{ResponseError::malformed, "response has no usable ResponderID"};
    bool found = false;
    std::optional<ResponseFailure> bad_signature;
    std::string refusal;
    for (X509* candidate : candidates(response, in)) {
        if (!matches(candidate, rid)) continue;
        found = true;
        const Authorization auth = authorize(candidate, in);
        if (!auth.kind) {
            refusal = auth.refusal;
            continue;
        }
        if (signature_verifies(response, candidate)) return *auth.kind;
        bad_signature =
            ResponseFailure{ResponseError::bad_signature,
                            "signature by " + std::string(to_string(*auth.kind)) + " responder " +
                                subject_of(candidate) + " does not verify"};
    }
    // An authorized signer whose signature fails says more than an unauthorized one.
    if (bad_signature) return *bad_signature;
    if (!found)
        return ResponseFailure{ResponseError::unauthorized_signer,
                               "no known certificate matches ResponderID " + describe(rid)};
    return ResponseFailure{ResponseError::unauthorized_signer, refusal};
}

}  // namespace ocspgate::ocsp
