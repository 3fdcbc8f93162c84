// Revocation answers per certificate, keyed by the full CertID (hash algorithm, issuer name
// hash, issuer key hash, serial), shared by every worker loop.
//
// Bounded LRU, split into shards with a mutex each so loops rarely contend and no global lock
// sits on the per-connection path. A lookup is a hash, a short critical section and a copy.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "ocsp/cert_id.h"
#include "ocsp/cert_status.h"

namespace ocspgate::ocsp {

using Clock = std::chrono::system_clock;

struct CachedStatus {
    enum class Kind { good, revoked, unknown, error };
    Kind kind = Kind::error;
    std::string source;   // responder URL (or CRL) that answered
    std::string detail;   // errors: what went wrong; answers: what logs should note, e.g. no nonce
    Clock::time_point fresh_until;  // answered from cache until then
    Clock::time_point stale_until;  // good answers only: usable when every responder fails
    Clock::time_point stored_at;    // when it was obtained: a remembered answer's age is from here
    RevokedInfo revoked;            // revoked answers: what the responder said about it
};

const char* to_string(CachedStatus::Kind kind) noexcept;

class StatusCache {
public:
    explicit StatusCache(std::size_t capacity);

    // A fresh entry (fresh_until > now), or nullopt.
    std::optional<CachedStatus> find_fresh(const CertId& id, Clock::time_point now);
    // A good entry past its freshness but within stale_until (stale_if_error), or nullopt.
    std::optional<CachedStatus> find_stale_good(const CertId& id, Clock::time_point now);
    // Inserts or replaces. A failure becomes the fresh answer (negative caching for
    // error_cache_ttl), but the last good answer is kept beside it for find_stale_good()
    // (stale_if_error); a revoked or unknown answer ends that grace.
    void store(const CertId& id, CachedStatus status, Clock::time_point now);
    std::size_t size();

private:
    static constexpr std::size_t kShards = 16;
    struct Entry {
        CertId id;
        CachedStatus status;
        CachedStatus last_good;  // kept for stale_if_error while errors are cached
        bool has_last_good = false;
    };
    struct Shard {
        std::mutex mutex;
        std::list<Entry> lru;  // most recently used first
        std::unordered_map<CertId, std::list<Entry>::iterator> index;
    };
    Shard& shard_for(const CertId& id);
    std::optional<CachedStatus> find(const CertId& id, bool (*usable)(const Entry&, Clock::time_point, CachedStatus&),
                                     Clock::time_point now);

    std::size_t per_shard_capacity_;
    std::array<Shard, kShards> shards_;
};

}  // namespace ocspgate::ocsp
