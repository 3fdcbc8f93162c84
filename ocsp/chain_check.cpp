#include "ocsp/chain_check.h"

#include "tls/certificate.h"

namespace ocspgate::ocsp {
namespace {

int precedence(ChainVerdict v) {
    switch (v) {
        case ChainVerdict::revoked: return 3;
        case ChainVerdict::unknown: return 2;
        case ChainVerdict::undetermined: return 1;
        case ChainVerdict::accept: return 0;
    }
    return 1;
}

Decision undetermined(std::string detail) {
    Decision d;
    d.verdict = ChainVerdict::undetermined;
    d.status = cert_status::undetermined;
    d.method = "none";
    d.source = "-";
    d.detail = std::move(detail);
    return d;
}

}  // namespace

ChainCheck::ChainCheck(RevocationChecker& checker, Mailbox* home, Checker::Callback done)
    : checker_(checker), home_(home), done_(std::move(done)), started_(std::chrono::steady_clock::now()) {}

ChainCheck::~ChainCheck() {
    if (alive_) *alive_ = false;
    for (auto& t : targets_)
        if (t.waiter) t.waiter->cancelled = true;
}

Result<Ok> ChainCheck::prepare(STACK_OF(X509) * chain) {
    auto pairs = checker_.targets(chain);
    if (!pairs) return std::move(pairs).error();
    for (auto& pair : *pairs) targets_.push_back(Target{std::move(pair), CertPolicy(checker_.profile()), nullptr});
    return Ok{};
}

bool ChainCheck::advance_from_cache(std::size_t i) {
    CertPolicy& policy = targets_[i].policy;
    while (auto method = policy.current()) {
        auto result = checker_.lookup_cached(*method, targets_[i].pair);
        if (!result) return true;
        policy.record(*result);
    }
    return false;
}

std::optional<Decision> ChainCheck::combined() const {
    const Target* decisive = nullptr;
    bool all_decided = true;
    for (const auto& t : targets_) {
        const auto& o = t.policy.outcome();
        if (!o) {
            all_decided = false;
            continue;
        }
        if (o->verdict != ChainVerdict::accept &&
            (decisive == nullptr || precedence(o->verdict) > precedence(decisive->policy.outcome()->verdict)))
            decisive = &t;
    }
    if (decisive == nullptr) {
        if (!all_decided) return std::nullopt;
        if (targets_.empty()) return undetermined("nothing to check: the chain has no issuer");
        decisive = &targets_.front();  // all accepted: report the leaf
    }
    const CertOutcome& o = *decisive->policy.outcome();
    Decision d;
    d.verdict = o.verdict;
    d.status = o.status;
    d.method = o.method;
    d.source = o.source;
    d.detail = o.detail;
    d.age = o.age;
    d.revoked = o.revoked;
    for (const auto& t : targets_)
        if (const auto& other = t.policy.outcome())
            d.config_problems.insert(d.config_problems.end(), other->config_problems.begin(), other->config_problems.end());
    if (decisive != &targets_.front()) d.serial = tls::serial_hex_of(decisive->pair.cert.get());
    d.latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_);
    return d;
}

std::optional<Decision> ChainCheck::decide_from_cache(RevocationChecker& checker, STACK_OF(X509) * chain) {
    ChainCheck check(checker, nullptr, nullptr);
    if (auto r = check.prepare(chain); !r) return undetermined(r.error().message);
    for (std::size_t i = 0; i < check.targets_.size(); ++i) check.advance_from_cache(i);
    return check.combined();  // nullopt while any certificate still needs a lookup (unless one rejects)
}

std::unique_ptr<ChainCheck> ChainCheck::start(RevocationChecker& checker, Mailbox& home, STACK_OF(X509) * chain,
                                              Checker::Callback done) {
    std::unique_ptr<ChainCheck> check(new ChainCheck(checker, &home, std::move(done)));
    if (auto r = check->prepare(chain); !r) {
        check->finish(undetermined(r.error().message));
        return check;
    }
    std::vector<std::size_t> need_lookup;
    for (std::size_t i = 0; i < check->targets_.size(); ++i)
        if (check->advance_from_cache(i)) need_lookup.push_back(i);
    if (auto decided = check->combined()) {
        check->finish(std::move(*decided));
        return check;
    }
    for (std::size_t i : need_lookup) check->start_lookup(i);
    return check;
}

void ChainCheck::start_lookup(std::size_t i) {
    auto waiter = std::make_shared<RevocationChecker::Waiter>();
    waiter->home = home_;
    waiter->deliver = [this, i](MethodResult r) { on_lookup(i, std::move(r)); };
    targets_[i].waiter = waiter;
    checker_.lookup_async(*targets_[i].policy.current(), targets_[i].pair, std::move(waiter));
}

void ChainCheck::on_lookup(std::size_t i, MethodResult result) {
    targets_[i].waiter.reset();
    targets_[i].policy.record(result);
    if (advance_from_cache(i)) start_lookup(i);
    if (auto decided = combined()) finish(std::move(*decided));  // may destroy *this
}

void ChainCheck::finish(Decision decision) {
    if (finished_) return;
    finished_ = true;
    for (auto& t : targets_)
        if (t.waiter) t.waiter->cancelled = true;
    // Deliver through the mailbox so `done` never runs inside start() or a lookup's stack;
    // the task holds the callback only, so destroying this object meanwhile cancels nothing
    // it needs. A flag shared with the task makes destruction before delivery a cancel.
    auto alive = std::make_shared<bool>(true);
    alive_ = alive;
    home_->post([alive, done = std::move(done_), decision = std::move(decision)]() mutable {
        if (*alive) done(std::move(decision));
    });
}

}  // namespace ocspgate::ocsp
