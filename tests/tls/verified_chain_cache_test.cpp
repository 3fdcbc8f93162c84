// VerifiedChainCache on its own: real chains verified by X509_verify_cert in a real
// X509_STORE_CTX, then restored (or not) into a fresh store context the way the Engine does.
// The Engine-level behaviour (a second handshake served from the cache, CertificateVerify
// still checked) is in engine_test.cpp.
#include "tls/verified_chain_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <thread>
#include <vector>

#include "support/test_pki.h"

namespace ocspgate::tls {
namespace {

using fixtures::Issued;
using fixtures::one_day;
using fixtures::test_now;

// root -> issuing -> {leaf, other}; the leaf's validity ends before the CAs'.
struct Chains {
    Issued root, issuing, leaf, other;
};

const Chains& chains() {
    static const Chains instance = [] {
        auto spec = [](const char* subject, const Issued* issuer, long serial, bool ca, std::time_t until) {
            fixtures::CertSpec s{subject, issuer, serial,
                                 ca ? fixtures::ca_extensions() : fixtures::leaf_extensions("clientAuth")};
            s.not_before = test_now - one_day;
            s.not_after = until;
            return s;
        };
        Chains c;
        c.root = fixtures::make_cert(spec("/O=Test/CN=Cache Root", nullptr, 1, true, test_now + 365 * one_day));
        c.issuing = fixtures::make_cert(spec("/O=Test/CN=Cache Issuing", &c.root, 2, true, test_now + 365 * one_day));
        c.leaf = fixtures::make_cert(spec("/O=Test/CN=leaf", &c.issuing, 3, false, test_now + 30 * one_day));
        c.other = fixtures::make_cert(spec("/O=Test/CN=other", &c.issuing, 4, false, test_now + 30 * one_day));
        return c;
    }();
    return instance;
}

// A fresh copy, as a new handshake parses the same DER into new objects.
X509Ptr reparsed(const X509* cert) {
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    const unsigned char* p = der;
    X509Ptr copy(d2i_X509(nullptr, &p, len));
    OPENSSL_free(der);
    return copy;
}

// One verification as ssl_verify_cert_chain sets it up: the leaf and the presented chain
// (leaf first) as untrusted certificates, the SSL client purpose, checked at test_now.
class Verification {
public:
    Verification(X509_STORE* store, const X509* leaf, const X509* issuing) {
        leaf_ = reparsed(leaf);
        presented_.reset(sk_X509_new_null());
        X509_up_ref(leaf_.get());
        sk_X509_push(presented_.get(), leaf_.get());
        if (issuing != nullptr) sk_X509_push(presented_.get(), reparsed(issuing).release());
        ctx_.reset(X509_STORE_CTX_new());
        X509_STORE_CTX_init(ctx_.get(), store, leaf_.get(), presented_.get());
        X509_STORE_CTX_set_default(ctx_.get(), "ssl_client");
        // The time is the process clock's, as in a handshake; test certificates are valid
        // around test_now, so the default verification checks at that time via the param.
        X509_STORE_CTX_set_time(ctx_.get(), 0, test_now);
    }
    X509_STORE_CTX* get() const { return ctx_.get(); }
    X509* leaf() const { return leaf_.get(); }
    STACK_OF(X509) * chain() const { return X509_STORE_CTX_get0_chain(ctx_.get()); }

private:
    X509Ptr leaf_;
    X509StackPtr presented_;
    X509StoreCtxPtr ctx_;
};

class VerifiedChainCacheTest : public ::testing::Test {
protected:
    VerifiedChainCacheTest() : store_(X509_STORE_new()) { X509_STORE_add_cert(store_.get(), chains().root.get()); }

    // Verifies leaf + issuing for real and remembers the result; returns the key.
    VerifiedChainCache::Key verify_and_remember(const X509* leaf) {
        Verification v(store_.get(), leaf, chains().issuing.get());
        auto key = VerifiedChainCache::key_of(v.get());
        EXPECT_TRUE(key);
        EXPECT_EQ(X509_verify_cert(v.get()), 1);
        cache_.remember(*key, v.get());
        return *key;
    }

    X509StorePtr store_;
    VerifiedChainCache cache_;
};

TEST_F(VerifiedChainCacheTest, SameChainIsRestoredWithTheCurrentCertificates) {
    verify_and_remember(chains().leaf.get());
    Verification again(store_.get(), chains().leaf.get(), chains().issuing.get());
    auto key = VerifiedChainCache::key_of(again.get());
    ASSERT_TRUE(key);
    ASSERT_TRUE(cache_.restore(*key, again.get(), test_now));
    STACK_OF(X509)* chain = again.chain();
    ASSERT_EQ(sk_X509_num(chain), 3);
    EXPECT_EQ(sk_X509_value(chain, 0), again.leaf());  // this handshake's object, not the first one's
    EXPECT_EQ(X509_cmp(sk_X509_value(chain, 1), chains().issuing.get()), 0);
    EXPECT_EQ(X509_cmp(sk_X509_value(chain, 2), chains().root.get()), 0);
    EXPECT_EQ(X509_STORE_CTX_get_error(again.get()), X509_V_OK);
    EXPECT_EQ(cache_.hits(), 1u);
}

TEST_F(VerifiedChainCacheTest, AnotherLeafIsNotServed) {
    verify_and_remember(chains().leaf.get());
    Verification other(store_.get(), chains().other.get(), chains().issuing.get());
    auto key = VerifiedChainCache::key_of(other.get());
    ASSERT_TRUE(key);
    EXPECT_FALSE(cache_.restore(*key, other.get(), test_now));
    EXPECT_EQ(other.chain(), nullptr);  // untouched on a miss
    EXPECT_EQ(cache_.misses(), 1u);
}

TEST_F(VerifiedChainCacheTest, SameLeafWithoutItsIntermediateIsAnotherKey) {
    const VerifiedChainCache::Key with_issuing = verify_and_remember(chains().leaf.get());
    Verification leaf_only(store_.get(), chains().leaf.get(), nullptr);
    auto key = VerifiedChainCache::key_of(leaf_only.get());
    ASSERT_TRUE(key);
    EXPECT_NE(*key, with_issuing);
    EXPECT_FALSE(cache_.restore(*key, leaf_only.get(), test_now));
}

TEST_F(VerifiedChainCacheTest, ExpiredChainIsNotServed) {
    const VerifiedChainCache::Key key = verify_and_remember(chains().leaf.get());
    Verification later(store_.get(), chains().leaf.get(), chains().issuing.get());
    // The leaf expires after 30 days, before its CAs: its notAfter bounds the entry.
    EXPECT_TRUE(cache_.restore(key, later.get(), test_now + 29 * one_day));
    Verification expired(store_.get(), chains().leaf.get(), chains().issuing.get());
    EXPECT_FALSE(cache_.restore(key, expired.get(), test_now + 31 * one_day));
}

TEST_F(VerifiedChainCacheTest, NotYetValidChainIsNotServed) {
    const VerifiedChainCache::Key key = verify_and_remember(chains().leaf.get());
    Verification early(store_.get(), chains().leaf.get(), chains().issuing.get());
    EXPECT_FALSE(cache_.restore(key, early.get(), test_now - 2 * one_day));
}

TEST_F(VerifiedChainCacheTest, StaysWithinItsCapacity) {
    VerifiedChainCache small(VerifiedChainCache::kShards);  // one entry per shard
    Verification v(store_.get(), chains().leaf.get(), chains().issuing.get());
    ASSERT_EQ(X509_verify_cert(v.get()), 1);
    for (int i = 0; i < 1000; ++i) {
        VerifiedChainCache::Key key{};
        key[0] = static_cast<unsigned char>(i);
        key[1] = static_cast<unsigned char>(i >> 8);
        small.remember(key, v.get());
    }
    EXPECT_EQ(small.size(), VerifiedChainCache::kShards);
}

TEST_F(VerifiedChainCacheTest, LeastRecentlyUsedEntryIsDroppedFirst) {
    VerifiedChainCache small(VerifiedChainCache::kShards);  // one entry per shard
    Verification v(store_.get(), chains().leaf.get(), chains().issuing.get());
    ASSERT_EQ(X509_verify_cert(v.get()), 1);
    VerifiedChainCache::Key first{}, second{};
    second[1] = 1;  // same shard (key[0]), another entry
    small.remember(first, v.get());
    small.remember(second, v.get());
    Verification probe(store_.get(), chains().leaf.get(), chains().issuing.get());
    EXPECT_FALSE(small.restore(first, probe.get(), test_now));
    EXPECT_TRUE(small.restore(second, probe.get(), test_now));
}

TEST_F(VerifiedChainCacheTest, CrlCheckingStoresAreNotCached) {
    Verification v(store_.get(), chains().leaf.get(), chains().issuing.get());
    EXPECT_FALSE(VerifiedChainCache::applies_to(v.get()));  // X509_STORE_CTX_set_time fixed the time
    Verification crl(store_.get(), chains().leaf.get(), chains().issuing.get());
    X509_VERIFY_PARAM_clear_flags(X509_STORE_CTX_get0_param(crl.get()), X509_V_FLAG_USE_CHECK_TIME);
    EXPECT_TRUE(VerifiedChainCache::applies_to(crl.get()));
    X509_STORE_CTX_set_flags(crl.get(), X509_V_FLAG_CRL_CHECK);
    EXPECT_FALSE(VerifiedChainCache::applies_to(crl.get()));
}

// Workers share one cache: concurrent remember/restore on overlapping keys and shards must
// neither lose count nor corrupt a shard (the ASan build checks the memory side).
TEST_F(VerifiedChainCacheTest, ConcurrentWorkersShareIt) {
    VerifiedChainCache shared(64);  // 4 per shard: evictions happen under contention too
    constexpr int kThreads = 4;
    constexpr int kRounds = 500;
    std::vector<std::thread> threads;
    std::atomic<int> restored{0};
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            Verification v(store_.get(), chains().leaf.get(), chains().issuing.get());
            if (X509_verify_cert(v.get()) != 1) return;
            for (int i = 0; i < kRounds; ++i) {
                VerifiedChainCache::Key key{};
                key[0] = static_cast<unsigned char>(i % 32);  // 16 shards, 2 keys each
                key[1] = static_cast<unsigned char>((i / 32 + t) % 4);
                shared.remember(key, v.get());
                Verification probe(store_.get(), chains().leaf.get(), chains().issuing.get());
                if (shared.restore(key, probe.get(), test_now) && sk_X509_num(probe.chain()) == 3) ++restored;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(shared.hits() + shared.misses(), static_cast<std::uint64_t>(kThreads * kRounds));
    EXPECT_EQ(shared.hits(), static_cast<std::uint64_t>(restored.load()));
    EXPECT_GT(restored.load(), 0);
    EXPECT_LE(shared.size(), 64u);
}

TEST(VerifiedChainCacheAttach, EachContextHasItsOwnCache) {
    SslCtxPtr a(SSL_CTX_new(TLS_server_method()));
    SslCtxPtr b(SSL_CTX_new(TLS_server_method()));
    EXPECT_EQ(VerifiedChainCache::of(a.get()), nullptr);
    VerifiedChainCache::attach(a.get());
    VerifiedChainCache::attach(b.get());
    ASSERT_NE(VerifiedChainCache::of(a.get()), nullptr);
    EXPECT_NE(VerifiedChainCache::of(a.get()), VerifiedChainCache::of(b.get()));
    // Freed with the context (the ASan build checks that nothing leaks).
}

}  // namespace
}  // namespace ocspgate::tls
