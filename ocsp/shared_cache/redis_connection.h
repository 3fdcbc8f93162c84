// One connection to the shared cache's Redis on one libuv loop, through hiredis's
// asynchronous API and its libuv adapter: nothing here ever blocks the loop.
//
// Every GET is bounded by `timeout` (one loop timer for the connection: GETs share the same
// timeout, so the oldest one always expires first); a GET that outlasts it is answered
// `timeout` at once and its late reply dropped. A connection that fails, or does not connect
// within connect_timeout, is dropped and made again after a backoff (100 ms doubling to 10 s);
// meanwhile GET and SET refuse at once, so a Redis that is down costs a lookup nothing. At
// most max_outstanding commands wait for Redis; beyond them new ones are refused (`busy`),
// and a connection whose outstanding commands all timed out is dropped, so a hung Redis
// cannot grow memory without bound. Loop thread only.
//
// The fleet's lease ([cache.shared] lease) adds two commands, bounded like GET: SET NX PX
// (set_if_absent: who queries the responder for a CertID) and a GET sent after a delay
// (get_after: a waiter polling for the lease holder's answer). Delayed GETs wait in this
// connection, so shutdown() answers them too and no timer outlives the loop.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "ocsp/loop_timer.h"
#include "ocsp/settings.h"

struct redisAsyncContext;

namespace ocspgate::ocsp {

// What became of one GET.
struct RedisGet {
    enum class Outcome { value, absent, timeout, connection, reply, busy, shutdown };
    Outcome outcome = Outcome::absent;
    std::string value;  // Outcome::value: the stored bytes
    std::string error;  // otherwise: a sentence for the log
};

const char* to_string(RedisGet::Outcome outcome) noexcept;

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
public:
    static constexpr std::size_t max_outstanding = 256;
    static constexpr std::chrono::milliseconds connect_timeout{2000};
    static constexpr std::chrono::milliseconds min_backoff{100};
    static constexpr std::chrono::milliseconds max_backoff{10000};

    using GetCallback = std::function<void(RedisGet)>;

    RedisConnection(uv_loop_t* loop, SharedCacheSettings settings);
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    // Starts connecting (first use). Returns false when `settings` cannot be used.
    void start();

    // Asks for `key`. `done` runs exactly once on the loop, never from inside get(): with the
    // value, absent, or why not (timeout, connection, reply, busy, shutdown).
    void get(const std::string& key, GetCallback done);

    // SET key value NX PX ttl, bounded by `timeout` like a GET: `done` hears `value` ("OK":
    // the key was absent and is now ours), `absent` (someone else holds it), or why not.
    void set_if_absent(const std::string& key, const std::string& value, std::chrono::milliseconds ttl,
                       GetCallback done);

    // get(key, done) after `delay`; `done` hears `shutdown` if the connection closes first.
    void get_after(std::chrono::milliseconds delay, const std::string& key, GetCallback done);

    // Stores `value` under `key` with a TTL in whole seconds (>= 1). Returns false (nothing
    // sent) when not connected or too busy; otherwise `stored`, if given, later hears whether
    // Redis took it (false: an error reply such as OOM under maxmemory, or the connection lost).
    using SetCallback = std::function<void(bool stored)>;
    bool set(const std::string& key, const std::string& value, std::chrono::seconds ttl, SetCallback stored = {});

    // Closes the connection for good and answers every waiting GET with `shutdown`.
    void shutdown();

    bool connected() const { return state_ == State::connected; }

private:
    enum class State { idle, resolving, connecting, connected, backing_off, shut };
    struct Pending {
        std::chrono::steady_clock::time_point deadline;
        GetCallback done;  // null once answered (reply, timeout or shutdown)
    };

    struct Delayed {
        std::string key;
        GetCallback done;
    };

    // Sends a command whose reply `done` waits for, bounded by `timeout` (GET, SET NX).
    void send_bounded(int argc, const char** argv, const std::size_t* lengths, GetCallback done);
    void arm_delayed();
    void run_delayed();
    void connect();
    void connect_to(const std::string& ip);
    void resolved(int status, const struct addrinfo* result);
    void on_connected(int status);
    void on_disconnected(int status);
    void drop(const std::string& why);  // frees the context, answers GETs, backs off
    void back_off();
    void authenticate();
    void arm_deadline();
    void expire();
    void answer(const std::shared_ptr<Pending>& pending, RedisGet result);
    void answer_later(GetCallback done, RedisGet result);

    static void on_get_reply(redisAsyncContext* context, void* reply, void* privdata);
    static void on_set_reply(redisAsyncContext* context, void* reply, void* privdata);
    static void on_auth_reply(redisAsyncContext* context, void* reply, void* privdata);
    static void on_connect(const redisAsyncContext* context, int status);
    static void on_disconnect(const redisAsyncContext* context, int status);

    uv_loop_t* loop_;
    SharedCacheSettings settings_;
    State state_ = State::idle;
    redisAsyncContext* context_ = nullptr;
    std::size_t outstanding_ = 0;  // commands sent whose reply has not come
    std::deque<std::shared_ptr<Pending>> pending_;  // GETs in the order sent (= deadline order)
    LoopTimer deadline_timer_;
    LoopTimer connect_timer_;  // the connect deadline, then the backoff
    std::multimap<std::chrono::steady_clock::time_point, Delayed> delayed_;  // get_after(), by due time
    LoopTimer delayed_timer_;
    std::chrono::milliseconds backoff_{min_backoff};
    std::shared_ptr<bool> alive_;  // false once destroyed: a DNS answer arriving late is dropped
    std::string last_error_;
};

}  // namespace ocspgate::ocsp
