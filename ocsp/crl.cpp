#include "ocsp/crl.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "ocsp/asn1_time.h"
#include "ocsp/error_queue.h"

namespace ocspgate::ocsp {
namespace {

CrlFailure fail(CrlError kind, std::string detail) {
    return CrlFailure{kind, std::move(detail)};
}

bool is_space(std::uint8_t c) {
    return std::isspace(c) != 0;
}

std::span<const std::uint8_t> skip_leading_space(std::span<const std::uint8_t> bytes) {
    const auto first = std::find_if_not(bytes.begin(), bytes.end(), is_space);
    return bytes.subspan(static_cast<std::size_t>(first - bytes.begin()));
}

bool looks_like_pem(std::span<const std::uint8_t> bytes) {
    constexpr std::string_view begin = "-----BEGIN";
    return bytes.size() >= begin.size() && std::equal(begin.begin(), begin.end(), bytes.begin());
}

Result<tls::X509CrlPtr> parse_pem(std::span<const std::uint8_t> bytes) {
    tls::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    if (!bio) return make_error(Errc::tls, tls::drain_errors("cannot read CRL"));
    tls::X509CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (!crl) return make_error(Errc::parse, tls::drain_errors("not a PEM X509 CRL"));
    char* rest = nullptr;
    const long rest_len = BIO_get_mem_data(bio.get(), &rest);
    if (!std::all_of(rest, rest + rest_len,
                     [](char c) { return is_space(static_cast<std::uint8_t>(c)); }))
        return make_error(Errc::parse, "data after the PEM CRL");
    return crl;
}

Result<tls::X509CrlPtr> parse_der(std::span<const std::uint8_t> bytes) {
    const unsigned char* p = bytes.data();
    tls::X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size())));
    if (!crl) return make_error(Errc::parse, tls::drain_errors("not a DER X509 CRL"));
    if (p != bytes.data() + bytes.size())
        return make_error(Errc::parse, fmt::format("{} bytes after the DER CRL",
                                                   bytes.data() + bytes.size() - p));
    return crl;
}

// thisUpdate and nextUpdate; a failure when either cannot be decoded.
std::variant<CrlCheck, CrlFailure> read_dates(X509_CRL* crl) {
    CrlCheck check;
    const auto this_update = to_time_point(X509_CRL_get0_lastUpdate(crl));
    if (!this_update) return fail(CrlError::malformed, "CRL has an invalid thisUpdate");
    check.this_update = *this_update;
    if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl)) {
        check.next_update = to_time_point(next);
        if (!check.next_update) return fail(CrlError::malformed, "CRL has an invalid nextUpdate");
    }
    return check;
}

std::optional<CrlFailure> issuer_failure(X509_CRL* crl, X509* issuer) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
        return fail(CrlError::wrong_issuer, "CRL issuer name is not the certificate's issuer");
    // RFC 5280 §4.2.1.3: a CA key that signs CRLs has cRLSign if keyUsage is present.
    if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0 &&
        (X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0)
        return fail(CrlError::wrong_issuer, "issuer's keyUsage lacks cRLSign");
    EVP_PKEY* key = X509_get0_pubkey(issuer);
    if (key == nullptr || X509_CRL_verify(crl, key) != 1)
        return fail(CrlError::bad_signature, "CRL signature does not verify with the issuer's key");
    return std::nullopt;
}

std::optional<CrlFailure> idp_failure(X509_CRL* crl) {
    int critical = 0;
    tls::IssuingDistPointPtr idp(static_cast<ISSUING_DIST_POINT*>(
        X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &critical, nullptr)));
    if (!idp) {
        // -1: absent; otherwise present but undecodable (or repeated).
        if (critical == -1) return std::nullopt;
        return fail(CrlError::malformed, "CRL has an undecodable issuingDistributionPoint");
    }
    if (idp->indirectCRL > 0) return fail(CrlError::unsupported, "indirect CRLs are not supported");
    if (idp->onlysomereasons != nullptr)
        return fail(CrlError::unsupported, "CRLs partitioned by reason are not supported");
    if (idp->onlyattr > 0)
        return fail(CrlError::unsupported, "CRL covers attribute certificates only");
    return std::nullopt;
}

std::optional<CrlFailure> extension_failure(X509_CRL* crl) {
    for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i) {
        X509_EXTENSION* ext = X509_CRL_get_ext(crl, i);
        const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        if (nid == NID_delta_crl)
            return fail(CrlError::unsupported, "delta CRLs are not supported");
        if (nid == NID_issuing_distribution_point) continue;  // idp_failure() reads it
        if (X509_EXTENSION_get_critical(ext) != 0)
            return fail(CrlError::unsupported,
                        fmt::format("unsupported critical CRL extension {}",
                                    nid == NID_undef ? "(unknown OID)" : OBJ_nid2sn(nid)));
    }
    return idp_failure(crl);
}

std::optional<CrlFailure> freshness_failure(const CrlCheck& dates, const CrlCheckInput& in) {
    if (dates.this_update > in.now + in.clock_skew)
        return fail(CrlError::not_yet_valid,
                    "CRL thisUpdate " + to_iso8601(dates.this_update) + " is in the future");
    if (dates.next_update && *dates.next_update < in.now - in.clock_skew)
        return fail(CrlError::expired,
                    "CRL nextUpdate " + to_iso8601(*dates.next_update) + " has passed");
    return std::nullopt;
}

// Whether two distribution point names name the same place (RFC 5280 §6.3.3 b.2.i). A
// nameRelativeToCRLIssuer has been resolved into `dpname` by DIST_POINT_set_dpname(); a
// fullName matches when any of its GeneralNames equals one on the other side.
bool dp_names_match(const DIST_POINT_NAME* a, const DIST_POINT_NAME* b) {
    if (a->type == 1 && b->type == 1) return a->dpname != nullptr && b->dpname != nullptr &&
                                             X509_NAME_cmp(a->dpname, b->dpname) == 0;
    if (a->type == 1) std::swap(a, b);  // now a is a fullName
    for (int i = 0; i < sk_GENERAL_NAME_num(a->name.fullname); ++i) {
        GENERAL_NAME* x = sk_GENERAL_NAME_value(a->name.fullname, i);
        if (b->type == 1) {
            if (x->type == GEN_DIRNAME && b->dpname != nullptr && X509_NAME_cmp(x->d.dirn, b->dpname) == 0)
                return true;
            continue;
        }
        for (int j = 0; j < sk_GENERAL_NAME_num(b->name.fullname); ++j)
            if (GENERAL_NAME_cmp(x, sk_GENERAL_NAME_value(b->name.fullname, j)) == 0) return true;
    }
    return false;
}

// A CRL whose issuingDistributionPoint names a distribution point is one partition of the
// CA's revocations: it speaks only for certificates that name that same point in their
// cRLDistributionPoints. A certificate naming none is covered only by a CRL that names none.
std::optional<CrlFailure> partition_failure(X509_CRL* crl, DIST_POINT_NAME* idp_point, X509* cert) {
    DIST_POINT_set_dpname(idp_point, X509_CRL_get_issuer(crl));
    tls::DistPointStackPtr points(static_cast<STACK_OF(DIST_POINT)*>(
        X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr)));
    for (int i = 0; i < sk_DIST_POINT_num(points.get()); ++i) {
        DIST_POINT* point = sk_DIST_POINT_value(points.get(), i);
        // A point with a cRLIssuer belongs to an indirect CRL, which crl.h does not support.
        if (point->distpoint == nullptr || point->CRLissuer != nullptr) continue;
        DIST_POINT_set_dpname(point->distpoint, X509_get_issuer_name(cert));
        if (dp_names_match(idp_point, point->distpoint)) return std::nullopt;
    }
    return fail(CrlError::out_of_scope,
                points ? "CRL's issuingDistributionPoint is none of the certificate's distribution points"
                       : "CRL covers one distribution point; the certificate names none");
}

// issuingDistributionPoint: distributionPoint, onlyContainsUserCerts, onlyContainsCACerts
// (RFC 5280 §5.2.5, §6.3.3 b).
std::optional<CrlFailure> scope_failure(X509_CRL* crl, X509* cert) {
    tls::IssuingDistPointPtr idp(static_cast<ISSUING_DIST_POINT*>(
        X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, nullptr, nullptr)));
    if (!idp) return std::nullopt;
    const bool is_ca = X509_check_ca(cert) != 0;
    if (idp->onlyuser > 0 && is_ca)
        return fail(CrlError::out_of_scope, "CRL covers end-entity certificates only");
    if (idp->onlyCA > 0 && !is_ca)
        return fail(CrlError::out_of_scope, "CRL covers CA certificates only");
    if (idp->distpoint != nullptr) return partition_failure(crl, idp->distpoint, cert);
    return std::nullopt;
}

void read_revocation(X509_REVOKED* entry, CrlCheck& check) {
    check.status = CertStatus::revoked;
    check.revocation_time = to_time_point(X509_REVOKED_get0_revocationDate(entry));
    tls::Asn1EnumeratedPtr reason(static_cast<ASN1_ENUMERATED*>(
        X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr)));
    if (reason) check.revocation_reason = static_cast<int>(ASN1_ENUMERATED_get(reason.get()));
}

}  // namespace

Result<tls::X509CrlPtr> parse_crl(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return make_error(Errc::parse, "empty CRL");
    if (bytes.size() > static_cast<std::size_t>(INT_MAX))
        return make_error(Errc::parse, "CRL too large");
    tls::clear_errors();
    // PEM readers skip whole lines before "-----BEGIN", but not indentation on its line.
    const auto text = skip_leading_space(bytes);
    return looks_like_pem(text) ? parse_pem(text) : parse_der(bytes);
}

const char* to_string(CrlError error) noexcept {
    switch (error) {
        case CrlError::malformed: return "malformed";
        case CrlError::wrong_issuer: return "wrong_issuer";
        case CrlError::bad_signature: return "bad_signature";
        case CrlError::unsupported: return "unsupported";
        case CrlError::not_yet_valid: return "not_yet_valid";
        case CrlError::expired: return "expired";
        case CrlError::out_of_scope: return "out_of_scope";
    }
    return "invalid";
}

Error to_error(const CrlFailure& failure) {
    const Errc code = failure.kind == CrlError::malformed ? Errc::parse : Errc::verify;
    return make_error(code, fmt::format("CRL {}: {}", to_string(failure.kind), failure.detail));
}

CrlVerification verify_crl(const CrlCheckInput& in) {
    if (in.crl == nullptr || in.issuer == nullptr)
        return fail(CrlError::malformed, "verify_crl: null CRL or issuer");
    ErrorQueueScope errors;
    if (auto failure = issuer_failure(in.crl, in.issuer)) return *failure;
    if (auto failure = extension_failure(in.crl)) return *failure;
    auto dates = read_dates(in.crl);
    if (auto* failure = std::get_if<CrlFailure>(&dates)) return std::move(*failure);
    if (auto failure = freshness_failure(std::get<CrlCheck>(dates), in)) return *failure;
    return dates;
}

CrlVerification lookup(X509_CRL* crl, X509* cert) {
    if (crl == nullptr || cert == nullptr)
        return fail(CrlError::malformed, "lookup: null CRL or certificate");
    ErrorQueueScope errors;
    if (auto failure = scope_failure(crl, cert)) return *failure;
    auto check = read_dates(crl);
    if (auto* failure = std::get_if<CrlFailure>(&check)) return std::move(*failure);
    X509_REVOKED* entry = nullptr;
    // 1: listed; 2: listed as removeFromCRL (only in delta CRLs, which verify_crl refuses).
    if (X509_CRL_get0_by_serial(crl, &entry, X509_get0_serialNumber(cert)) == 1)
        read_revocation(entry, std::get<CrlCheck>(check));
    return check;
}

CrlVerification check_crl(const CrlCheckInput& in, X509* cert) {
    auto verified = verify_crl(in);
    if (std::holds_alternative<CrlFailure>(verified)) return verified;
    return lookup(in.crl, cert);
}

}  // namespace ocspgate::ocsp
