#include "support/test_pki.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace ocspgate::fixtures {
namespace {

// Builders throw: gtest reports an exception as a failure of the test that hit it.
void require(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(tls::drain_errors(std::string("test PKI: ") + what));
}

tls::EvpPkeyPtr new_key() {
    tls::EvpPkeyPtr key(EVP_EC_gen("P-256"));
    require(key != nullptr, "EVP_EC_gen");
    return key;
}

tls::X509NamePtr parse_name(const std::string& subject) {
    tls::X509NamePtr name(X509_NAME_new());
    require(name != nullptr, "X509_NAME_new");
    // "/O=Test/CN=name": split on '/', then on the first '='.
    std::size_t pos = 1;
    while (pos < subject.size()) {
        const std::size_t end = std::min(subject.find('/', pos), subject.size());
        const std::string part = subject.substr(pos, end - pos);
        const std::size_t eq = part.find('=');
        require(eq != std::string::npos, "subject syntax");
        require(X509_NAME_add_entry_by_txt(
                    name.get(), part.substr(0, eq).c_str(), MBSTRING_UTF8,
                    reinterpret_cast<const unsigned char*>(part.c_str() + eq + 1), -1, -1, 0) == 1,
                "X509_NAME_add_entry_by_txt");
        pos = end + 1;
    }
    return name;
}

void add_extension(X509* cert, X509* issuer, const ExtensionSpec& spec) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    tls::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, spec.first, spec.second.c_str()));
    require(ext != nullptr, "X509V3_EXT_conf_nid");
    require(X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext");
}

// An extension with a private OID that nobody understands, marked critical.
tls::X509ExtensionPtr unknown_critical_extension() {
    tls::Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    static const unsigned char der_null[] = {0x05, 0x00};
    require(value && ASN1_OCTET_STRING_set(value.get(), der_null, sizeof der_null) == 1,
            "octet string");
    ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.4.1.55555.1.1", 1);
    require(oid != nullptr, "OBJ_txt2obj");
    tls::X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, value.get()));
    ASN1_OBJECT_free(oid);
    require(ext != nullptr, "X509_EXTENSION_create_by_OBJ");
    return ext;
}

tls::Asn1TimePtr time_at(std::time_t t) {
    tls::Asn1TimePtr out(ASN1_GENERALIZEDTIME_set(nullptr, t));
    require(out != nullptr, "ASN1_GENERALIZEDTIME_set");
    return out;
}

std::vector<ExtensionSpec> responder_extensions(
    const char* key_usage = "critical,digitalSignature") {
    return {{NID_basic_constraints, "critical,CA:FALSE"},
            {NID_key_usage, key_usage},
            {NID_ext_key_usage, "OCSPSigning"}};
}

TestPki build_pki() {
    TestPki p;
    p.root = make_cert({"/O=Test/CN=Test Root", nullptr, 1, ca_extensions()});
    p.issuing = make_cert({"/O=Test/CN=Test Issuing", &p.root, 2, ca_extensions()});
    p.leaf = make_cert({"/O=Test/CN=leaf", &p.issuing, 0x1001, leaf_extensions()});
    p.other_leaf = make_cert({"/O=Test/CN=other leaf", &p.issuing, 0x1002, leaf_extensions()});
    p.delegated =
        make_cert({"/O=Test/CN=delegated responder", &p.issuing, 0x2001, responder_extensions()});
    p.delegated_noeku =
        make_cert({"/O=Test/CN=responder without EKU", &p.issuing, 0x2002, leaf_extensions()});
    CertSpec expired{"/O=Test/CN=expired responder", &p.issuing, 0x2003, responder_extensions()};
    expired.not_before = test_now - 30 * one_day;
    expired.not_after = test_now - one_day;
    p.delegated_expired = make_cert(expired);
    p.delegated_no_ds = make_cert({"/O=Test/CN=responder without digitalSignature", &p.issuing,
                                   0x2004, responder_extensions("critical,keyAgreement")});
    p.root_delegated =
        make_cert({"/O=Test/CN=root's responder", &p.root, 0x3001, responder_extensions()});
    p.pinned = make_cert({"/O=Test/CN=pinned responder", nullptr, 0x4001, responder_extensions()});
    p.impostor = make_cert({"/O=Test/CN=Test Issuing", nullptr, 0x5001, ca_extensions()});
    p.ca_no_crlsign = make_cert(
        {"/O=Test/CN=CA without cRLSign",
         &p.root,
         0x6001,
         {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_key_usage, "critical,keyCertSign"}}});
    p.crl_signer = make_cert({"/O=Test/CN=Test Issuing",
                              &p.root,
                              0x6002,
                              {{NID_basic_constraints, "critical,CA:FALSE"}, {NID_key_usage, "critical,cRLSign"}}});
    return p;
}

void add_single(OCSP_BASICRESP* basic, const SingleSpec& spec) {
    OCSP_CERTID* id = OCSP_cert_to_id(spec.id_md, spec.cert, spec.issuer);
    require(id != nullptr, "OCSP_cert_to_id");
    tls::OcspCertIdPtr id_owner(id);
    auto this_update = time_at(spec.this_update);
    auto revoked_at = time_at(spec.revoked_at);
    tls::Asn1TimePtr next_update = spec.next_update ? time_at(*spec.next_update) : nullptr;
    OCSP_SINGLERESP* single = OCSP_basic_add1_status(
        basic, id, spec.status, spec.reason,
        spec.status == V_OCSP_CERTSTATUS_REVOKED ? revoked_at.get() : nullptr, this_update.get(),
        next_update.get());
    require(single != nullptr, "OCSP_basic_add1_status");
    if (spec.critical_unknown_extension)
        require(OCSP_SINGLERESP_add_ext(single, unknown_critical_extension().get(), -1) == 1,
                "OCSP_SINGLERESP_add_ext");
}

void corrupt(const ASN1_STRING* signature) {
    // Test-only: the signature is ours to break; OpenSSL hands it out as const.
    auto* bytes = const_cast<unsigned char*>(ASN1_STRING_get0_data(signature));
    bytes[ASN1_STRING_length(signature) - 1] ^= 0x01;
}

std::string bio_contents(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::vector<std::uint8_t> der_of(OCSP_RESPONSE* response) {
    unsigned char* der = nullptr;
    const int len = i2d_OCSP_RESPONSE(response, &der);
    require(len > 0, "i2d_OCSP_RESPONSE");
    std::vector<std::uint8_t> out(der, der + len);
    OPENSSL_free(der);
    return out;
}

void add_revoked(X509_CRL* crl, const RevokedSpec& spec) {
    X509_REVOKED* entry = X509_REVOKED_new();
    require(entry != nullptr, "X509_REVOKED_new");
    auto when = time_at(spec.revoked_at);
    bool ok = X509_REVOKED_set_serialNumber(entry, X509_get_serialNumber(spec.cert)) == 1 &&
              X509_REVOKED_set_revocationDate(entry, when.get()) == 1;
    if (ok && spec.reason >= 0) {
        tls::Asn1EnumeratedPtr reason(ASN1_ENUMERATED_new());
        ok = reason && ASN1_ENUMERATED_set(reason.get(), spec.reason) == 1 &&
             X509_REVOKED_add1_ext_i2d(entry, NID_crl_reason, reason.get(), 0, 0) == 1;
    }
    if (ok && spec.critical_unknown_extension)
        ok = X509_REVOKED_add_ext(entry, unknown_critical_extension().get(), -1) == 1;
    if (!ok || X509_CRL_add0_revoked(crl, entry) != 1) {
        X509_REVOKED_free(entry);
        require(false, "CRL entry");
    }
}

void add_crl_extension(X509_CRL* crl, const Issued& signer, const ExtensionSpec& spec) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, signer.get(), nullptr, nullptr, crl, 0);
    tls::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, spec.first, spec.second.c_str()));
    require(ext != nullptr, "X509V3_EXT_conf_nid (CRL)");
    require(X509_CRL_add_ext(crl, ext.get(), -1) == 1, "X509_CRL_add_ext");
}

// "DER:30:0a:..." for X509V3_EXT_conf_nid's generic syntax.
std::string der_syntax(unsigned char* der, int len) {
    require(len > 0, "i2d of an extension value");
    std::string out = "DER:";
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < len; ++i) {
        if (i > 0) out += ':';
        out += hex[der[i] >> 4];
        out += hex[der[i] & 0xf];
    }
    OPENSSL_free(der);
    return out;
}

ASN1_BIT_STRING* reason_flags(const std::vector<int>& reasons) {
    ASN1_BIT_STRING* bits = ASN1_BIT_STRING_new();
    require(bits != nullptr, "ASN1_BIT_STRING_new");
    for (int reason : reasons)
        require(ASN1_BIT_STRING_set_bit(bits, reason, 1) == 1, "ASN1_BIT_STRING_set_bit");
    return bits;
}

DIST_POINT_NAME* full_name(const std::string& uri) {
    DIST_POINT_NAME* name = DIST_POINT_NAME_new();
    GENERAL_NAME* general = GENERAL_NAME_new();
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    require(name && general && text && ASN1_STRING_set(text, uri.data(), static_cast<int>(uri.size())) == 1,
            "distribution point name");
    GENERAL_NAME_set0_value(general, GEN_URI, text);
    name->type = 0;  // fullName
    name->name.fullname = GENERAL_NAMES_new();
    require(name->name.fullname != nullptr && sk_GENERAL_NAME_push(name->name.fullname, general) > 0,
            "GENERAL_NAMES");
    return name;
}

}  // namespace

ExtensionSpec idp_extension(const std::string& uri, const std::vector<int>& reasons) {
    ISSUING_DIST_POINT* idp = ISSUING_DIST_POINT_new();
    require(idp != nullptr, "ISSUING_DIST_POINT_new");
    if (!uri.empty()) idp->distpoint = full_name(uri);
    if (!reasons.empty()) idp->onlysomereasons = reason_flags(reasons);
    unsigned char* der = nullptr;
    const int len = i2d_ISSUING_DIST_POINT(idp, &der);
    ISSUING_DIST_POINT_free(idp);
    return {NID_issuing_distribution_point, "critical," + der_syntax(der, len)};
}

ExtensionSpec crl_dp_extension(const std::string& uri, const std::vector<int>& reasons) {
    tls::DistPointStackPtr points(sk_DIST_POINT_new_null());
    DIST_POINT* point = DIST_POINT_new();
    require(points && point && sk_DIST_POINT_push(points.get(), point) > 0, "DIST_POINT");
    point->distpoint = full_name(uri);
    if (!reasons.empty()) point->reasons = reason_flags(reasons);
    unsigned char* der = nullptr;
    const int len = i2d_CRL_DIST_POINTS(points.get(), &der);
    return {NID_crl_distribution_points, der_syntax(der, len)};
}

Issued make_cert(const CertSpec& spec) {
    Issued out;
    out.key = new_key();
    out.cert.reset(X509_new());
    require(out.cert != nullptr, "X509_new");
    X509* cert = out.cert.get();
    auto subject = parse_name(spec.subject);
    auto not_before = time_at(spec.not_before);
    auto not_after = time_at(spec.not_after);
    X509* issuer = spec.issuer ? spec.issuer->get() : cert;
    require(X509_set_version(cert, X509_VERSION_3) == 1 &&
                ASN1_INTEGER_set(X509_get_serialNumber(cert), spec.serial) == 1 &&
                X509_set_subject_name(cert, subject.get()) == 1 &&
                X509_set_issuer_name(cert, X509_get_subject_name(issuer)) == 1 &&
                X509_set1_notBefore(cert, not_before.get()) == 1 &&
                X509_set1_notAfter(cert, not_after.get()) == 1 &&
                X509_set_pubkey(cert, out.key.get()) == 1,
            "certificate fields");
    for (const auto& ext : spec.extensions)
        add_extension(cert, issuer, ext);
    EVP_PKEY* signing_key = spec.issuer ? spec.issuer->key.get() : out.key.get();
    require(X509_sign(cert, signing_key, EVP_sha256()) > 0, "X509_sign");
    return out;
}

const std::vector<ExtensionSpec>& ca_extensions() {
    static const std::vector<ExtensionSpec> extensions = {
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,keyCertSign,cRLSign"},
        {NID_subject_key_identifier, "hash"},
    };
    return extensions;
}

std::vector<ExtensionSpec> leaf_extensions(const char* purpose) {
    return {{NID_basic_constraints, "critical,CA:FALSE"},
            {NID_key_usage, "critical,digitalSignature"},
            {NID_ext_key_usage, purpose}};
}

std::string certificate_pem(const X509* cert) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    require(bio && PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
    return bio_contents(bio.get());
}

std::string private_key_pem(const EVP_PKEY* key) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    require(bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                            nullptr) == 1,
            "PEM_write_bio_PrivateKey");
    return bio_contents(bio.get());
}

const TestPki& pki() {
    static const TestPki instance = build_pki();
    return instance;
}

std::vector<std::uint8_t> make_response(const ResponseSpec& spec) {
    tls::OcspBasicRespPtr basic(OCSP_BASICRESP_new());
    require(basic != nullptr, "OCSP_BASICRESP_new");
    for (const auto& single : spec.singles)
        add_single(basic.get(), single);
    if (!spec.nonce.empty())
        require(OCSP_basic_add1_nonce(basic.get(), const_cast<unsigned char*>(spec.nonce.data()),
                                      static_cast<int>(spec.nonce.size())) == 1,
                "OCSP_basic_add1_nonce");
    if (spec.critical_unknown_extension)
        require(OCSP_BASICRESP_add_ext(basic.get(), unknown_critical_extension().get(), -1) == 1,
                "OCSP_BASICRESP_add_ext");
    unsigned long flags = 0;
    if (spec.responder_id_by_key) flags |= OCSP_RESPID_KEY;
    if (!spec.include_certs) flags |= OCSP_NOCERTS;
    require(spec.signer != nullptr, "ResponseSpec.signer");
    require(OCSP_basic_sign(basic.get(), spec.signer->get(), spec.signer->key.get(), EVP_sha256(),
                            nullptr, flags) == 1,
            "OCSP_basic_sign");
    if (spec.corrupt_signature) corrupt(OCSP_resp_get0_signature(basic.get()));
    tls::OcspResponsePtr response(
        OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
    require(response != nullptr, "OCSP_response_create");
    return der_of(response.get());
}

std::vector<std::uint8_t> make_status_response(int status) {
    tls::OcspResponsePtr response(OCSP_response_create(status, nullptr));
    require(response != nullptr, "OCSP_response_create");
    return der_of(response.get());
}

tls::X509CrlPtr make_crl(const CrlSpec& spec) {
    require(spec.signer != nullptr, "CrlSpec.signer");
    tls::X509CrlPtr crl(X509_CRL_new());
    require(crl != nullptr, "X509_CRL_new");
    auto this_update = time_at(spec.this_update);
    const X509_NAME* issuer =
        spec.issuer_name ? spec.issuer_name : X509_get_subject_name(spec.signer->get());
    require(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1 &&
                X509_CRL_set_issuer_name(crl.get(), issuer) == 1 &&
                X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) == 1,
            "CRL fields");
    if (spec.next_update)
        require(X509_CRL_set1_nextUpdate(crl.get(), time_at(*spec.next_update).get()) == 1,
                "nextUpdate");
    for (const auto& revoked : spec.revoked)
        add_revoked(crl.get(), revoked);
    for (const auto& ext : spec.extensions)
        add_crl_extension(crl.get(), *spec.signer, ext);
    if (spec.number) {
        tls::Asn1IntegerPtr number(ASN1_INTEGER_new());
        require(number && ASN1_INTEGER_set(number.get(), *spec.number) == 1 &&
                    X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) == 1,
                "cRLNumber");
    }
    if (spec.delta_of) {
        // deltaCRLIndicator has no config-string syntax; add the INTEGER directly.
        tls::Asn1IntegerPtr base(ASN1_INTEGER_new());
        require(base && ASN1_INTEGER_set(base.get(), *spec.delta_of) == 1 &&
                    X509_CRL_add1_ext_i2d(crl.get(), NID_delta_crl, base.get(), 1, 0) == 1,
                "deltaCRLIndicator");
    }
    if (spec.critical_unknown_extension)
        require(X509_CRL_add_ext(crl.get(), unknown_critical_extension().get(), -1) == 1,
                "CRL ext");
    require(X509_CRL_sort(crl.get()) == 1, "X509_CRL_sort");
    require(X509_CRL_sign(crl.get(), spec.signer->key.get(), EVP_sha256()) > 0, "X509_CRL_sign");
    return crl;
}

std::vector<std::uint8_t> der_of(X509_CRL* crl) {
    unsigned char* der = nullptr;
    const int len = i2d_X509_CRL(crl, &der);
    require(len > 0, "i2d_X509_CRL");
    std::vector<std::uint8_t> out(der, der + len);
    OPENSSL_free(der);
    return out;
}

std::vector<std::uint8_t> pem_of(X509_CRL* crl) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    require(bio && PEM_write_bio_X509_CRL(bio.get(), crl) == 1, "PEM_write_bio_X509_CRL");
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::vector<std::uint8_t>(data, data + len);
}

}  // namespace ocspgate::fixtures
