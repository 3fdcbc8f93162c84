#include "ocsp/crl.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "ocsp/asn1_time.h"
#include "ocsp/error_queue.h"

namespace ocspgate::ocsp {
namespace {

CrlFailure fail(CrlError kind, std::string detail) {
    return CrlFailure{kind, std::move(detail)};
}

// An INTEGER extension (cRLNumber, deltaCRLIndicator): nullopt when absent, a failure when
// it cannot be decoded, is repeated or is negative.
std::variant<std::optional<CrlNumber>, CrlFailure> read_number(X509_CRL* crl, int nid, const char* what) {
    int critical = 0;
    tls::Asn1IntegerPtr number(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, nid, &critical, nullptr)));
    if (!number) {
        if (critical == -1) return std::optional<CrlNumber>{};
        return fail(CrlError::malformed, fmt::format("CRL has an undecodable {}", what));
    }
    auto value = CrlNumber::from(number.get());
    if (!value) return fail(CrlError::malformed, fmt::format("CRL has a negative {}", what));
    return value;
}

// thisUpdate, nextUpdate, cRLNumber, BaseCRLNumber and freshestCRL; a failure when one of
// them cannot be decoded.
std::variant<CrlCheck, CrlFailure> read_facts(X509_CRL* crl) {
    CrlCheck check;
    const auto this_update = to_time_point(X509_CRL_get0_lastUpdate(crl));
    if (!this_update) return fail(CrlError::malformed, "CRL has an invalid thisUpdate");
    check.this_update = *this_update;
    if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl)) {
        check.next_update = to_time_point(next);
        if (!check.next_update) return fail(CrlError::malformed, "CRL has an invalid nextUpdate");
    }
    auto number = read_number(crl, NID_crl_number, "cRLNumber");
    if (auto* failure = std::get_if<CrlFailure>(&number)) return std::move(*failure);
    check.number = std::get<std::optional<CrlNumber>>(number);
    auto base = read_number(crl, NID_delta_crl, "deltaCRLIndicator");
    if (auto* failure = std::get_if<CrlFailure>(&base)) return std::move(*failure);
    check.delta_base = std::get<std::optional<CrlNumber>>(base);
    check.names_deltas = X509_CRL_get_ext_by_NID(crl, NID_freshest_crl, -1) >= 0;
    return check;
}

// RFC 5280 §6.3.3 f, g: the CRL names the certificate's issuer, and its signature verifies
// with the key of a certificate of that name whose keyUsage (if present) has cRLSign: the
// issuer's own, or a separate CRL signer's that the caller has validated.
std::optional<CrlFailure> issuer_failure(const SignedCrl& signed_crl, X509* issuer, X509* signer) {
    X509_CRL* crl = signed_crl.header();
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
        return fail(CrlError::wrong_issuer, "CRL issuer name is not the certificate's issuer");
    X509* key_holder = signer != nullptr ? signer : issuer;
    const char* whose = signer != nullptr ? "CRL signer's" : "issuer's";
    if (signer != nullptr && X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(signer)) != 0)
        return fail(CrlError::wrong_issuer, "CRL signer's name is not the CRL issuer's");
    if ((X509_get_extension_flags(key_holder) & EXFLAG_KUSAGE) != 0 &&
        (X509_get_key_usage(key_holder) & KU_CRL_SIGN) == 0)
        return fail(CrlError::wrong_issuer, fmt::format("{} keyUsage lacks cRLSign", whose));
    EVP_PKEY* key = X509_get0_pubkey(key_holder);
    if (key == nullptr || !signed_crl.signature_verifies(key))
        return fail(CrlError::bad_signature, fmt::format("CRL signature does not verify with the {} key", whose));
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
    if (idp->onlyattr > 0)
        return fail(CrlError::unsupported, "CRL covers attribute certificates only");
    return std::nullopt;
}

std::optional<CrlFailure> extension_failure(const SignedCrl& signed_crl) {
    X509_CRL* crl = signed_crl.header();
    for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i) {
        X509_EXTENSION* ext = X509_CRL_get_ext(crl, i);
        const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        // Read by idp_failure(), read_facts() and the judge (crl_judge.h).
        if (nid == NID_issuing_distribution_point || nid == NID_delta_crl || nid == NID_freshest_crl) continue;
        if (X509_EXTENSION_get_critical(ext) != 0)
            return fail(CrlError::unsupported,
                        fmt::format("unsupported critical CRL extension {}",
                                    nid == NID_undef ? "(unknown OID)" : OBJ_nid2sn(nid)));
    }
    if (auto failure = idp_failure(crl)) return failure;
    // RFC 5280 §5.3: a CRL with a critical entry extension that cannot be processed is not
    // used for any certificate.
    if (const auto& problem = signed_crl.entries().extension_problem(); !problem.empty())
        return fail(CrlError::unsupported, problem);
    return std::nullopt;
}

std::optional<CrlFailure> freshness_failure(const CrlCheck& dates, const CrlCheckInput& in) {
    if (dates.this_update > in.now + in.clock_skew)
        return fail(CrlError::not_yet_valid,
                    "CRL thisUpdate " + to_iso8601(dates.this_update) + " is in the future");
    if (dates.next_update && *dates.next_update < in.now - in.clock_skew - in.grace)
        return fail(CrlError::expired,
                    "CRL nextUpdate " + to_iso8601(*dates.next_update) + " has passed" +
                        (in.grace.count() > 0 ? fmt::format(" (grace {}s)", in.grace.count()) : ""));
    return std::nullopt;
}

// The reasons a ReasonFlags BIT STRING names.
ReasonSet reasons_of(const ASN1_BIT_STRING* flags) {
    ReasonSet out = 0;
    for (int bit = 1; bit <= 8; ++bit)
        if (ASN1_BIT_STRING_get_bit(flags, bit) != 0) out |= static_cast<ReasonSet>(1u << bit);
    return out;
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
// A matching point that lists `reasons` narrows the CRL to those (§6.3.3 d).
std::variant<ReasonSet, CrlFailure> partition_reasons(X509_CRL* crl, DIST_POINT_NAME* idp_point, X509* cert) {
    DIST_POINT_set_dpname(idp_point, X509_CRL_get_issuer(crl));
    tls::DistPointStackPtr points(static_cast<STACK_OF(DIST_POINT)*>(
        X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr)));
    ReasonSet reasons = 0;
    bool matched = false;
    for (int i = 0; i < sk_DIST_POINT_num(points.get()); ++i) {
        DIST_POINT* point = sk_DIST_POINT_value(points.get(), i);
        // A point with a cRLIssuer belongs to an indirect CRL, which crl.h does not support.
        if (point->distpoint == nullptr || point->CRLissuer != nullptr) continue;
        DIST_POINT_set_dpname(point->distpoint, X509_get_issuer_name(cert));
        if (!dp_names_match(idp_point, point->distpoint)) continue;
        matched = true;
        reasons |= point->reasons != nullptr ? reasons_of(point->reasons) : all_reasons;
    }
    if (matched) return reasons;
    return fail(CrlError::out_of_scope,
                points ? "CRL's issuingDistributionPoint is none of the certificate's distribution points"
                       : "CRL covers one distribution point; the certificate names none");
}

// issuingDistributionPoint: distributionPoint, onlyContainsUserCerts, onlyContainsCACerts,
// onlySomeReasons (RFC 5280 §5.2.5, §6.3.3 b, d). The reasons the CRL covers for `cert`.
std::variant<ReasonSet, CrlFailure> scope_of(X509_CRL* crl, X509* cert) {
    tls::IssuingDistPointPtr idp(static_cast<ISSUING_DIST_POINT*>(
        X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, nullptr, nullptr)));
    if (!idp) return all_reasons;
    const bool is_ca = X509_check_ca(cert) != 0;
    if (idp->onlyuser > 0 && is_ca)
        return fail(CrlError::out_of_scope, "CRL covers end-entity certificates only");
    if (idp->onlyCA > 0 && !is_ca)
        return fail(CrlError::out_of_scope, "CRL covers CA certificates only");
    ReasonSet reasons = idp->onlysomereasons != nullptr ? reasons_of(idp->onlysomereasons) : all_reasons;
    if (idp->distpoint != nullptr) {
        auto partition = partition_reasons(crl, idp->distpoint, cert);
        if (auto* failure = std::get_if<CrlFailure>(&partition)) return std::move(*failure);
        reasons &= std::get<ReasonSet>(partition);
    }
    if (reasons == 0)
        return fail(CrlError::out_of_scope, "CRL covers none of the reasons the certificate's distribution point names");
    return reasons;
}

void read_revocation(X509_REVOKED* entry, CrlCheck& check) {
    check.status = CertStatus::revoked;
    check.revocation_time = to_time_point(X509_REVOKED_get0_revocationDate(entry));
    tls::Asn1EnumeratedPtr reason(static_cast<ASN1_ENUMERATED*>(
        X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr)));
    if (reason) check.revocation_reason = static_cast<int>(ASN1_ENUMERATED_get(reason.get()));
}

}  // namespace

std::string describe_reasons(ReasonSet reasons) {
    static constexpr const char* names[] = {"unused", "keyCompromise", "cACompromise", "affiliationChanged",
                                            "superseded", "cessationOfOperation", "certificateHold",
                                            "privilegeWithdrawn", "aACompromise"};
    std::string out;
    for (int bit = 1; bit <= 8; ++bit)
        if ((reasons & (1u << bit)) != 0) out += (out.empty() ? "" : ",") + std::string(names[bit]);
    return out.empty() ? "none" : out;
}

std::optional<CrlNumber> CrlNumber::from(const ASN1_INTEGER* number) {
    if (number == nullptr || ASN1_STRING_type(number) == V_ASN1_NEG_INTEGER) return std::nullopt;
    const unsigned char* data = ASN1_STRING_get0_data(number);
    const auto* end = data + ASN1_STRING_length(number);
    const auto* first = std::find_if(data, end, [](unsigned char b) { return b != 0; });
    CrlNumber out;
    out.magnitude_.assign(first, end);
    return out;
}

std::string CrlNumber::to_string() const {
    tls::BignumPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(magnitude_.data()),
                                static_cast<int>(magnitude_.size()), nullptr));
    tls::OsslStringPtr text(bn ? BN_bn2dec(bn.get()) : nullptr);
    return text ? std::string(text.get()) : "?";
}

std::strong_ordering CrlNumber::operator<=>(const CrlNumber& other) const {
    if (magnitude_.size() != other.magnitude_.size()) return magnitude_.size() <=> other.magnitude_.size();
    return magnitude_.compare(other.magnitude_) <=> 0;
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
        case CrlError::signer_unverified: return "signer_unverified";
        case CrlError::rolled_back: return "rolled_back";
        case CrlError::delta_unusable: return "delta_unusable";
        case CrlError::delta_missing: return "delta_missing";
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
    if (auto failure = issuer_failure(*in.crl, in.issuer, in.signer)) return *failure;
    if (auto failure = extension_failure(*in.crl)) return *failure;
    auto facts = read_facts(in.crl->header());
    if (auto* failure = std::get_if<CrlFailure>(&facts)) return std::move(*failure);
    if (auto failure = freshness_failure(std::get<CrlCheck>(facts), in)) return *failure;
    return facts;
}

CrlVerification lookup(const SignedCrl& signed_crl, X509* cert) {
    if (cert == nullptr) return fail(CrlError::malformed, "lookup: null certificate");
    X509_CRL* crl = signed_crl.header();
    ErrorQueueScope errors;
    auto reasons = scope_of(crl, cert);
    if (auto* failure = std::get_if<CrlFailure>(&reasons)) return std::move(*failure);
    auto facts = read_facts(crl);
    if (auto* failure = std::get_if<CrlFailure>(&facts)) return std::move(*failure);
    auto& check = std::get<CrlCheck>(facts);
    check.reasons = std::get<ReasonSet>(reasons);
    // Only an entry that lists the certificate is decoded. A CA that lists a serial twice
    // gets the listing that revokes; removeFromCRL (delta CRLs: no longer revoked) only when
    // every listing says so.
    const CrlCheck unlisted = check;
    for (auto der : signed_crl.entries().find(X509_get0_serialNumber(cert))) {
        const unsigned char* p = der.data();
        tls::X509RevokedPtr entry(d2i_X509_REVOKED(nullptr, &p, static_cast<long>(der.size())));
        CrlCheck listed = unlisted;
        if (!entry || p != der.data() + der.size()) {
            // The index accepted what OpenSSL does not decode. The CA listed the serial: that
            // stands, without a date or reason, rather than this CRL dropping out of the
            // judgement and leaving the decision to another CRL (fail closed).
            listed.status = CertStatus::revoked;
            return listed;
        }
        read_revocation(entry.get(), listed);
        if (listed.revocation_reason != reason_remove_from_crl) return listed;
        listed.status = CertStatus::good;
        listed.revocation_time.reset();
        listed.removed = true;
        check = listed;
    }
    return facts;
}

CrlVerification check_crl(const CrlCheckInput& in, X509* cert) {
    auto verified = verify_crl(in);
    if (std::holds_alternative<CrlFailure>(verified)) return verified;
    return lookup(*in.crl, cert);
}

}  // namespace ocspgate::ocsp
