#include "ocsp/cert_id.h"

#include <gtest/gtest.h>

#include <unordered_set>

#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using fixtures::pki;

CertId id_of(const fixtures::Issued& cert, const EVP_MD* md = EVP_sha1()) {
    return make_cert_id(cert.get(), pki().issuing.get(), md).value();
}

TEST(CertIdTest, Sha1IsTheDefaultAlgorithm) {
    const CertId id = id_of(pki().leaf);
    EXPECT_EQ(id.hash_nid, NID_sha1);
    EXPECT_EQ(id.issuer_name_hash.size(), 20u);
    EXPECT_EQ(id.issuer_key_hash.size(), 20u);
}

TEST(CertIdTest, SerialIsTheIntegersContentOctets) {
    EXPECT_EQ(id_of(pki().leaf).serial, std::string("\x10\x01", 2));
}

TEST(CertIdTest, SerialWithHighBitKeepsItsLeadingZero) {
    // 0x8001 is positive, so DER writes it as 00 80 01; that is part of its identity.
    const auto cert = fixtures::make_cert({"/CN=high bit", &pki().issuing, 0x8001, {}});
    EXPECT_EQ(id_of(cert).serial, std::string("\x00\x80\x01", 3));
}

TEST(CertIdTest, MatchesOpenSslsCertIdFields) {
    tls::OcspCertIdPtr theirs(OCSP_cert_to_id(EVP_sha1(), pki().leaf.get(), pki().issuing.get()));
    EXPECT_EQ(from_openssl(theirs.get()), id_of(pki().leaf));
}

TEST(CertIdTest, Sha256DiffersFromSha1) {
    const CertId sha256 = id_of(pki().leaf, EVP_sha256());
    EXPECT_EQ(sha256.hash_nid, NID_sha256);
    EXPECT_EQ(sha256.issuer_key_hash.size(), 32u);
    EXPECT_NE(sha256, id_of(pki().leaf));
}

TEST(CertIdTest, SameCertificateGivesEqualIdsAndHashes) {
    EXPECT_EQ(id_of(pki().leaf), id_of(pki().leaf));
    EXPECT_EQ(std::hash<CertId>{}(id_of(pki().leaf)), std::hash<CertId>{}(id_of(pki().leaf)));
}

TEST(CertIdTest, OtherSerialGivesOtherId) {
    EXPECT_NE(id_of(pki().leaf), id_of(pki().other_leaf));
}

TEST(CertIdTest, SameSerialUnderOtherIssuerGivesOtherId) {
    const CertId under_root = make_cert_id(pki().leaf.get(), pki().root.get()).value();
    EXPECT_EQ(under_root.serial, id_of(pki().leaf).serial);
    EXPECT_NE(under_root, id_of(pki().leaf));
}

TEST(CertIdTest, WorksAsUnorderedSetKey) {
    std::unordered_set<CertId> ids{id_of(pki().leaf), id_of(pki().other_leaf),
                                   id_of(pki().leaf, EVP_sha256()), id_of(pki().leaf)};
    EXPECT_EQ(ids.size(), 3u);
    EXPECT_TRUE(ids.contains(id_of(pki().other_leaf)));
}

TEST(CertIdTest, NullCertificateIsInvalidArgument) {
    const auto id = make_cert_id(nullptr, pki().issuing.get());
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.error().code, Errc::invalid_argument);
}

TEST(CertIdTest, SerialHexIsUpperCaseLikeOpensslCa) {
    const auto cert = fixtures::make_cert({"/CN=hex", &pki().issuing, 0xabcdef, {}});
    EXPECT_EQ(serial_hex(cert.get()), "ABCDEF");
    EXPECT_EQ(serial_hex(pki().leaf.get()), "1001");
}

}  // namespace
}  // namespace ocspgate::ocsp
