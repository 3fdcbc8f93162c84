// Remembers client chains that X509_verify_cert accepted against one server SSL_CTX's trust
// store, so that the next handshake presenting exactly the same certificates skips chain
// building and the two signature checks on the chain (≈ 2 of the server's 3 ECDSA verifies).
//
// What it does not skip: the peer's CertificateVerify (OpenSSL checks it separately, with the
// public key of the leaf that was just parsed), and the revocation gate, which the Engine asks
// about the (restored) verified chain on every handshake.
//
// Key: SHA-256 over the DER of every certificate the peer presented, in order, each prefixed
// with its length. Scope: one cache per SSL_CTX (attached as ex_data and freed with it), so a
// live reload, which builds new contexts with new trust stores, starts with an empty cache and
// an old context's entries can never answer for a new store even at a reused address. Only
// used for contexts whose store is immutable after construction (make_server_context) and whose
// verification does not depend on the connection (server role: no host/IP name check), and
// never with CRL checking in the store or a fixed verification time.
//
// An entry is used only while `now` is inside every chain certificate's validity window, so an
// expired certificate is re-verified (and refused) by OpenSSL. Failures are never cached.
//
// Thread-safety: shared by every worker; 16 shards, each a mutex around an LRU list and its
// index, chosen by the key's bits, so handshakes on different loops rarely meet on a lock.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "tls/ossl.h"

namespace ocspgate::tls {

class VerifiedChainCache {
public:
    using Key = std::array<unsigned char, 32>;  // SHA-256

    // Entries across all shards; a full shard drops its least recently used entry.
    static constexpr std::size_t kDefaultCapacity = 16 * 1024;
    static constexpr std::size_t kShards = 16;

    explicit VerifiedChainCache(std::size_t capacity = kDefaultCapacity);
    VerifiedChainCache(const VerifiedChainCache&) = delete;
    VerifiedChainCache& operator=(const VerifiedChainCache&) = delete;

    // Attaches a cache to a server context (owned by it, freed by SSL_CTX_free).
    static void attach(SSL_CTX* ctx, std::size_t capacity = kDefaultCapacity);
    // The context's cache, or null when none is attached.
    static VerifiedChainCache* of(SSL_CTX* ctx);

    // Whether a verification in `store` may be answered from (and stored in) the cache: no CRL
    // check inside the store, no fixed verification time.
    static bool applies_to(X509_STORE_CTX* store);
    // The key of what the peer presented (the store context's leaf and untrusted certificates).
    static std::optional<Key> key_of(X509_STORE_CTX* store);

    // On a hit valid at `now`: installs the remembered verified chain in `store` (built from
    // the certificates presented now, plus the trust store's own certificates) and returns true;
    // the caller then treats the chain as verified. On a miss `store` is untouched.
    bool restore(const Key& key, X509_STORE_CTX* store, std::time_t now);
    // After X509_verify_cert(store) succeeded: remembers how the chain was built.
    void remember(const Key& key, X509_STORE_CTX* store);

    std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
    std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
    std::size_t size() const;

private:
    // One certificate of a verified chain: a presented certificate (0 = the leaf, i + 1 = the
    // i-th untrusted certificate), or, for one that came from the trust store, a reference to
    // the store's own object (so an entry adds no certificate memory).
    struct Link {
        int presented_index = -1;
        X509Ptr store_cert;
    };
    struct Entry {
        Key key;
        std::vector<Link> chain;
        std::time_t valid_from = 0;   // latest notBefore in the chain
        std::time_t valid_until = 0;  // earliest notAfter in the chain
    };
    struct KeyHash {
        std::size_t operator()(const Key& key) const noexcept;
    };
    struct Shard {
        mutable std::mutex mutex;
        std::list<Entry> lru;  // most recently used first
        std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> index;
    };

    Shard& shard_for(const Key& key) { return shards_[key[0] % kShards]; }
    static std::optional<Entry> describe(const Key& key, X509_STORE_CTX* store);
    static X509StackPtr rebuild(const Entry& entry, X509_STORE_CTX* store);

    const std::size_t shard_capacity_;
    std::array<Shard, kShards> shards_;
    std::atomic<std::uint64_t> hits_{0};
    std::atomic<std::uint64_t> misses_{0};
};

}  // namespace ocspgate::tls
