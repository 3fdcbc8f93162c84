// The revocation policy for one certificate: which method to try next and what an answer
// means, like IOS-XE's `revocation-check ocsp crl none` and Expressway's "fallback behaviour
// for Unknown". A pure state machine: no I/O, no clock.
//
//   revoked  always rejects (never falls through to another method)
//   good     accepts
//   unknown  follows `unknown`: revoked -> reject, good -> accept, next -> next method
//   error    (timeout, refused, bad signature, bad nonce, stale...) -> next method
//   none     accepts without checking
//   no method left -> reject (fail closed)
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ocsp/cert_status.h"
#include "ocsp/response.h"
#include "ocsp/settings.h"
#include "tls/engine.h"

namespace ocspgate::ocsp {

struct MethodResult {
    enum class Kind { good, revoked, unknown, error };
    Kind kind = Kind::error;
    std::string source;  // responder URL, CRL URL/file, or "cache"
    std::string detail;  // errors: what failed; otherwise optional
    bool from_cache = false;
    std::chrono::seconds age{0};  // from_cache: how long ago the answer (or failure) was obtained
    RevokedInfo revoked;          // revoked: when and why, as far as the answer says
    std::vector<ConfigProblem> config_problems;  // new ones only: each is reported once
    // A fresh OCSP answer (not the cache's): the response's own fields, for `ocspgate check`.
    std::optional<Answer> answer;
    // error: why there is no answer, one word from a fixed set, for metrics (the CRL method:
    // crl_no_answer_reason() in crl_judge.h); null when not classified.
    const char* no_answer = nullptr;
};

struct CertOutcome {
    ChainVerdict verdict = ChainVerdict::undetermined;
    std::string status;  // a cert_status:: word (base/verdict.h)
    std::string method;  // ocsp | crl | none
    std::string source;
    std::string detail;
    std::optional<std::chrono::seconds> age;  // set when the deciding answer was remembered (cache)
    RevokedInfo revoked;
    std::vector<ConfigProblem> config_problems;  // of every method tried, the deciding one or not
    std::optional<Answer> answer;  // the deciding method's fresh OCSP answer (MethodResult::answer)
};

const char* to_string(RevocationMethod method) noexcept;

class CertPolicy {
public:
    explicit CertPolicy(const RevocationProfile& profile) : profile_(profile) {}

    // The method to run now, or nullopt once outcome() is set.
    std::optional<RevocationMethod> current() const;
    // current() and the methods after it, in order; empty once outcome() is set.
    std::span<const RevocationMethod> remaining() const;
    // Feeds the current method's result; afterwards either current() names the next method
    // or outcome() holds the decision.
    void record(const MethodResult& result);
    const std::optional<CertOutcome>& outcome() const { return outcome_; }

private:
    void decide(ChainVerdict verdict, std::string status, const MethodResult& r, std::string detail);
    void advance(const MethodResult& r);
    std::string after_earlier_failures(std::string detail) const;

    const RevocationProfile& profile_;
    std::size_t index_ = 0;
    std::string errors_;  // "ocsp: ...; crl: ..." for the fail-closed detail
    std::vector<ConfigProblem> config_problems_;
    std::optional<CertOutcome> outcome_;
};

}  // namespace ocspgate::ocsp
