// The fleet's second-level cache of signed OCSP responses ([cache.shared]): one Redis shared
// by every instance. Between a miss in the in-memory StatusCache and the responder.
//
// What is stored is the DER OCSPResponse exactly as the responder signed it, under a key
// derived from its CertID (shared_key.h), for min(nextUpdate - now, max_ttl). What is read is
// bytes, never a verdict: the checker validates them exactly as a response just fetched
// (ocsp/response.h, no nonce expected), so a Redis can withhold or replay answers, never
// forge one. Thread-safe: each worker loop gets its own RedisConnection, made on first use
// on that loop and closed with the loop's Mailbox.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ocsp/mailbox.h"
#include "ocsp/settings.h"
#include "ocsp/shared_cache/redis_connection.h"

namespace ocspgate::ocsp {

class SharedCache {
public:
    explicit SharedCache(SharedCacheSettings settings);
    // Closes every loop's connection, each on its own loop (through its Mailbox).
    ~SharedCache();
    SharedCache(const SharedCache&) = delete;
    SharedCache& operator=(const SharedCache&) = delete;

    const SharedCacheSettings& settings() const { return settings_; }

    // On `home`'s loop thread. `done` runs once on that loop, never from inside get().
    void get(Mailbox& home, const std::string& key, RedisConnection::GetCallback done);
    // The lease ([cache.shared] lease), on `home`'s loop thread; see RedisConnection.
    void set_if_absent(Mailbox& home, const std::string& key, const std::string& value, std::chrono::milliseconds ttl,
                       RedisConnection::GetCallback done);
    void get_after(Mailbox& home, std::chrono::milliseconds delay, const std::string& key,
                   RedisConnection::GetCallback done);
    // Who holds a lease, for an operator reading Redis: "host:pid".
    const std::string& instance_id() const { return instance_id_; }

    // On `home`'s loop thread. False when nothing was sent; else `stored` hears, on that loop,
    // whether Redis took it (RedisConnection::set).
    bool set(Mailbox& home, const std::string& key, const std::string& value, std::chrono::seconds ttl,
             RedisConnection::SetCallback stored = {});

private:
    struct Registry {
        std::mutex mutex;
        std::map<Mailbox*, std::shared_ptr<RedisConnection>> connections;  // guarded
    };
    std::shared_ptr<RedisConnection> connection_for(Mailbox& home);

    SharedCacheSettings settings_;
    std::string instance_id_;
    std::shared_ptr<Registry> registry_;
};

}  // namespace ocspgate::ocsp
