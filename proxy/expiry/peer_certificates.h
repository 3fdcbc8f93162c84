// Client certificates seen recently, for the expiry monitor (include_peer_certificates).
//
// Workers call note() once per successful handshake, from any loop thread; the main thread
// takes a snapshot(). The registry is bounded: it holds at most `capacity` entries, keyed by
// SHA-256 fingerprint, forgetting the least recently seen one of its shard when the shard is
// full, and it keeps only the facts a warning needs (subject, issuer, serial, notAfter), never
// the certificate itself. 16 shards by fingerprint, each with its own lock, so handshakes on
// different workers do not queue on one process-wide lock.
#pragma once

#include <openssl/x509.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ocspgate::proxy::expiry {

struct PeerCertificate {
    std::string fingerprint;  // SHA-256, lower-case hex
    std::string subject;
    std::string issuer;
    std::string serial;
    std::chrono::system_clock::time_point not_after;
    std::chrono::system_clock::time_point last_seen;
    // Why its last handshake was refused ("certificate expired"); empty: it was accepted.
    std::string refused;
};

class PeerCertificates {
public:
    explicit PeerCertificates(std::size_t capacity);
    PeerCertificates(const PeerCertificates&) = delete;
    PeerCertificates& operator=(const PeerCertificates&) = delete;

    // Thread-safe. A certificate already known only has its last_seen (and `refused`)
    // refreshed; describing a new one happens outside the lock, so workers contend only for a
    // map lookup. `refused`: why the handshake was refused, empty when it was accepted. Only
    // certificates the client CA really issued may be noted (accepted ones, and refused ones
    // whose only fault is the leaf's expiry): anything else would let any client fill it.
    void note(const X509* certificate, std::string_view refused = {});

    // Thread-safe. Drops entries not seen since `unseen_since`, then copies the rest,
    // most recently seen first.
    std::vector<PeerCertificate> snapshot(std::chrono::system_clock::time_point unseen_since);

    // Thread-safe. Every entry, most recently seen first, forgetting none (for /status).
    std::vector<PeerCertificate> list() const;

    std::size_t size() const;

private:
    using Order = std::list<PeerCertificate>;  // most recently seen first

    struct Shard {
        mutable std::mutex mutex;
        Order order;                                              // guarded by mutex
        std::unordered_map<std::string, Order::iterator> by_fingerprint;  // guarded by mutex
    };
    static constexpr std::size_t kShards = 16;

    Shard& shard_for(const std::string& fingerprint);
    void insert_locked(Shard& shard, PeerCertificate entry);

    const std::size_t shard_capacity_;
    std::array<Shard, kShards> shards_;
};

}  // namespace ocspgate::proxy::expiry
