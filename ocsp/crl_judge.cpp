#include "ocsp/crl_judge.h"

#include <openssl/x509v3.h>

#include <map>
#include <optional>
#include <variant>
#include <vector>

#include "ocsp/crl.h"
#include "ocsp/crl_signer.h"
#include "tls/certificate.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

// Why CRLs were not used: "source: kind: detail; ...", and one by one into `listed` when the
// caller asked for them.
class Notes {
public:
    explicit Notes(std::vector<CrlNotUsed>* listed = nullptr) : listed_(listed) {}
    void add(const std::string& source, CrlError kind, const std::string& detail) {
        add(source, std::string(to_string(kind)) + ": " + detail);
        kinds_ |= 1u << static_cast<unsigned>(kind);
    }
    void add(const std::string& source, const std::string& text) {
        if (!text_.empty()) text_ += "; ";
        text_ += source + ": " + text;
        if (listed_ != nullptr) listed_->push_back({source, text});
    }
    const std::string& text() const { return text_; }

    // The metrics word for "no CRL could be used": the kind seen that best explains it.
    const char* no_answer_reason() const {
        static constexpr std::pair<CrlError, const char*> kByWeight[] = {
            {CrlError::delta_missing, "crl_delta_missing"},     {CrlError::expired, "crl_expired"},
            {CrlError::rolled_back, "crl_rolled_back"},         {CrlError::not_yet_valid, "crl_not_yet_valid"},
            {CrlError::bad_signature, "crl_bad_signature"},     {CrlError::signer_unverified, "crl_signer_unverified"},
            {CrlError::unsupported, "crl_unsupported"},         {CrlError::wrong_issuer, "crl_wrong_issuer"},
            {CrlError::malformed, "crl_malformed"},             {CrlError::delta_unusable, "crl_delta_unusable"},
            {CrlError::out_of_scope, "crl_out_of_scope"},
        };
        for (const auto& [kind, word] : kByWeight)
            if ((kinds_ & (1u << static_cast<unsigned>(kind))) != 0) return word;
        return "crl_unavailable";
    }

private:
    std::string text_;
    std::uint32_t kinds_ = 0;  // a bit per CrlError added
    std::vector<CrlNotUsed>* listed_;
};

// A CRL that verified and covers the certificate, with what it says about it.
struct Usable {
    const HeldCrl* held;
    CrlCheck check;
    EVP_PKEY* key;            // the key that verified it: the issuer's or a CRL signer's
    std::string history_key;  // crl_history_key()
    bool is_delta() const { return check.delta_base.has_value(); }
};

// The IDP extension's DER: CRLs with the same one cover the same certificates.
std::string scope_key(X509_CRL* crl) {
    const int at = X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1);
    if (at < 0) return {};
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_CRL_get_ext(crl, at));
    return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)), static_cast<std::size_t>(ASN1_STRING_length(data))};
}

// True when `a` supersedes `b` within one scope (and kind).
bool newer(const Usable& a, const Usable& b) {
    if (a.check.number && b.check.number) {
        if (*a.check.number != *b.check.number) return *a.check.number > *b.check.number;
    } else if (a.check.this_update != b.check.this_update) {
        return a.check.this_update > b.check.this_update;
    }
    // Same number (or time): a CA that issued two different CRLs under one number is broken;
    // fail closed by letting the one that lists the certificate decide.
    if (a.check.status != b.check.status) return a.check.status == CertStatus::revoked;
    return a.held->source < b.held->source;  // any fixed order, never the input's
}

template <class Range>
const Usable* newest(const Range& usables) {
    const Usable* best = nullptr;
    for (const Usable& u : usables)
        if (best == nullptr || newer(u, *best)) best = &u;
    return best;
}

std::string describe(X509* cert) {
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    return std::string(subject) + " serial " + tls::serial_hex_of(cert);
}

// RFC 5280 §6.3.3 f: a separate CRL signer's path ends at the certificate's trust anchor, and
// the signer is not revoked. Its revocation is judged with the CRLs its own issuer signed with
// its own key (no signers at that level), so the recursion stops there.
std::optional<CrlFailure> signer_failure(X509* signer, std::span<const HeldCrl> held, const CrlJudgeInput& in) {
    std::vector<X509*> untrusted(in.signers.begin(), in.signers.end());
    untrusted.push_back(in.issuer);
    auto path = validate_crl_signer_path(CrlSignerPathInput{signer, in.anchor, untrusted, in.now});
    if (auto* failure = std::get_if<CrlFailure>(&path)) return std::move(*failure);
    STACK_OF(X509)* chain = std::get<tls::X509StackPtr>(path).get();
    if (sk_X509_num(chain) < 2) return std::nullopt;  // the signer is the trust anchor itself
    CrlJudgeInput signers_own = in;
    signers_own.cert = signer;
    signers_own.issuer = sk_X509_value(chain, 1);
    signers_own.signers = {};
    const MethodResult status = judge_certificate(held, signers_own);
    if (status.kind == MethodResult::Kind::good) return std::nullopt;
    if (status.kind == MethodResult::Kind::revoked)
        return CrlFailure{CrlError::signer_unverified,
                          "CRL signer " + describe(signer) + " is revoked (" + status.source + ")"};
    return CrlFailure{CrlError::signer_unverified,
                      "CRL signer " + describe(signer) + " has no revocation answer (" + status.detail + ")"};
}

struct Verified {
    CrlCheck check;
    EVP_PKEY* key;
};

// verify_crl() with the issuer's key, or else with a configured CRL signer of the CRL
// issuer's name that validates (signer_failure). A failure that is not about the key (dates,
// extensions, another issuer name) is final.
std::variant<Verified, CrlFailure> verify_authorised(const HeldCrl& held, std::span<const HeldCrl> all,
                                                      const CrlJudgeInput& in) {
    X509_CRL* crl = held.crl->header();
    const CrlCheckInput by_issuer{held.crl.get(), in.issuer, in.now, in.clock_skew, in.grace};
    auto verified = verify_crl(by_issuer);
    if (auto* check = std::get_if<CrlCheck>(&verified)) return Verified{*check, X509_get0_pubkey(in.issuer)};
    auto failure = std::get<CrlFailure>(std::move(verified));
    const bool about_the_key = failure.kind == CrlError::bad_signature || failure.kind == CrlError::wrong_issuer;
    if (!about_the_key || X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(in.issuer)) != 0)
        return failure;
    std::optional<CrlFailure> signer_problem;
    for (X509* signer : in.signers) {
        if (X509_NAME_cmp(X509_get_subject_name(signer), X509_CRL_get_issuer(crl)) != 0) continue;
        CrlCheckInput by_signer = by_issuer;
        by_signer.signer = signer;
        auto attempt = verify_crl(by_signer);
        if (auto* other = std::get_if<CrlFailure>(&attempt)) {
            if (other->kind == CrlError::bad_signature || other->kind == CrlError::wrong_issuer) continue;
            return std::move(*other);  // this signer signed it; the CRL is unusable for another reason
        }
        if (auto problem = signer_failure(signer, all, in)) {
            signer_problem = std::move(problem);  // another certificate may certify the same key
            continue;
        }
        return Verified{std::get<CrlCheck>(attempt), X509_get0_pubkey(signer)};
    }
    if (signer_problem) return *signer_problem;
    return failure;
}

std::optional<Usable> usable(const HeldCrl& held, std::span<const HeldCrl> all, const CrlJudgeInput& in, Notes& notes) {
    if (!held.crl) {
        notes.add(held.source, CrlError::malformed, "no CRL was read");
        return std::nullopt;
    }
    auto verified = verify_authorised(held, all, in);
    if (auto* failure = std::get_if<CrlFailure>(&verified)) {
        notes.add(held.source, failure->kind, failure->detail);
        return std::nullopt;
    }
    auto looked_up = lookup(*held.crl, in.cert);
    if (auto* failure = std::get_if<CrlFailure>(&looked_up)) {
        notes.add(held.source, failure->kind, failure->detail);
        return std::nullopt;
    }
    Usable u{&held, std::get<CrlCheck>(std::move(looked_up)), std::get<Verified>(verified).key, {}};
    u.history_key = crl_history_key(held.crl->header(), in.issuer, u.is_delta());
    if (in.history != nullptr && u.check.number) {
        auto seen = in.history->highest(u.history_key, in.now);
        if (seen && *u.check.number < seen->number) {
            notes.add(held.source, CrlError::rolled_back,
                      "cRLNumber " + u.check.number->to_string() + " is lower than " + seen->number.to_string() +
                          ", seen before from " + seen->source + " and still current");
            return std::nullopt;
        }
    }
    return u;
}

// The CRLs of one scope: complete CRLs and the deltas on top of them.
struct Scope {
    std::vector<Usable> complete;
    std::vector<Usable> deltas;
};

struct ScopeAnswer {
    enum class Kind { none, good, revoked };
    Kind kind = Kind::none;
    ReasonSet reasons = 0;
    std::string source;
    RevokedInfo revoked = {};  // Kind::revoked: the entry that lists the certificate
};

RevokedInfo revoked_info(const CrlCheck& check) { return {check.revocation_time, check.revocation_reason}; }

// RFC 5280 §5.2.4: a delta applies to a complete CRL numbered at least its BaseCRLNumber and
// at most its own number (complete and delta CRLs share one numbering; a delta numbered
// below the base is older than the base), signed by the same key (§6.3.3 c.3).
std::optional<std::string> delta_mismatch(const Usable& delta, const Usable& base) {
    if (!base.check.number) return "its complete CRL " + base.held->source + " has no cRLNumber";
    if (!delta.check.number) return std::string("it has no cRLNumber");
    const CrlNumber& b = *base.check.number;
    if (*delta.check.delta_base > b)
        return "BaseCRLNumber " + delta.check.delta_base->to_string() + " is above the complete CRL's " +
               b.to_string() + " (" + base.held->source + ")";
    if (*delta.check.number < b)
        return "cRLNumber " + delta.check.number->to_string() + " is older than the complete CRL's " + b.to_string() +
               " (" + base.held->source + ")";
    if (EVP_PKEY_eq(delta.key, base.key) != 1) return "signed with another key than " + base.held->source;
    return std::nullopt;
}

ScopeAnswer answer_for(const Scope& scope, const CrlJudgeInput& in, Notes& notes) {
    using Kind = ScopeAnswer::Kind;
    const Usable* base = newest(scope.complete);
    std::vector<Usable> applicable;
    for (const Usable& delta : scope.deltas) {
        auto mismatch = base != nullptr ? delta_mismatch(delta, *base)
                                        : std::optional<std::string>("no complete CRL of its scope is held");
        if (mismatch)
            notes.add(delta.held->source, CrlError::delta_unusable, *mismatch);
        else
            applicable.push_back(delta);
    }
    if (base == nullptr) return {};
    const CrlCheck& b = base->check;
    const Usable* delta = newest(applicable);
    if (delta == nullptr) {
        // A listing stands whatever a delta might add; only "not listed" needs the delta.
        if (b.status == CertStatus::revoked) return {Kind::revoked, b.reasons, base->held->source, revoked_info(b)};
        if (b.names_deltas && in.delta_required) {
            notes.add(base->held->source, CrlError::delta_missing,
                      "it names delta CRLs (freshestCRL) and none that applies to its cRLNumber " +
                          (b.number ? b.number->to_string() : std::string("(none)")) +
                          " is held (crl.delta_required = true)");
            return {};
        }
        return {Kind::good, b.reasons, base->held->source};
    }
    const CrlCheck& d = delta->check;
    const std::string both = base->held->source + " + " + delta->held->source;
    if (d.status == CertStatus::revoked) return {Kind::revoked, b.reasons, delta->held->source, revoked_info(d)};
    if (b.status != CertStatus::revoked) return {Kind::good, b.reasons, both};
    if (!d.removed) return {Kind::revoked, b.reasons, base->held->source, revoked_info(b)};
    if (b.revocation_reason == reason_certificate_hold) return {Kind::good, b.reasons, both};  // taken off hold
    notes.add(delta->held->source, "removeFromCRL ignored: the complete CRL's revocation is not a certificateHold");
    return {Kind::revoked, b.reasons, base->held->source, revoked_info(b)};
}

void remember_numbers(const std::map<std::string, Scope>& scopes, const CrlJudgeInput& in) {
    if (in.history == nullptr) return;
    for (const auto& [key, scope] : scopes)
        for (const auto* list : {&scope.complete, &scope.deltas})
            for (const Usable& u : *list) {
                if (!u.check.number) continue;
                const TimePoint until =
                    u.check.next_update ? *u.check.next_update + in.clock_skew + in.grace : TimePoint::max();
                in.history->note(u.history_key, CrlHistory::Seen{*u.check.number, until, u.held->source}, in.now);
            }
}

MethodResult answer(MethodResult::Kind kind, std::string source, std::string detail) {
    MethodResult r;
    r.kind = kind;
    r.source = std::move(source);
    r.detail = std::move(detail);
    return r;
}

}  // namespace

MethodResult judge_certificate(std::span<const HeldCrl> held, const CrlJudgeInput& in,
                               std::vector<CrlNotUsed>* not_used) {
    Notes notes(not_used);
    std::map<std::string, Scope> scopes;
    for (const auto& h : held) {
        auto u = usable(h, held, in, notes);
        if (!u) continue;
        auto& scope = scopes[scope_key(h.crl->header())];
        (u->is_delta() ? scope.deltas : scope.complete).push_back(std::move(*u));
    }
    std::vector<ScopeAnswer> answers;
    for (const auto& [key, scope] : scopes) answers.push_back(answer_for(scope, in, notes));
    remember_numbers(scopes, in);

    const std::string refused = notes.text().empty() ? "" : "not used: " + notes.text();
    ReasonSet covered = 0;
    std::string sources;
    const ScopeAnswer* complete_answer = nullptr;
    for (const auto& a : answers) {
        if (a.kind == ScopeAnswer::Kind::revoked) {
            MethodResult r = answer(MethodResult::Kind::revoked, a.source, refused);
            r.revoked = a.revoked;
            return r;
        }
        if (a.kind != ScopeAnswer::Kind::good) continue;
        covered |= a.reasons;
        sources += (sources.empty() ? "" : " + ") + a.source;
        if (a.reasons == all_reasons && complete_answer == nullptr) complete_answer = &a;
    }
    if (covered == all_reasons)
        return answer(MethodResult::Kind::good, complete_answer ? complete_answer->source : sources, refused);
    auto no_answer = [](std::string detail, const char* reason) {
        MethodResult r = answer(MethodResult::Kind::error, "crl", std::move(detail));
        r.no_answer = reason;
        return r;
    };
    if (held.empty()) return no_answer("no CRL for this issuer", "crl_unavailable");
    if (covered != 0)
        return no_answer("the CRLs held (" + sources + ") cover only the reasons " + describe_reasons(covered) +
                             " for this certificate, not " + describe_reasons(all_reasons & ~covered) +
                             (refused.empty() ? "" : "; " + refused),
                         "crl_reasons_uncovered");
    return no_answer("no current CRL covers this certificate: " + notes.text(), notes.no_answer_reason());
}

}  // namespace ocspgate::ocsp
