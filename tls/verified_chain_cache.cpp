#include "tls/verified_chain_cache.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

namespace ocspgate::tls {
namespace {

// SHA-256 fetched once: a fetch per handshake would walk the provider tables each time.
const EVP_MD* sha256() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    return md;
}

void free_cache(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                void* /*argp*/) {
    delete static_cast<VerifiedChainCache*>(ptr);
}

int ex_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_cache);
    return index;
}

std::optional<std::time_t> to_time_t(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
    return timegm(&tm);
}

// Appends a 4-byte big-endian length and the certificate's DER; false if it cannot be encoded.
bool append_der(std::vector<unsigned char>& out, X509* cert) {
    const int len = i2d_X509(cert, nullptr);
    if (len <= 0) return false;
    const std::size_t at = out.size();
    out.resize(at + 4 + static_cast<std::size_t>(len));
    const auto n = static_cast<std::uint32_t>(len);
    out[at] = static_cast<unsigned char>(n >> 24);
    out[at + 1] = static_cast<unsigned char>(n >> 16);
    out[at + 2] = static_cast<unsigned char>(n >> 8);
    out[at + 3] = static_cast<unsigned char>(n);
    unsigned char* p = out.data() + at + 4;
    return i2d_X509(cert, &p) == len;
}

// 0 for the leaf, i + 1 for the i-th untrusted certificate, -1 when `cert` was not presented.
int presented_index(X509_STORE_CTX* store, const X509* cert) {
    if (cert == X509_STORE_CTX_get0_cert(store)) return 0;
    STACK_OF(X509)* untrusted = X509_STORE_CTX_get0_untrusted(store);
    for (int i = 0; i < sk_X509_num(untrusted); ++i)
        if (sk_X509_value(untrusted, i) == cert) return i + 1;
    return -1;
}

}  // namespace

std::size_t VerifiedChainCache::KeyHash::operator()(const Key& key) const noexcept {
    std::size_t h = 0;
    std::memcpy(&h, key.data() + 1, sizeof h);  // key[0] already chose the shard
    return h;
}

VerifiedChainCache::VerifiedChainCache(std::size_t capacity)
    : shard_capacity_(std::max<std::size_t>(1, capacity / kShards)) {}

void VerifiedChainCache::attach(SSL_CTX* ctx, std::size_t capacity) {
    auto* cache = new VerifiedChainCache(capacity);
    if (SSL_CTX_set_ex_data(ctx, ex_index(), cache) != 1) delete cache;  // then simply no cache
}

VerifiedChainCache* VerifiedChainCache::of(SSL_CTX* ctx) {
    return ctx ? static_cast<VerifiedChainCache*>(SSL_CTX_get_ex_data(ctx, ex_index())) : nullptr;
}

bool VerifiedChainCache::applies_to(X509_STORE_CTX* store) {
    // CRLs in the store could change the answer without the chain changing; a fixed check time
    // would make the validity window below meaningless.
    const unsigned long flags = X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(store));
    return (flags & (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_USE_CHECK_TIME)) == 0;
}

std::optional<VerifiedChainCache::Key> VerifiedChainCache::key_of(X509_STORE_CTX* store) {
    X509* leaf = X509_STORE_CTX_get0_cert(store);
    const EVP_MD* md = sha256();
    if (leaf == nullptr || md == nullptr) return std::nullopt;
    thread_local std::vector<unsigned char> der;  // reused: no allocation per handshake
    der.clear();
    if (!append_der(der, leaf)) return std::nullopt;
    // The server passes the whole peer chain, leaf included, as untrusted certificates: the
    // leaf is encoded once (each i2d costs two passes through OpenSSL's ASN.1 templates).
    STACK_OF(X509)* untrusted = X509_STORE_CTX_get0_untrusted(store);
    for (int i = 0; i < sk_X509_num(untrusted); ++i) {
        X509* cert = sk_X509_value(untrusted, i);
        if (i == 0 && cert == leaf) {
            // "The leaf again". Unambiguous: a length prefix starts with 0x00, since a TLS
            // certificate list (and so any certificate in it) is shorter than 2^24 bytes.
            der.push_back(0xff);
            continue;
        }
        if (!append_der(der, cert)) return std::nullopt;
    }
    Key key{};
    unsigned int len = 0;
    if (EVP_Digest(der.data(), der.size(), key.data(), &len, md, nullptr) != 1 || len != key.size())
        return std::nullopt;
    return key;
}

std::optional<VerifiedChainCache::Entry> VerifiedChainCache::describe(const Key& key, X509_STORE_CTX* store) {
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(store);
    if (sk_X509_num(chain) <= 0) return std::nullopt;
    Entry entry{key, {}, std::numeric_limits<std::time_t>::min(), std::numeric_limits<std::time_t>::max()};
    for (int i = 0; i < sk_X509_num(chain); ++i) {
        X509* cert = sk_X509_value(chain, i);
        auto from = to_time_t(X509_get0_notBefore(cert));
        auto until = to_time_t(X509_get0_notAfter(cert));
        if (!from || !until) return std::nullopt;
        entry.valid_from = std::max(entry.valid_from, *from);
        entry.valid_until = std::min(entry.valid_until, *until);
        Link link;
        link.presented_index = presented_index(store, cert);
        if (link.presented_index < 0) {
            X509_up_ref(cert);
            link.store_cert.reset(cert);
        }
        entry.chain.push_back(std::move(link));
    }
    return entry;
}

X509StackPtr VerifiedChainCache::rebuild(const Entry& entry, X509_STORE_CTX* store) {
    STACK_OF(X509)* untrusted = X509_STORE_CTX_get0_untrusted(store);
    X509StackPtr chain(sk_X509_new_reserve(nullptr, static_cast<int>(entry.chain.size())));
    if (!chain) return nullptr;
    for (const Link& link : entry.chain) {
        X509* cert = link.store_cert.get();
        if (link.presented_index == 0) cert = X509_STORE_CTX_get0_cert(store);
        if (link.presented_index > 0) cert = sk_X509_value(untrusted, link.presented_index - 1);
        if (cert == nullptr) return nullptr;  // same key, so this cannot happen; refuse to guess
        X509_up_ref(cert);
        sk_X509_push(chain.get(), cert);
    }
    return chain;
}

bool VerifiedChainCache::restore(const Key& key, X509_STORE_CTX* store, std::time_t now) {
    X509StackPtr chain;
    {
        Shard& shard = shard_for(key);
        std::lock_guard lock(shard.mutex);
        auto it = shard.index.find(key);
        if (it != shard.index.end()) {
            const Entry& entry = *it->second;
            if (entry.valid_from <= now && now < entry.valid_until) {
                shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
                chain = rebuild(entry, store);
            }
        }
    }
    if (!chain) {
        misses_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
    // As X509_verify_cert leaves it: the verified chain (which OpenSSL copies into the SSL as
    // SSL_get0_verified_chain) and no error.
    X509_STORE_CTX_set0_verified_chain(store, chain.release());
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return true;
}

void VerifiedChainCache::remember(const Key& key, X509_STORE_CTX* store) {
    std::optional<Entry> entry = describe(key, store);
    if (!entry) return;
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.index.find(key); it != shard.index.end()) {
        *it->second = std::move(*entry);  // e.g. an expired entry verified again
        shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
        return;
    }
    if (shard.lru.size() >= shard_capacity_) {
        shard.index.erase(shard.lru.back().key);
        shard.lru.pop_back();
    }
    shard.lru.push_front(std::move(*entry));
    shard.index.emplace(key, shard.lru.begin());
}

std::size_t VerifiedChainCache::size() const {
    std::size_t n = 0;
    for (const Shard& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        n += shard.lru.size();
    }
    return n;
}

}  // namespace ocspgate::tls
