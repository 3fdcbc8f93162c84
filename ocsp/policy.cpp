#include "ocsp/policy.h"

namespace ocspgate::ocsp {

const char* to_string(RevocationMethod method) noexcept {
    switch (method) {
        case RevocationMethod::ocsp: return "ocsp";
        case RevocationMethod::crl: return "crl";
        case RevocationMethod::none: return "none";
    }
    return "none";
}

std::optional<RevocationMethod> CertPolicy::current() const {
    if (outcome_) return std::nullopt;
    return profile_.methods.at(index_);
}

void CertPolicy::decide(ChainVerdict verdict, std::string status, const MethodResult& r, std::string detail) {
    CertOutcome o;
    o.verdict = verdict;
    o.status = std::move(status);
    o.method = to_string(profile_.methods.at(index_));
    o.source = r.from_cache ? "cache" : r.source;
    o.detail = std::move(detail);
    if (r.from_cache) o.age = r.age;
    o.revoked = r.revoked;
    o.answer = r.answer;
    o.config_problems = config_problems_;
    outcome_ = std::move(o);
}

std::span<const RevocationMethod> CertPolicy::remaining() const {
    if (outcome_) return {};
    return std::span<const RevocationMethod>(profile_.methods).subspan(index_);
}

void CertPolicy::record(const MethodResult& r) {
    if (outcome_) return;
    config_problems_.insert(config_problems_.end(), r.config_problems.begin(), r.config_problems.end());
    RevocationMethod method = profile_.methods.at(index_);
    if (method == RevocationMethod::none)
        return decide(ChainVerdict::accept, cert_status::unchecked, r, after_earlier_failures(""));
    switch (r.kind) {
        case MethodResult::Kind::good:
            return decide(ChainVerdict::accept, cert_status::good, r, after_earlier_failures(r.detail));
        case MethodResult::Kind::revoked:
            return decide(ChainVerdict::revoked, cert_status::revoked, r, after_earlier_failures(r.detail));
        case MethodResult::Kind::unknown:
            switch (profile_.unknown) {
                case UnknownPolicy::revoked:
                    return decide(ChainVerdict::unknown, cert_status::unknown, r,
                                  after_earlier_failures("unknown treated as revoked"));
                case UnknownPolicy::good:
                    return decide(ChainVerdict::accept, cert_status::unknown, r,
                                  after_earlier_failures("unknown treated as good"));
                case UnknownPolicy::next: break;
            }
            break;
        case MethodResult::Kind::error: break;
    }
    advance(r);
}

// A decision by a later method keeps why the earlier ones did not decide, so that an accept
// by the CRL still shows that (and how) OCSP failed.
std::string CertPolicy::after_earlier_failures(std::string detail) const {
    if (errors_.empty()) return detail;
    return detail.empty() ? "after: " + errors_ : detail + "; after: " + errors_;
}

void CertPolicy::advance(const MethodResult& r) {
    std::string what = r.kind == MethodResult::Kind::unknown ? "unknown" : r.detail;
    // A remembered failure (error_cache_ttl) is not a new one: say so, and how old it is.
    if (r.from_cache && r.kind == MethodResult::Kind::error)
        what = "remembered failure, " + std::to_string(r.age.count()) + " s old: " + what;
    if (!errors_.empty()) errors_ += "; ";
    errors_ += std::string(to_string(profile_.methods.at(index_))) + ": " + what;
    if (index_ + 1 < profile_.methods.size()) {
        ++index_;
        return;
    }
    decide(ChainVerdict::undetermined, r.kind == MethodResult::Kind::unknown ? cert_status::unknown : cert_status::undetermined, r,
           "no method decided: " + errors_);
}

}  // namespace ocspgate::ocsp
