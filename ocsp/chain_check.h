// One chain's revocation check: a CertPolicy per certificate to check (the leaf, or every
// certificate below the anchor), run against the cache first and then asynchronously.
// Verdicts combine with precedence revoked > unknown > undetermined > accept; a rejection ends
// the check at once, an acceptance needs every certificate accepted.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "ocsp/checker.h"
#include "ocsp/policy.h"
#include "ocsp/revocation_checker.h"

namespace ocspgate::ocsp {

class ChainCheck final : public CheckHandle {
public:
    // Decides with cached answers only (no I/O), or returns nullopt.
    static std::optional<Decision> decide_from_cache(RevocationChecker& checker, STACK_OF(X509) * chain);
    // Starts the check; `done` runs once via `home` (never from inside this call).
    static std::unique_ptr<ChainCheck> start(RevocationChecker& checker, Mailbox& home, STACK_OF(X509) * chain,
                                             Checker::Callback done);
    ~ChainCheck() override;  // cancels outstanding lookups

private:
    struct Target {
        CertPair pair;
        CertPolicy policy;
        std::shared_ptr<RevocationChecker::Waiter> waiter;  // while a lookup is outstanding
    };

    ChainCheck(RevocationChecker& checker, Mailbox* home, Checker::Callback done);
    Result<Ok> prepare(STACK_OF(X509) * chain);
    // Runs target i's policy on cached answers; true when it needs an asynchronous lookup.
    bool advance_from_cache(std::size_t i);
    void start_lookup(std::size_t i);
    void on_lookup(std::size_t i, MethodResult result);
    std::optional<Decision> combined() const;
    void finish(Decision decision);

    RevocationChecker& checker_;
    Mailbox* home_;
    Checker::Callback done_;
    std::vector<Target> targets_;
    std::chrono::steady_clock::time_point started_;
    bool finished_ = false;
    std::shared_ptr<bool> alive_;  // shared with the posted completion; false once destroyed
};

}  // namespace ocspgate::ocsp
