// One chain's revocation check: a CertPolicy per certificate to check (the leaf, or every
// certificate below the anchor), run against the cache first and then asynchronously, each
// lookup within its share of the time left before the deadline (ocsp/budget.h): a lookup
// that outlasts its share is given up and the next method gets its turn.
// Verdicts combine with precedence revoked > unknown > undetermined > accept; a rejection ends
// the check at once, an acceptance needs every certificate accepted.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "ocsp/budget.h"
#include "ocsp/checker.h"
#include "ocsp/loop_timer.h"
#include "ocsp/policy.h"
#include "ocsp/revocation_checker.h"

namespace ocspgate::ocsp {

class ChainCheck final : public CheckHandle {
public:
    // Decides with cached answers only (no I/O), or returns nullopt.
    static std::optional<Decision> decide_from_cache(RevocationChecker& checker, STACK_OF(X509) * chain);
    // Starts the check; `done` runs once via `home` (never from inside this call).
    static std::unique_ptr<ChainCheck> start(RevocationChecker& checker, Mailbox& home, STACK_OF(X509) * chain,
                                             Deadline deadline, Checker::Callback done);
    ~ChainCheck() override;  // cancels outstanding lookups

private:
    struct Target {
        CertPair pair;
        CertPolicy policy;
        std::shared_ptr<RevocationChecker::Waiter> waiter;  // while a lookup is outstanding
        Duration share{0};      // the outstanding lookup's share of the budget
        Deadline share_ends{};  // ... and when it runs out
    };

    ChainCheck(RevocationChecker& checker, Mailbox* home, Deadline deadline, Checker::Callback done);
    Result<Ok> prepare(STACK_OF(X509) * chain);
    // Runs target i's policy on cached answers; true when it needs an asynchronous lookup.
    bool advance_from_cache(std::size_t i);
    // Runs target i's policy from the cache, then starts its next lookup within its share of
    // the budget; a method left no time is recorded as failed. True while a lookup is out.
    bool step(std::size_t i);
    Duration share_for(std::size_t i, SteadyClock::time_point now) const;
    void start_lookup(std::size_t i, Duration share, SteadyClock::time_point now);
    void on_lookup(std::size_t i, MethodResult result);
    void arm_share_timer();
    void on_share_timer();
    void finish_if_decided();
    std::optional<Decision> combined() const;
    void finish(Decision decision);

    RevocationChecker& checker_;
    Mailbox* home_;
    Checker::Callback done_;
    std::vector<Target> targets_;
    SteadyClock::time_point started_;
    Deadline deadline_;
    std::unique_ptr<LoopTimer> share_timer_;  // the earliest share_ends among outstanding lookups
    bool finished_ = false;
    std::shared_ptr<bool> alive_;  // shared with the posted completion; false once destroyed
};

}  // namespace ocspgate::ocsp
