// The expiry monitor's registry of client certificates: one entry per certificate, bounded,
// least recently seen forgotten first, unseen entries dropped.
#include "proxy/expiry/peer_certificates.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "proxy/log/log.h"
#include "support/test_pki.h"
#include "tls/certificate.h"

namespace ocspgate::proxy::expiry {
namespace {

using fixtures::pki;
using std::chrono::system_clock;

TEST(PeerCertificates, KeepsTheFactsOfEachCertificateOnce) {
    PeerCertificates peers(10);
    peers.note(pki().leaf.cert.get());
    peers.note(pki().leaf.cert.get());
    auto seen = peers.snapshot(system_clock::time_point{});
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].subject, tls::subject_of(pki().leaf.cert.get()));
    EXPECT_EQ(seen[0].serial, "1001");
    EXPECT_EQ(seen[0].not_after, tls::not_after_of(pki().leaf.cert.get()));
}

// A refused handshake's reason is kept with the certificate, and the next accepted one clears
// it; list() shows every entry without forgetting any (for /status).
TEST(PeerCertificates, KeepsWhyTheLastHandshakeWasRefused) {
    PeerCertificates peers(10);
    peers.note(pki().leaf.cert.get(), "certificate expired");
    auto listed = peers.list();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].refused, "certificate expired");
    peers.note(pki().leaf.cert.get());
    EXPECT_EQ(peers.list()[0].refused, "");
    EXPECT_EQ(peers.list().size(), peers.size());
}

std::vector<fixtures::Issued> leaves(int count) {
    std::vector<fixtures::Issued> out;
    for (int i = 0; i < count; ++i)
        out.push_back(fixtures::make_cert({.subject = "/O=Test/CN=peer-" + std::to_string(i),
                                           .issuer = &pki().issuing,
                                           .serial = 0x2000 + i,
                                           .extensions = fixtures::leaf_extensions()}));
    return out;
}

// A client chooses its subject: a huge one is kept capped (as log lines cap it), so that
// max_peer_certificates of them cannot take megabytes each into metrics labels and /status.
TEST(PeerCertificates, KeepsAHugeSubjectCapped) {
    std::string subject = "/O=Test";
    for (int i = 0; i < 300; ++i) subject += "/OU=" + std::string(60, 'x');
    auto huge = fixtures::make_cert({.subject = subject,
                                     .issuer = &pki().issuing,
                                     .serial = 0x3000,
                                     .extensions = fixtures::leaf_extensions()});
    ASSERT_GT(tls::subject_of(huge.get()).size(), 18000u);
    PeerCertificates peers(10);
    peers.note(huge.get());
    auto seen = peers.snapshot(system_clock::time_point{});
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].subject, log::capped(tls::subject_of(huge.get())));
    EXPECT_LT(seen[0].subject.size(), 300u);
}

// The bound holds per shard (capacity / 16), so the whole never exceeds the capacity, and a
// certificate seen again keeps its place while others come and go.
TEST(PeerCertificates, StaysWithinCapacityAndForgetsTheLeastRecentlySeen) {
    PeerCertificates peers(32);
    auto many = leaves(200);
    for (const auto& leaf : many) {
        peers.note(leaf.get());
        peers.note(pki().leaf.cert.get());  // seen after every other one: never the oldest
        EXPECT_LE(peers.size(), 32u);
    }
    auto seen = peers.snapshot(system_clock::time_point{});
    EXPECT_LE(seen.size(), 32u);
    EXPECT_GE(seen.size(), 16u);
    EXPECT_EQ(seen[0].serial, "1001");  // the most recently seen comes first
    bool last_kept = std::any_of(seen.begin(), seen.end(),
                                 [&](const PeerCertificate& p) { return p.serial == tls::serial_hex_of(many.back().get()); });
    EXPECT_TRUE(last_kept);
}

TEST(PeerCertificates, SnapshotDropsEntriesUnseenSinceTheCutoff) {
    PeerCertificates peers(10);
    peers.note(pki().leaf.cert.get());
    EXPECT_TRUE(peers.snapshot(system_clock::now() + std::chrono::seconds(1)).empty());
    EXPECT_EQ(peers.size(), 0u);
}

TEST(PeerCertificates, NullIsIgnored) {
    PeerCertificates peers(10);
    peers.note(nullptr);
    EXPECT_EQ(peers.size(), 0u);
}

}  // namespace
}  // namespace ocspgate::proxy::expiry
