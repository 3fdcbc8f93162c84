// The OCSP response for one of ocspgate's own server certificates, for stapling
// (tls/staple.h): fetched in the background on the main loop, validated exactly like a
// response about a client (signature, responder authorisation, CertID, freshness), refreshed
// halfway between its thisUpdate and nextUpdate, and retried with backoff when the responder
// fails. Only a "good" answer is stapled (as nginx does); a held one is dropped once its
// nextUpdate has passed. A "revoked" answer is reported and, when the listener says so, makes
// the slot refuse every handshake.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "ocsp/http_fetch.h"
#include "ocsp/loop_timer.h"
#include "ocsp/request.h"
#include "ocsp/response.h"
#include "ocsp/shared_cache/shared_cache.h"
#include "ocsp/url.h"
#include "tls/ossl.h"
#include "tls/staple.h"

namespace ocspgate::ocsp {

struct OwnStapleSettings {
    Url responder;  // the configured responder, or the certificate's AIA
    std::chrono::milliseconds timeout{5000};
    std::chrono::seconds clock_skew{300};
    std::optional<Url> http_proxy;
    bool refuse_revoked = false;  // a revoked answer makes the slot refuse handshakes
    // The fleet's shared cache ([cache.shared]) and a Mailbox of the stapler's loop for it:
    // asked before the responder, written after it, like the client lookups. Null: none.
    std::shared_ptr<SharedCache> shared;
    Mailbox* home = nullptr;
};

struct OwnStapleState {
    using TimePoint = std::chrono::system_clock::time_point;
    // The last answer's status (good, revoked, unknown), or "none" before any answer.
    std::string status = "none";
    bool stapled = false;  // a response is in the slot now
    std::optional<TimePoint> this_update, next_update;  // of the last answer
    std::optional<TimePoint> fetched;                     // when the last answer came
    std::string error;  // why the last attempt failed; empty after an answer
    std::string source;  // where the last answer came from: the responder URL or "shared_cache"
    std::chrono::milliseconds next_attempt{0};  // when the next fetch starts, from the last attempt
};

class OwnStapler {
public:
    // After every attempt (answer or failure), on the loop: for logs and metrics.
    using Report = std::function<void(const OwnStapleState&)>;

    OwnStapler(uv_loop_t* loop, tls::X509Ptr cert, tls::X509Ptr issuer, OwnStapleSettings settings,
               std::shared_ptr<tls::StapleSlot> slot, Report report);
    ~OwnStapler();
    OwnStapler(const OwnStapler&) = delete;
    OwnStapler& operator=(const OwnStapler&) = delete;

    void start();  // the first fetch, now
    // A reload made a new listener for the same certificate and responder: fill its slot with
    // what is held, and keep filling that one.
    void retarget(std::shared_ptr<tls::StapleSlot> slot);
    bool serves(X509* cert, const OwnStapleSettings& settings) const;
    const OwnStapleState& state() const { return state_; }

private:
    void fetch();
    void ask_responder();
    void on_shared(RedisGet got);
    std::variant<Answer, ResponseFailure> validate(std::span<const std::uint8_t> der) const;
    void write_back(const std::vector<std::uint8_t>& der, const Answer& answer);
    void on_response(Result<HttpResponse> response);
    void answered(std::vector<std::uint8_t> der, const Answer& answer, std::string source);
    void failed(std::string error);
    void schedule(std::chrono::milliseconds delay);
    void publish();

    uv_loop_t* loop_;
    tls::X509Ptr cert_, issuer_;
    OwnStapleSettings settings_;
    std::shared_ptr<tls::StapleSlot> slot_;
    Report report_;
    LoopTimer timer_;
    FetchHandle fetch_;
    Request request_;  // of the fetch in flight (no nonce: responders may pre-sign)
    tls::StapleSlot::Der held_;  // the good response stapled, if any
    OwnStapleState state_;
    std::chrono::milliseconds backoff_{0};
    // A shared-cache GET cannot be cancelled: its callback checks this first, and a stapler
    // replaced by a reload (or closed) drops the answer.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ocspgate::ocsp
