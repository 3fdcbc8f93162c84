#include "proxy/expiry/peer_certificates.h"

#include <algorithm>
#include <functional>

#include "proxy/log/log.h"
#include "tls/certificate.h"

namespace ocspgate::proxy::expiry {

// The bound is per shard (capacity / 16, at least 1), so the whole holds at most about
// `capacity` entries.
PeerCertificates::PeerCertificates(std::size_t capacity)
    : shard_capacity_(std::max<std::size_t>(1, (capacity + kShards - 1) / kShards)) {}

PeerCertificates::Shard& PeerCertificates::shard_for(const std::string& fingerprint) {
    return shards_[std::hash<std::string>{}(fingerprint) % kShards];
}

void PeerCertificates::note(const X509* certificate, std::string_view refused) {
    if (certificate == nullptr) return;
    std::string fingerprint = tls::sha256_fingerprint_of(certificate);
    auto now = std::chrono::system_clock::now();
    Shard& shard = shard_for(fingerprint);
    {
        std::lock_guard lock(shard.mutex);
        auto found = shard.by_fingerprint.find(fingerprint);
        if (found != shard.by_fingerprint.end()) {
            found->second->last_seen = now;
            found->second->refused = refused;
            shard.order.splice(shard.order.begin(), shard.order, found->second);
            return;
        }
    }
    // Names a client chose are capped as in log lines: they reach logs, metrics labels,
    // /status and emails, and max_peer_certificates of them are kept.
    PeerCertificate entry{std::move(fingerprint), log::capped(tls::subject_of(certificate)),
                          log::capped(tls::issuer_of(certificate)), tls::serial_hex_of(certificate),
                          tls::not_after_of(certificate), now, std::string(refused)};
    std::lock_guard lock(shard.mutex);
    if (shard.by_fingerprint.count(entry.fingerprint) != 0) return;  // another worker was first
    insert_locked(shard, std::move(entry));
}

void PeerCertificates::insert_locked(Shard& shard, PeerCertificate entry) {
    if (shard.order.size() >= shard_capacity_) {
        shard.by_fingerprint.erase(shard.order.back().fingerprint);
        shard.order.pop_back();
    }
    shard.order.push_front(std::move(entry));
    shard.by_fingerprint.emplace(shard.order.front().fingerprint, shard.order.begin());
}

std::vector<PeerCertificate> PeerCertificates::snapshot(std::chrono::system_clock::time_point unseen_since) {
    std::vector<PeerCertificate> all;
    for (Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        while (!shard.order.empty() && shard.order.back().last_seen < unseen_since) {
            shard.by_fingerprint.erase(shard.order.back().fingerprint);
            shard.order.pop_back();
        }
        all.insert(all.end(), shard.order.begin(), shard.order.end());
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const PeerCertificate& a, const PeerCertificate& b) { return a.last_seen > b.last_seen; });
    return all;
}

std::vector<PeerCertificate> PeerCertificates::list() const {
    std::vector<PeerCertificate> all;
    for (const Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        all.insert(all.end(), shard.order.begin(), shard.order.end());
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const PeerCertificate& a, const PeerCertificate& b) { return a.last_seen > b.last_seen; });
    return all;
}

std::size_t PeerCertificates::size() const {
    std::size_t total = 0;
    for (const Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        total += shard.order.size();
    }
    return total;
}

}  // namespace ocspgate::proxy::expiry
