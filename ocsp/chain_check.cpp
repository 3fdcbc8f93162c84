#include "ocsp/chain_check.h"

#include <fmt/format.h>

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

// A method that got no answer within its share of the budget, or no share at all: a failure
// like a timeout, so the policy goes on to the next method or fails closed.
MethodResult out_of_time(Duration share) {
    MethodResult r;
    r.kind = MethodResult::Kind::error;
    r.source = "-";
    r.detail = share > Duration{0} ? fmt::format("no answer within its {} ms share of the handshake timeout", share.count())
                                   : "skipped: no time left before the handshake timeout";
    return r;
}

// A lookup's own timeout normally reports first (its attempts fit its share), with its own
// detail; the share timer is the backstop for a lookup shared with another handshake that
// planned differently. The grace comes out of the alert reserve (ocsp/budget.h).
constexpr Duration kShareGrace{10};

}  // namespace

ChainCheck::ChainCheck(RevocationChecker& checker, Mailbox* home, Deadline deadline, Checker::Callback done)
    : checker_(checker), home_(home), done_(std::move(done)), started_(SteadyClock::now()), deadline_(deadline) {}

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
    d.answer = o.answer;
    for (const auto& t : targets_)
        if (const auto& other = t.policy.outcome())
            d.config_problems.insert(d.config_problems.end(), other->config_problems.begin(), other->config_problems.end());
    if (decisive != &targets_.front()) d.serial = tls::serial_hex_of(decisive->pair.cert.get());
    d.latency = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started_);
    return d;
}

std::optional<Decision> ChainCheck::decide_from_cache(RevocationChecker& checker, STACK_OF(X509) * chain) {
    ChainCheck check(checker, nullptr, no_deadline, nullptr);
    if (auto r = check.prepare(chain); !r) return undetermined(r.error().message);
    for (std::size_t i = 0; i < check.targets_.size(); ++i) check.advance_from_cache(i);
    return check.combined();  // nullopt while any certificate still needs a lookup (unless one rejects)
}

std::unique_ptr<ChainCheck> ChainCheck::start(RevocationChecker& checker, Mailbox& home, STACK_OF(X509) * chain,
                                              Deadline deadline, Checker::Callback done) {
    std::unique_ptr<ChainCheck> check(new ChainCheck(checker, &home, deadline, std::move(done)));
    if (auto r = check->prepare(chain); !r) {
        check->finish(undetermined(r.error().message));
        return check;
    }
    std::vector<std::size_t> need_lookup;
    for (std::size_t i = 0; i < check->targets_.size(); ++i)
        if (check->advance_from_cache(i)) need_lookup.push_back(i);
    // A rejection from the cache ends the check before any lookup starts.
    if (auto decided = check->combined()) {
        check->finish(std::move(*decided));
        return check;
    }
    for (std::size_t i : need_lookup) check->step(i);
    check->finish_if_decided();
    return check;
}

bool ChainCheck::step(std::size_t i) {
    Target& t = targets_[i];
    while (advance_from_cache(i)) {
        auto now = SteadyClock::now();
        Duration share = share_for(i, now);
        if (share > Duration{0}) {
            start_lookup(i, share, now);
            return true;
        }
        t.policy.record(out_of_time(Duration{0}));
    }
    return false;
}

Duration ChainCheck::share_for(std::size_t i, SteadyClock::time_point now) const {
    const Target& t = targets_[i];
    std::vector<MethodNeed> needs;
    for (RevocationMethod m : t.policy.remaining())
        needs.push_back(method_need(checker_.profile(), m, m == RevocationMethod::ocsp ? checker_.responder_count(t.pair) : 0));
    Duration left = time_left(deadline_, now);
    if (left == Duration::max()) return Duration::max();  // no deadline: every attempt its own timeout
    return method_share(left, needs);
}

void ChainCheck::start_lookup(std::size_t i, Duration share, SteadyClock::time_point now) {
    Deadline share_ends = share == Duration::max() ? no_deadline : now + share;
    auto waiter = std::make_shared<RevocationChecker::Waiter>();
    waiter->home = home_;
    waiter->deliver = [this, i](MethodResult r) { on_lookup(i, std::move(r)); };
    targets_[i].waiter = waiter;
    targets_[i].share = share;
    targets_[i].share_ends = share_ends;
    checker_.lookup_async(*targets_[i].policy.current(), targets_[i].pair, std::move(waiter), share_ends);
    arm_share_timer();
}

void ChainCheck::on_lookup(std::size_t i, MethodResult result) {
    targets_[i].waiter.reset();
    targets_[i].policy.record(result);
    step(i);
    finish_if_decided();  // may destroy *this
}

void ChainCheck::arm_share_timer() {
    Deadline earliest = no_deadline;
    for (const auto& t : targets_)
        if (t.waiter) earliest = std::min(earliest, t.share_ends);
    if (earliest == no_deadline) {
        if (share_timer_) share_timer_->stop();
        return;
    }
    if (!share_timer_) share_timer_ = std::make_unique<LoopTimer>(home_->loop());
    share_timer_->arm(time_left(earliest, SteadyClock::now()) + kShareGrace, [this] { on_share_timer(); });
}

// Lookups that outlasted their share are given up here (the shared query or download goes on
// for whoever else waits, and fills the cache); their certificates go on to the next method.
void ChainCheck::on_share_timer() {
    auto now = SteadyClock::now();
    for (std::size_t i = 0; i < targets_.size(); ++i) {
        Target& t = targets_[i];
        if (!t.waiter || t.share_ends + kShareGrace > now + Duration{1}) continue;
        t.waiter->cancelled = true;
        t.waiter.reset();
        t.policy.record(out_of_time(t.share));
        step(i);
    }
    if (finished_) return;
    finish_if_decided();  // may destroy *this
    if (!finished_) arm_share_timer();
}

void ChainCheck::finish_if_decided() {
    if (finished_) return;
    if (auto decided = combined()) finish(std::move(*decided));
}

void ChainCheck::finish(Decision decision) {
    if (finished_) return;
    finished_ = true;
    if (share_timer_) share_timer_->stop();
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
