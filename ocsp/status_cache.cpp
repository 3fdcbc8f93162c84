#include "ocsp/status_cache.h"

#include <algorithm>

namespace ocspgate::ocsp {

const char* to_string(CachedStatus::Kind kind) noexcept {
    switch (kind) {
        case CachedStatus::Kind::good: return "good";
        case CachedStatus::Kind::revoked: return "revoked";
        case CachedStatus::Kind::unknown: return "unknown";
        case CachedStatus::Kind::error: return "error";
    }
    return "error";
}

StatusCache::StatusCache(std::size_t capacity) : per_shard_capacity_(std::max<std::size_t>(1, capacity / kShards)) {}

StatusCache::Shard& StatusCache::shard_for(const CertId& id) {
    return shards_[std::hash<CertId>{}(id) % kShards];
}

std::optional<CachedStatus> StatusCache::find(const CertId& id,
                                              bool (*usable)(const Entry&, Clock::time_point, CachedStatus&),
                                              Clock::time_point now) {
    Shard& shard = shard_for(id);
    std::lock_guard lock(shard.mutex);
    auto it = shard.index.find(id);
    if (it == shard.index.end()) return std::nullopt;
    CachedStatus out;
    if (!usable(*it->second, now, out)) return std::nullopt;
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return out;
}

std::optional<CachedStatus> StatusCache::find_fresh(const CertId& id, Clock::time_point now) {
    return find(
        id,
        [](const Entry& e, Clock::time_point t, CachedStatus& out) {
            if (e.status.fresh_until <= t) return false;
            out = e.status;
            return true;
        },
        now);
}

std::optional<CachedStatus> StatusCache::find_stale_good(const CertId& id, Clock::time_point now) {
    return find(
        id,
        [](const Entry& e, Clock::time_point t, CachedStatus& out) {
            if (!e.has_last_good || e.last_good.stale_until <= t) return false;
            out = e.last_good;
            return true;
        },
        now);
}

void StatusCache::store(const CertId& id, CachedStatus status, Clock::time_point /*now*/) {
    Shard& shard = shard_for(id);
    std::lock_guard lock(shard.mutex);
    auto it = shard.index.find(id);
    if (it != shard.index.end()) {
        Entry& e = *it->second;
        if (status.kind == CachedStatus::Kind::good) {
            e.last_good = status;
            e.has_last_good = true;
        } else if (status.kind != CachedStatus::Kind::error) {
            e.has_last_good = false;  // a definitive revoked/unknown ends any grace
        }
        e.status = std::move(status);
        shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
        return;
    }
    Entry e{id, status, status, status.kind == CachedStatus::Kind::good};
    shard.lru.push_front(std::move(e));
    shard.index.emplace(id, shard.lru.begin());
    if (shard.lru.size() > per_shard_capacity_) {
        shard.index.erase(shard.lru.back().id);
        shard.lru.pop_back();
    }
}

std::size_t StatusCache::size() {
    std::size_t total = 0;
    for (Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        total += shard.lru.size();
    }
    return total;
}

}  // namespace ocspgate::ocsp
