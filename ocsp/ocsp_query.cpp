#include "ocsp/ocsp_query.h"

#include <fmt/format.h>

#include "ocsp/http_fetch.h"
#include "ocsp/request.h"

namespace ocspgate::ocsp {
namespace {

// What every response for `input`'s certificate is checked against, before any nonce.
ValidationInput make_validation_input(const QueryInput& input, const OcspSettings& settings, const CertId& id) {
    ValidationInput in;
    in.cert = input.cert.get();
    in.issuer = input.issuer.get();
    in.trusted_responders = input.trusted_responders;
    in.nonce_required = settings.nonce == NonceMode::require;
    in.id = id;
    in.now = std::chrono::system_clock::now();
    in.clock_skew = std::chrono::duration_cast<std::chrono::seconds>(settings.clock_skew);
    in.max_age = std::chrono::duration_cast<std::chrono::seconds>(settings.max_age);
    if (settings.max_response_age)
        in.max_response_age = std::chrono::duration_cast<std::chrono::seconds>(*settings.max_response_age);
    in.responder_cache = input.responder_cache;
    return in;
}

class OcspQuery {
public:
    OcspQuery(Mailbox& home, QueryInput input, const OcspSettings& settings, QueryCallback done)
        : home_(home), loop_(home.loop()), input_(std::move(input)), settings_(settings), done_(std::move(done)), started_(SteadyClock::now()) {}

    void start() {
        close_hook_ = home_.add_close_hook([this] { abort_for_shutdown(); });
        auto request = build_request(input_.cert.get(), input_.issuer.get(), settings_.nonce != NonceMode::off);
        if (!request) {
            fail_attempt("request", "build", request.error().message);
            return finish_async();
        }
        request_ = std::move(request).value();
        if (input_.responders.empty()) fail_attempt("-", "no_responder", "no OCSP responder configured or in the certificate's AIA");
        attempt(0);
    }

private:
    void attempt(std::size_t index) { attempt(index, settings_.request == OcspRequestMethod::get); }

    // Asks responder `index`, by GET when `try_get` and the responder is not known to refuse it.
    void attempt(std::size_t index, bool try_get) {
        if (index >= input_.responders.size()) return finish_async();
        index_ = index;
        const Url& url = input_.responders[index];
        HttpRequest http;
        http.url = url;
        http.tls_context = input_.https_context;
        http.proxy = input_.http_proxy;
        std::optional<std::string> get_path_text;
        if (try_get) {
            get_path_text = get_path(request_, url.path);
            if (get_path_text && !may_get(url)) get_path_text.reset();
        }
        via_get_ = get_path_text.has_value();
        if (get_path_text) {
            http.method = HttpRequest::Method::get;
            http.url.path = *get_path_text;
        } else {  // POST, also when a GET URL would be too long (RFC 5019 §5)
            http.method = HttpRequest::Method::post;
            http.content_type = "application/ocsp-request";
            http.body = request_.der;
        }
        FetchLimits limits;
        limits.timeout = attempt_share(time_left(input_.deadline, SteadyClock::now()), input_.responders.size() - index,
                                       settings_.timeout);
        if (limits.timeout <= Duration{0}) return skip_rest(index);
        limits.max_body = settings_.max_response_size;
        auto fetch = start_fetch(loop_, std::move(http), limits, [this](Result<HttpResponse> r) { on_response(std::move(r)); });
        if (!fetch) {
            fail_attempt(url.text, "transport", fetch.error().message);
            return attempt(index + 1);
        }
        fetch_ = std::move(fetch).value();
    }

    void on_response(Result<HttpResponse> response) {
        const Url& url = input_.responders[index_];
        if (!response) {
            const Error& e = response.error();
            // "tls": the TLS handshake with an https responder failed (its certificate not
            // trusted by tls_ca, a name mismatch, no common protocol): set-up, not chance.
            const char* kind = e.code == Errc::timeout ? "timeout"
                               : e.code == Errc::limit ? "too_large"
                               : e.code == Errc::tls   ? "tls"
                                                       : "transport";
            fail_attempt(url.text, kind, e.message);
            return attempt(index_ + 1);
        }
        // 405 Method Not Allowed, 400 from a responder that mangles the GET path, 404 from
        // one that serves GET under another prefix: all say "not like this", none "not now".
        if (via_get_ && response->status >= 400 && response->status < 500)
            return retry_by_post(fmt::format("HTTP status {}", response->status));
        if (response->status != 200) {
            fail_attempt(url.text, "http_status", fmt::format("HTTP status {}", response->status));
            return attempt(index_ + 1);
        }
        Validation v = validate_response(response->body, validation_input());
        if (auto* failure = std::get_if<ResponseFailure>(&v)) {
            if (via_get_ && failure->kind == ResponseError::malformed_request) return retry_by_post("malformedRequest");
            if (failure->kind == ResponseError::nonce_missing) result_.nonce_missing_from.push_back(url.text);
            fail_attempt(url.text, to_string(failure->kind), std::string(to_string(failure->kind)) + ": " + failure->detail);
            return attempt(index_ + 1);
        }
        if (via_get_ && input_.get_fallback != nullptr) input_.get_fallback->record_success(url.text);
        result_.answered = true;
        result_.answered_at = SteadyClock::now();
        result_.answer = std::get<Answer>(v);
        result_.source = url.text;
        result_.der = std::move(response->body);
        result_.http_max_age = response->max_age;
        if (result_.answer.nonce == NonceEcho::missing) result_.nonce_missing_from.push_back(url.text);
        finish_now();
    }

    ValidationInput validation_input() const {
        ValidationInput in = make_validation_input(input_, settings_, request_.id);
        in.expected_nonce = request_.nonce;
        return in;
    }

    bool may_get(const Url& url) const {
        return input_.get_fallback == nullptr || input_.get_fallback->may_get(url.text, SteadyClock::now());
    }

    // The responder refused our GET: ask it again by POST now, and remember the refusal.
    void retry_by_post(const std::string& reason) {
        const std::string& url = input_.responders[index_].text;
        GetRefusal refusal{url, reason, true};
        if (input_.get_fallback != nullptr) refusal.newly_known = input_.get_fallback->record_refusal(url, SteadyClock::now());
        result_.get_refusals.push_back(refusal);
        fail_attempt(url, "get_refused", "GET refused (" + reason + "), asked again by POST");
        attempt(index_, false);
    }

    // The lookup's share of the handshake budget is spent: the responders not yet asked are
    // not asked (they are not at fault, so no error kind is counted against them).
    void skip_rest(std::size_t index) {
        if (!result_.errors.empty()) result_.errors += "; ";
        result_.errors += fmt::format("{} responder(s) not asked: no time left before the handshake timeout",
                                      input_.responders.size() - index);
        finish_async();
    }

    void fail_attempt(const std::string& url, const char* kind, const std::string& message) {
        if (!result_.errors.empty()) result_.errors += "; ";
        result_.errors += url + ": " + message;
        result_.error_kinds.emplace_back(kind);
        result_.failed_responders.push_back(url);
        result_.failed_at.push_back(SteadyClock::now());
        if (is_config_problem(kind)) result_.config_problems.push_back({url, kind, message});
    }

    void abort_for_shutdown() {
        if (finishing_) return;  // an idle callback already owns the finish
        fetch_.cancel();
        fail_attempt("-", "shutdown", "worker shutting down");
        finish_now();
    }

    // Used when finishing without any I/O callback on the stack (so never from start()).
    void finish_async() {
        finishing_ = true;
        auto* idle = new uv_idle_t;
        idle->data = this;
        uv_idle_init(loop_, idle);
        uv_idle_start(idle, [](uv_idle_t* h) {
            auto* self = static_cast<OcspQuery*>(h->data);
            uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* closed) { delete reinterpret_cast<uv_idle_t*>(closed); });
            self->finish_now();
        });
    }

    void finish_now() {
        home_.remove_close_hook(close_hook_);
        result_.latency = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started_);
        QueryCallback done = std::move(done_);
        QueryResult result = std::move(result_);
        delete this;  // the fetch (finished) goes with it
        done(std::move(result));
    }

    Mailbox& home_;
    uv_loop_t* loop_;
    std::uint64_t close_hook_ = 0;
    bool finishing_ = false;
    QueryInput input_;
    const OcspSettings& settings_;
    QueryCallback done_;
    SteadyClock::time_point started_;
    Request request_;
    std::size_t index_ = 0;
    bool via_get_ = false;  // the current attempt asks by GET
    FetchHandle fetch_;
    QueryResult result_;
};

}  // namespace

bool is_config_problem(std::string_view kind) noexcept {
    return kind == "unauthorized_signer" || kind == "unauthorized" || kind == "sig_required" || kind == "tls";
}

Validation validate_stored_response(std::span<const std::uint8_t> der, const QueryInput& input,
                                    const OcspSettings& settings, const CertId& id) {
    ValidationInput in = make_validation_input(input, settings, id);
    // No nonce was sent for it: one inside is ignored (a profile with nonce = "require"
    // never consults the shared cache, see RevocationChecker).
    return validate_response(der, in);
}

void start_ocsp_query(Mailbox& home, QueryInput input, const OcspSettings& settings, QueryCallback done) {
    (new OcspQuery(home, std::move(input), settings, std::move(done)))->start();
}

}  // namespace ocspgate::ocsp
