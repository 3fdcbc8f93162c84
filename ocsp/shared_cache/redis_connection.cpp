#include "ocsp/shared_cache/redis_connection.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netdb.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace ocspgate::ocsp {
namespace {

using SteadyClock = std::chrono::steady_clock;

bool is_numeric(const std::string& host) {
    unsigned char buffer[sizeof(in6_addr)];
    return uv_inet_pton(AF_INET, host.c_str(), buffer) == 0 || uv_inet_pton(AF_INET6, host.c_str(), buffer) == 0;
}

RedisConnection* owner_of(const redisAsyncContext* context) { return static_cast<RedisConnection*>(context->data); }

// Runs `task` on the loop soon, outside the caller's stack (a GET refused at once).
void run_soon(uv_loop_t* loop, std::function<void()> task) {
    auto* timer = new uv_timer_t;
    uv_timer_init(loop, timer);
    timer->data = new std::function<void()>(std::move(task));
    uv_timer_start(timer, [](uv_timer_t* t) {
        auto* fn = static_cast<std::function<void()>*>(t->data);
        uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
        (*fn)();
        delete fn;
    }, 0, 0);
}

}  // namespace

const char* to_string(RedisGet::Outcome outcome) noexcept {
    switch (outcome) {
        case RedisGet::Outcome::value: return "value";
        case RedisGet::Outcome::absent: return "absent";
        case RedisGet::Outcome::timeout: return "timeout";
        case RedisGet::Outcome::connection: return "connection";
        case RedisGet::Outcome::reply: return "reply";
        case RedisGet::Outcome::busy: return "busy";
        case RedisGet::Outcome::shutdown: return "shutdown";
    }
    return "?";
}

RedisConnection::RedisConnection(uv_loop_t* loop, SharedCacheSettings settings)
    : loop_(loop), settings_(std::move(settings)), deadline_timer_(loop), connect_timer_(loop),
      delayed_timer_(loop),
      alive_(std::make_shared<bool>(true)) {}

RedisConnection::~RedisConnection() {
    *alive_ = false;
    shutdown();
}

void RedisConnection::start() {
    if (state_ == State::idle) connect();
}

void RedisConnection::connect() {
    if (!settings_.unix_path.empty() || is_numeric(settings_.host)) return connect_to(settings_.host);
    // hiredis resolves names with a blocking getaddrinfo(): resolve on the thread pool first.
    state_ = State::resolving;
    auto* request = new uv_getaddrinfo_t;
    struct Data {
        RedisConnection* self;
        std::shared_ptr<bool> alive;
    };
    request->data = new Data{this, alive_};
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = uv_getaddrinfo(loop_, request, [](uv_getaddrinfo_t* req, int status, addrinfo* result) {
        auto* data = static_cast<Data*>(req->data);
        if (*data->alive) data->self->resolved(status, result);
        uv_freeaddrinfo(result);
        delete data;
        delete req;
    }, settings_.host.c_str(), nullptr, &hints);
    if (rc != 0) {
        delete static_cast<Data*>(request->data);
        delete request;
        last_error_ = std::string("cannot resolve ") + settings_.host + ": " + uv_strerror(rc);
        back_off();
    }
}

void RedisConnection::resolved(int status, const addrinfo* result) {
    if (state_ != State::resolving) return;  // shut down meanwhile
    if (status != 0 || result == nullptr) {
        last_error_ = "cannot resolve " + settings_.host + ": " + (status != 0 ? uv_strerror(status) : "no address");
        return back_off();
    }
    std::array<char, 64> text{};
    if (result->ai_family == AF_INET6)
        uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(result->ai_addr), text.data(), text.size());
    else
        uv_ip4_name(reinterpret_cast<const sockaddr_in*>(result->ai_addr), text.data(), text.size());
    connect_to(text.data());
}

void RedisConnection::connect_to(const std::string& ip) {
    redisAsyncContext* context = settings_.unix_path.empty() ? redisAsyncConnect(ip.c_str(), settings_.port)
                                                             : redisAsyncConnectUnix(settings_.unix_path.c_str());
    if (context == nullptr) {
        last_error_ = "out of memory";
        return back_off();
    }
    if (context->err != 0) {
        last_error_ = context->errstr;
        redisAsyncFree(context);
        return back_off();
    }
    context->data = this;
    if (redisLibuvAttach(context, loop_) != REDIS_OK) {
        last_error_ = "cannot attach to the event loop";
        redisAsyncFree(context);
        return back_off();
    }
    redisAsyncSetConnectCallback(context, on_connect);
    redisAsyncSetDisconnectCallback(context, on_disconnect);
    context_ = context;
    state_ = State::connecting;
    authenticate();  // queued by hiredis, sent once the socket connects, before any GET
    connect_timer_.arm(connect_timeout, [this] {
        if (state_ == State::connecting) drop("no connection within " + std::to_string(connect_timeout.count()) + " ms");
    });
}

void RedisConnection::authenticate() {
    if (!settings_.password.empty()) {
        if (settings_.username.empty())
            redisAsyncCommand(context_, on_auth_reply, nullptr, "AUTH %b", settings_.password.data(), settings_.password.size());
        else
            redisAsyncCommand(context_, on_auth_reply, nullptr, "AUTH %b %b", settings_.username.data(),
                              settings_.username.size(), settings_.password.data(), settings_.password.size());
        ++outstanding_;
    }
    if (settings_.database != 0) {
        redisAsyncCommand(context_, on_auth_reply, nullptr, "SELECT %d", settings_.database);
        ++outstanding_;
    }
}

void RedisConnection::on_connect(const redisAsyncContext* context, int status) {
    owner_of(context)->on_connected(context == owner_of(context)->context_ ? status : REDIS_ERR);
}

void RedisConnection::on_connected(int status) {
    if (status != REDIS_OK) {
        // hiredis frees the context itself after this callback.
        last_error_ = context_ != nullptr && context_->errstr[0] != '\0' ? context_->errstr : "connect failed";
        context_ = nullptr;
        outstanding_ = 0;
        return back_off();
    }
    connect_timer_.stop();
    state_ = State::connected;
    backoff_ = min_backoff;
}

void RedisConnection::on_disconnect(const redisAsyncContext* context, int status) {
    RedisConnection* self = owner_of(context);
    if (context != self->context_) return;  // we freed it ourselves (drop, shutdown)
    self->on_disconnected(status);
}

void RedisConnection::on_disconnected(int) {
    // hiredis frees the context after this callback; the GETs it held were answered already.
    last_error_ = context_->errstr[0] != '\0' ? context_->errstr : "connection closed";
    context_ = nullptr;
    outstanding_ = 0;
    back_off();
}

void RedisConnection::drop(const std::string& why) {
    last_error_ = why;
    redisAsyncContext* context = std::exchange(context_, nullptr);
    state_ = State::backing_off;
    if (context != nullptr) redisAsyncFree(context);  // answers its GETs with `connection`
    outstanding_ = 0;
    back_off();
}

void RedisConnection::back_off() {
    if (state_ == State::shut) return;
    state_ = State::backing_off;
    auto delay = backoff_;
    backoff_ = std::min(backoff_ * 2, max_backoff);
    connect_timer_.arm(delay, [this] {
        if (state_ == State::backing_off) connect();
    });
}

void RedisConnection::get(const std::string& key, GetCallback done) {
    const char* argv[] = {"GET", key.data()};
    const std::size_t lengths[] = {3, key.size()};
    send_bounded(2, argv, lengths, std::move(done));
}

void RedisConnection::set_if_absent(const std::string& key, const std::string& value, std::chrono::milliseconds ttl,
                                    GetCallback done) {
    std::string ms = std::to_string(std::max<std::int64_t>(1, ttl.count()));
    const char* argv[] = {"SET", key.data(), value.data(), "NX", "PX", ms.data()};
    const std::size_t lengths[] = {3, key.size(), value.size(), 2, 2, ms.size()};
    send_bounded(6, argv, lengths, std::move(done));
}

void RedisConnection::send_bounded(int argc, const char** argv, const std::size_t* lengths, GetCallback done) {
    if (state_ == State::idle) connect();
    if (state_ != State::connected && state_ != State::connecting)
        return answer_later(std::move(done), {RedisGet::Outcome::connection, {}, "not connected: " + last_error_});
    if (outstanding_ >= max_outstanding)
        return answer_later(std::move(done), {RedisGet::Outcome::busy, {}, "too many commands waiting for Redis"});
    auto pending = std::make_shared<Pending>(Pending{SteadyClock::now() + settings_.timeout, std::move(done)});
    auto* privdata = new std::shared_ptr<Pending>(pending);
    if (redisAsyncCommandArgv(context_, on_get_reply, privdata, argc, argv, lengths) != REDIS_OK) {
        delete privdata;
        return answer_later(std::move(pending->done), {RedisGet::Outcome::connection, {}, "command refused"});
    }
    ++outstanding_;
    pending_.push_back(std::move(pending));
    if (pending_.size() == 1) arm_deadline();
}

void RedisConnection::get_after(std::chrono::milliseconds delay, const std::string& key, GetCallback done) {
    if (state_ == State::shut) return answer_later(std::move(done), {RedisGet::Outcome::shutdown, {}, "shutting down"});
    delayed_.emplace(SteadyClock::now() + delay, Delayed{key, std::move(done)});
    arm_delayed();
}

void RedisConnection::arm_delayed() {
    if (delayed_.empty()) return delayed_timer_.stop();
    auto left = std::chrono::ceil<std::chrono::milliseconds>(delayed_.begin()->first - SteadyClock::now());
    delayed_timer_.arm(std::max(left, std::chrono::milliseconds(0)), [this] { run_delayed(); });
}

void RedisConnection::run_delayed() {
    auto now = SteadyClock::now();
    std::vector<Delayed> due;
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
        due.push_back(std::move(delayed_.begin()->second));
        delayed_.erase(delayed_.begin());
    }
    arm_delayed();
    for (auto& d : due) get(d.key, std::move(d.done));
}

void RedisConnection::on_get_reply(redisAsyncContext* context, void* reply_ptr, void* privdata) {
    std::unique_ptr<std::shared_ptr<Pending>> pending(static_cast<std::shared_ptr<Pending>*>(privdata));
    RedisConnection* self = owner_of(context);
    if (self->context_ == context && self->outstanding_ > 0) --self->outstanding_;
    auto* reply = static_cast<redisReply*>(reply_ptr);
    RedisGet result;
    if (reply == nullptr) {
        result = {RedisGet::Outcome::connection, {}, "connection lost"};
    } else if (reply->type == REDIS_REPLY_STRING) {
        result = {RedisGet::Outcome::value, std::string(reply->str, reply->len), {}};
    } else if (reply->type == REDIS_REPLY_STATUS) {  // SET NX: "OK"
        result = {RedisGet::Outcome::value, std::string(reply->str, reply->len), {}};
    } else if (reply->type == REDIS_REPLY_NIL) {
        result = {RedisGet::Outcome::absent, {}, {}};
    } else {
        result = {RedisGet::Outcome::reply, {},
                  reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len) : "unexpected reply type"};
    }
    self->answer(*pending, std::move(result));
}

void RedisConnection::answer(const std::shared_ptr<Pending>& pending, RedisGet result) {
    if (!pending->done) return;  // timed out (or shut down) before
    GetCallback done = std::move(pending->done);
    pending->done = nullptr;
    done(std::move(result));
}

void RedisConnection::answer_later(GetCallback done, RedisGet result) {
    run_soon(loop_, [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
}

void RedisConnection::arm_deadline() {
    while (!pending_.empty() && !pending_.front()->done) pending_.pop_front();
    if (pending_.empty()) return deadline_timer_.stop();
    auto left = std::chrono::ceil<std::chrono::milliseconds>(pending_.front()->deadline - SteadyClock::now());
    deadline_timer_.arm(left, [this] { expire(); });
}

void RedisConnection::expire() {
    auto now = SteadyClock::now();
    std::vector<std::shared_ptr<Pending>> late;
    while (!pending_.empty() && (!pending_.front()->done || pending_.front()->deadline <= now)) {
        if (pending_.front()->done) late.push_back(pending_.front());
        pending_.pop_front();
    }
    // Redis holds every command we sent and answers none in time: a new connection will do better.
    if (outstanding_ >= max_outstanding && state_ == State::connected) drop("Redis answered none of the last commands in time");
    for (auto& p : late)
        answer(p, {RedisGet::Outcome::timeout, {}, "no answer within " + std::to_string(settings_.timeout.count()) + " ms"});
    if (state_ != State::shut) arm_deadline();
}

bool RedisConnection::set(const std::string& key, const std::string& value, std::chrono::seconds ttl,
                          SetCallback stored) {
    if (state_ != State::connected || outstanding_ >= max_outstanding) return false;
    std::string seconds = std::to_string(std::max<std::int64_t>(1, ttl.count()));
    const char* argv[] = {"SET", key.data(), value.data(), "EX", seconds.data()};
    const std::size_t lengths[] = {3, key.size(), value.size(), 2, seconds.size()};
    auto* privdata = stored ? new SetCallback(std::move(stored)) : nullptr;
    if (redisAsyncCommandArgv(context_, on_set_reply, privdata, 5, argv, lengths) != REDIS_OK) {
        delete privdata;
        return false;
    }
    ++outstanding_;
    return true;
}

void RedisConnection::on_set_reply(redisAsyncContext* context, void* reply_ptr, void* privdata) {
    std::unique_ptr<SetCallback> stored(static_cast<SetCallback*>(privdata));
    RedisConnection* self = owner_of(context);
    if (self->context_ == context && self->outstanding_ > 0) --self->outstanding_;
    auto* reply = static_cast<redisReply*>(reply_ptr);
    if (stored) (*stored)(reply != nullptr && reply->type != REDIS_REPLY_ERROR);
}

void RedisConnection::on_auth_reply(redisAsyncContext* context, void* reply_ptr, void*) {
    RedisConnection* self = owner_of(context);
    if (self->context_ == context && self->outstanding_ > 0) --self->outstanding_;
    auto* reply = static_cast<redisReply*>(reply_ptr);
    if (reply != nullptr && reply->type == REDIS_REPLY_ERROR && self->context_ == context) {
        // Wrong password or database: later GETs would fail alike; retry after the backoff
        // (outside hiredis's callback).
        std::string why = std::string("AUTH/SELECT refused: ") + std::string(reply->str, reply->len);
        self->connect_timer_.arm(std::chrono::milliseconds(0), [self, why] {
            if (self->state_ == State::connected || self->state_ == State::connecting) self->drop(why);
        });
    }
}

void RedisConnection::shutdown() {
    if (state_ == State::shut) return;
    state_ = State::shut;
    connect_timer_.stop();
    deadline_timer_.stop();
    delayed_timer_.stop();
    auto waiting = std::move(pending_);
    pending_.clear();
    for (auto& p : waiting) answer(p, {RedisGet::Outcome::shutdown, {}, "shutting down"});
    auto delayed = std::move(delayed_);
    delayed_.clear();
    for (auto& [due, d] : delayed) d.done({RedisGet::Outcome::shutdown, {}, "shutting down"});
    if (redisAsyncContext* context = std::exchange(context_, nullptr)) redisAsyncFree(context);
    outstanding_ = 0;
}

}  // namespace ocspgate::ocsp
