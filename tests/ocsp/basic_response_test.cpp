#include "ocsp/basic_response.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <vector>

#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using fixtures::pki;
using fixtures::ResponseSpec;
using fixtures::SingleSpec;
using Bytes = std::vector<std::uint8_t>;

Bytes delegated_response(bool include_certs = true) {
    ResponseSpec spec;
    spec.singles.push_back(SingleSpec{.cert = pki().leaf.get(), .issuer = pki().issuing.get()});
    spec.signer = &pki().delegated;
    spec.include_certs = include_certs;
    return fixtures::make_response(spec);
}

tls::OcspResponsePtr parsed(const Bytes& der) {
    const unsigned char* p = der.data();
    return tls::OcspResponsePtr(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
}

Bytes der_of(OCSP_BASICRESP* basic) {
    Bytes out(static_cast<std::size_t>(i2d_OCSP_BASICRESP(basic, nullptr)));
    unsigned char* p = out.data();
    i2d_OCSP_BASICRESP(basic, &p);
    return out;
}

Bytes der_of(X509* cert) {
    Bytes out(static_cast<std::size_t>(i2d_X509(cert, nullptr)));
    unsigned char* p = out.data();
    i2d_X509(cert, &p);
    return out;
}

TEST(BasicResponseTest, LocatesTheCertsFieldAtTheEndOfTheResponse) {
    const Bytes der = delegated_response();
    const auto layout = locate_basic_certs(der);
    ASSERT_TRUE(layout);
    EXPECT_EQ(layout->certs_field.data() + layout->certs_field.size(), der.data() + der.size());
    EXPECT_EQ(layout->before_certs.data() + layout->before_certs.size(), layout->certs_field.data());
    EXPECT_EQ(layout->certs_field[0], 0xA0);  // [0] EXPLICIT, constructed
    // [0] { SEQUENCE OF { the responder's certificate } }: the certificate's DER is its tail.
    const Bytes cert = der_of(pki().delegated.get());
    ASSERT_GT(layout->certs_field.size(), cert.size());
    EXPECT_TRUE(std::equal(cert.begin(), cert.end(), layout->certs_field.end() - static_cast<std::ptrdiff_t>(cert.size())));
}

TEST(BasicResponseTest, NothingIsLocatedWithoutCerts) {
    EXPECT_FALSE(locate_basic_certs(delegated_response(false)));
}

TEST(BasicResponseTest, NothingIsLocatedInAStatusOnlyResponse) {
    EXPECT_FALSE(locate_basic_certs(fixtures::make_status_response(OCSP_RESPONSE_STATUS_TRYLATER)));
}

TEST(BasicResponseTest, NothingIsLocatedInTruncatedOrExtendedResponses) {
    Bytes der = delegated_response();
    EXPECT_FALSE(locate_basic_certs(std::span(der).first(der.size() - 1)));
    der.push_back(0);
    EXPECT_FALSE(locate_basic_certs(der));
    EXPECT_FALSE(locate_basic_certs({}));
}

// 30 80 ... 00 00: BER's indefinite length, which the shortcut leaves to the full decoder.
TEST(BasicResponseTest, NothingIsLocatedInAnIndefiniteLengthResponse) {
    const Bytes der = {0x30, 0x80, 0x0A, 0x01, 0x00, 0x00, 0x00};
    EXPECT_FALSE(locate_basic_certs(der));
}

// A responseType other than id-pkix-ocsp-basic (its last arc changed to 2) is not located:
// OCSP_response_get1_basic refuses it, and so must the shortcut.
TEST(BasicResponseTest, NothingIsLocatedForAnotherResponseType) {
    Bytes der = delegated_response();
    const Bytes basic_oid = {0x06, 0x09, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};
    auto at = std::search(der.begin(), der.end(), basic_oid.begin(), basic_oid.end());
    ASSERT_NE(at, der.end());
    at[10] = 0x02;
    EXPECT_FALSE(locate_basic_certs(der));
}

TEST(BasicResponseTest, WithoutCacheItIsTheFullDecoder) {
    const Bytes der = delegated_response();
    auto response = parsed(der);
    tls::OcspBasicRespPtr full(OCSP_response_get1_basic(response.get()));
    tls::OcspBasicRespPtr basic = decode_basic(response.get(), der, nullptr);
    ASSERT_TRUE(basic);
    EXPECT_EQ(der_of(basic.get()), der_of(full.get()));
}

TEST(BasicResponseTest, CachedCertsGiveTheSameResponseWithTheSameCertificateObjects) {
    const Bytes der = delegated_response();
    auto response = parsed(der);
    ResponderCache cache;
    tls::OcspBasicRespPtr first = decode_basic(response.get(), der, &cache);
    ASSERT_TRUE(first);
    EXPECT_EQ(cache.certs_entries(), 1u);
    tls::OcspBasicRespPtr second = decode_basic(response.get(), der, &cache);
    ASSERT_TRUE(second);
    EXPECT_EQ(der_of(second.get()), der_of(first.get()));
    EXPECT_EQ(der_of(second.get()), std::vector(der.end() - static_cast<std::ptrdiff_t>(der_of(first.get()).size()), der.end()));
    ASSERT_EQ(sk_X509_num(OCSP_resp_get0_certs(second.get())), 1);
    EXPECT_EQ(sk_X509_value(OCSP_resp_get0_certs(second.get()), 0), sk_X509_value(OCSP_resp_get0_certs(first.get()), 0));
    EXPECT_EQ(ERR_peek_error(), 0u);
}

// Responses of one responder differ in tbsResponseData and signature, not in certs.
TEST(BasicResponseTest, AnotherResponseWithTheSameCertsUsesTheCache) {
    ResponderCache cache;
    const Bytes first = delegated_response();
    (void)decode_basic(parsed(first).get(), first, &cache);
    ResponseSpec spec;
    spec.singles.push_back(SingleSpec{.cert = pki().other_leaf.get(), .issuer = pki().issuing.get()});
    spec.signer = &pki().delegated;
    const Bytes second = fixtures::make_response(spec);
    auto response = parsed(second);
    tls::OcspBasicRespPtr full(OCSP_response_get1_basic(response.get()));
    tls::OcspBasicRespPtr basic = decode_basic(response.get(), second, &cache);
    ASSERT_TRUE(basic);
    EXPECT_EQ(der_of(basic.get()), der_of(full.get()));
    EXPECT_EQ(cache.certs_entries(), 1u);
}

}  // namespace
}  // namespace ocspgate::ocsp
