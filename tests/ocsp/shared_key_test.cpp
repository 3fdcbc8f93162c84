// The shared cache's key and TTL (ocsp/shared_cache/shared_key.h).
#include "ocsp/shared_cache/shared_key.h"

#include <gtest/gtest.h>

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;

CertId id(std::string serial) { return CertId{NID_sha1, std::string(20, 'n'), std::string(20, 'k'), std::move(serial)}; }

TEST(SharedKey, NamesTheCertIdUnderThePrefix) {
    std::string key = shared_key("fleet:", id("\x01"));
    EXPECT_EQ(key.rfind("fleet:ocsp:", 0), 0u);
    EXPECT_EQ(key.size(), std::string("fleet:ocsp:").size() + 64);  // hex SHA-256
    EXPECT_EQ(key, shared_key("fleet:", id("\x01")));
}

TEST(SharedKey, EveryFieldChangesTheKey) {
    const std::string base = shared_key("p:", id("\x01"));
    EXPECT_NE(base, shared_key("p:", id("\x02")));
    CertId other_alg = id("\x01");
    other_alg.hash_nid = NID_sha256;
    EXPECT_NE(base, shared_key("p:", other_alg));
    CertId other_key = id("\x01");
    other_key.issuer_key_hash[0] = 'x';
    EXPECT_NE(base, shared_key("p:", other_key));
    // Fields are length-prefixed: moving a byte from one field to the next is another key.
    CertId shifted = id("n\x01");
    shifted.issuer_key_hash = std::string(20, 'k');
    shifted.issuer_name_hash = std::string(19, 'n');
    EXPECT_NE(shared_key("p:", id("\x01")), shared_key("p:", shifted));
}

TEST(SharedTtl, IsNextUpdateCappedByMaxTtl) {
    auto now = std::chrono::system_clock::now();
    Answer a;
    a.status = CertStatus::good;
    a.next_update = now + 300s;
    EXPECT_EQ(shared_ttl(a, now, 3600s), 300s);
    EXPECT_EQ(shared_ttl(a, now, 60s), 60s);
    a.status = CertStatus::revoked;
    EXPECT_EQ(shared_ttl(a, now, 3600s), 300s);
}

TEST(SharedTtl, NeverSharesUnknownOpenEndedOrExpiringAnswers) {
    auto now = std::chrono::system_clock::now();
    Answer a;
    a.status = CertStatus::unknown;
    a.next_update = now + 300s;
    EXPECT_FALSE(shared_ttl(a, now, 3600s));
    a.status = CertStatus::good;
    a.next_update.reset();
    EXPECT_FALSE(shared_ttl(a, now, 3600s));
    a.next_update = now + 500ms;
    EXPECT_FALSE(shared_ttl(a, now, 3600s));
}

}  // namespace
}  // namespace ocspgate::ocsp
