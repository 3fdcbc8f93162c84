#include "ocsp/own_staple.h"

#include <algorithm>

#include "ocsp/shared_cache/shared_key.h"

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr milliseconds kMinRefresh = 60s;      // never ask more often than this after an answer
constexpr milliseconds kMaxRefresh = 24h;      // ask at least daily
constexpr milliseconds kNoNextUpdate = 1h;     // an answer that promises nothing (RFC 5019 §4)
constexpr milliseconds kFirstBackoff = 30s;    // after a failure, doubling...
constexpr milliseconds kMaxBackoff = 10min;    // ...up to this
constexpr std::chrono::seconds kMaxAgeWithoutNextUpdate = 1h;

}  // namespace

OwnStapler::OwnStapler(uv_loop_t* loop, tls::X509Ptr cert, tls::X509Ptr issuer, OwnStapleSettings settings,
                       std::shared_ptr<tls::StapleSlot> slot, Report report)
    : loop_(loop), cert_(std::move(cert)), issuer_(std::move(issuer)), settings_(std::move(settings)),
      slot_(std::move(slot)), report_(std::move(report)), timer_(loop) {}

OwnStapler::~OwnStapler() { *alive_ = false; }  // the timer and the fetch handle cancel themselves

void OwnStapler::start() { fetch(); }

void OwnStapler::retarget(std::shared_ptr<tls::StapleSlot> slot) {
    slot_ = std::move(slot);
    publish();
}

bool OwnStapler::serves(X509* cert, const OwnStapleSettings& settings) const {
    return X509_cmp(cert, cert_.get()) == 0 && settings.responder.text == settings_.responder.text &&
           settings.refuse_revoked == settings_.refuse_revoked;
}

void OwnStapler::fetch() {
    auto request = build_request(cert_.get(), issuer_.get(), /*with_nonce=*/false);
    if (!request) return failed(request.error().message);
    request_ = std::move(request).value();
    if (!settings_.shared || settings_.home == nullptr) return ask_responder();
    settings_.shared->get(*settings_.home, shared_key(settings_.shared->settings().key_prefix, request_.id),
                          [this, alive = alive_](RedisGet got) {
                              if (*alive) on_shared(std::move(got));
                          });
}

// What another fleet member stored for this certificate, validated like the responder's
// answer; anything else (absent, refused, Redis down) and the responder is asked.
void OwnStapler::on_shared(RedisGet got) {
    if (got.outcome == RedisGet::Outcome::shutdown) return;  // the loop is ending
    if (got.outcome == RedisGet::Outcome::value) {
        std::vector<std::uint8_t> der(got.value.begin(), got.value.end());
        auto validation = validate(der);
        // Only an answer newer than the last one: an older entry (a write of ours that did not
        // land, another member's) must not undo a revocation, nor be asked for again and again.
        const auto* answer = std::get_if<Answer>(&validation);
        if (answer && answer->status != CertStatus::unknown && answer->next_update &&
            (!state_.this_update || answer->this_update > *state_.this_update))
            return answered(std::move(der), *answer, "shared_cache");
    }
    ask_responder();
}

void OwnStapler::ask_responder() {
    HttpRequest http;
    http.method = HttpRequest::Method::post;
    http.url = settings_.responder;
    http.content_type = "application/ocsp-request";
    http.body = request_.der;
    http.proxy = settings_.http_proxy;
    FetchLimits limits;
    limits.timeout = settings_.timeout;
    limits.max_body = 64 * 1024;
    auto started = start_fetch(loop_, std::move(http), limits, [this](Result<HttpResponse> r) { on_response(std::move(r)); });
    if (!started) return failed(started.error().message);
    fetch_ = std::move(started).value();
}

std::variant<Answer, ResponseFailure> OwnStapler::validate(std::span<const std::uint8_t> der) const {
    ValidationInput in;
    in.cert = cert_.get();
    in.issuer = issuer_.get();
    in.id = request_.id;
    in.now = std::chrono::system_clock::now();
    in.clock_skew = settings_.clock_skew;
    in.max_age = kMaxAgeWithoutNextUpdate;
    in.nonce_required = false;
    return validate_response(der, in);
}

void OwnStapler::on_response(Result<HttpResponse> response) {
    if (!response) return failed(response.error().message);
    if (response->status != 200) return failed("HTTP status " + std::to_string(response->status));
    auto validation = validate(response->body);
    if (auto* failure = std::get_if<ResponseFailure>(&validation)) return failed(to_error(*failure).message);
    const Answer& answer = std::get<Answer>(validation);
    write_back(response->body, answer);
    answered(std::move(response->body), answer, settings_.responder.text);
}

// As the client lookups do: a good or revoked answer with a nextUpdate, exactly as signed.
void OwnStapler::write_back(const std::vector<std::uint8_t>& der, const Answer& answer) {
    if (!settings_.shared || settings_.home == nullptr) return;
    auto ttl = shared_ttl(answer, std::chrono::system_clock::now(), settings_.shared->settings().max_ttl);
    if (!ttl) return;
    settings_.shared->set(*settings_.home, shared_key(settings_.shared->settings().key_prefix, request_.id),
                          std::string(der.begin(), der.end()), *ttl);
}

void OwnStapler::answered(std::vector<std::uint8_t> der, const Answer& answer, std::string source) {
    const auto now = std::chrono::system_clock::now();
    backoff_ = 0ms;
    state_.source = std::move(source);
    state_.status = to_string(answer.status);
    state_.this_update = answer.this_update;
    state_.next_update = answer.next_update;
    state_.fetched = now;
    state_.error.clear();
    held_ = answer.status == CertStatus::good ? std::make_shared<const std::vector<std::uint8_t>>(std::move(der))
                                              : nullptr;
    publish();
    // Halfway to nextUpdate: time for another try before it expires, as RFC 5019 §6.1 suggests
    // for clients; bounded so a short-lived answer is not asked for in a loop.
    milliseconds delay = kNoNextUpdate;
    if (answer.next_update)
        delay = duration_cast<milliseconds>(answer.this_update + (*answer.next_update - answer.this_update) / 2 - now);
    schedule(std::clamp(delay, kMinRefresh, kMaxRefresh));
}

void OwnStapler::failed(std::string error) {
    const auto now = std::chrono::system_clock::now();
    state_.error = std::move(error);
    backoff_ = backoff_ == 0ms ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
    milliseconds delay = backoff_;
    if (held_ && state_.this_update) {
        // Past nextUpdate, or for an answer that promises none, past the age it is taken at.
        const auto expires = (state_.next_update ? *state_.next_update : *state_.this_update + kMaxAgeWithoutNextUpdate) +
                             settings_.clock_skew;
        if (expires <= now) {
            held_ = nullptr;  // never staple an expired response
        } else {
            delay = std::min(delay, std::max(duration_cast<milliseconds>(expires - now), milliseconds(1000)));
        }
    }
    publish();
    schedule(delay);
}

void OwnStapler::schedule(milliseconds delay) {
    state_.next_attempt = delay;
    if (report_) report_(state_);
    timer_.arm(delay, [this] { fetch(); });
}

void OwnStapler::publish() {
    state_.stapled = held_ != nullptr;
    if (!slot_) return;
    slot_->set(held_);
    slot_->refuse(settings_.refuse_revoked && state_.status == "revoked");
}

}  // namespace ocspgate::ocsp
