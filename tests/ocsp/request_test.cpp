#include "ocsp/request.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using fixtures::pki;

Request request_for_leaf(bool with_nonce) {
    return build_request(pki().leaf.get(), pki().issuing.get(), with_nonce).value();
}

tls::OcspRequestPtr parse(const std::vector<std::uint8_t>& der) {
    const unsigned char* p = der.data();
    tls::OcspRequestPtr req(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size())));
    EXPECT_EQ(p, der.data() + der.size());
    return req;
}

// The nonce extension's extnValue, which RFC 8954 says is an OCTET STRING holding the value.
std::vector<std::uint8_t> nonce_extension_value(OCSP_REQUEST* req) {
    const int index = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
    if (index < 0) return {};
    const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req, index));
    const unsigned char* p = ASN1_STRING_get0_data(value);
    tls::Asn1OctetStringPtr inner(d2i_ASN1_OCTET_STRING(nullptr, &p, ASN1_STRING_length(value)));
    if (!inner) return {};
    const unsigned char* bytes = ASN1_STRING_get0_data(inner.get());
    return {bytes, bytes + ASN1_STRING_length(inner.get())};
}

std::string url_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<std::uint8_t> base64_decode(const std::string& b64) {
    std::vector<std::uint8_t> out(b64.size());
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(b64.data()),
                                  static_cast<int>(b64.size()));
    EXPECT_GE(n, 0);
    out.resize(static_cast<std::size_t>(n) - std::count(b64.end() - 2, b64.end(), '='));
    return out;
}

TEST(RequestTest, HasOneSha1CertIdForTheCertificate) {
    const Request request = request_for_leaf(false);
    auto req = parse(request.der);
    ASSERT_TRUE(req);
    ASSERT_EQ(OCSP_request_onereq_count(req.get()), 1);
    const CertId sent = from_openssl(OCSP_onereq_get0_id(OCSP_request_onereq_get0(req.get(), 0)));
    EXPECT_EQ(sent, make_cert_id(pki().leaf.get(), pki().issuing.get()).value());
    EXPECT_EQ(sent, request.id);
    EXPECT_EQ(sent.hash_nid, NID_sha1);
}

TEST(RequestTest, IsUnsigned) {
    auto req = parse(request_for_leaf(false).der);
    ASSERT_TRUE(req);
    EXPECT_EQ(OCSP_request_is_signed(req.get()), 0);
}

TEST(RequestTest, WithoutNonceHasNoNonceExtension) {
    const Request request = request_for_leaf(false);
    EXPECT_TRUE(request.nonce.empty());
    auto req = parse(request.der);
    EXPECT_LT(OCSP_REQUEST_get_ext_by_NID(req.get(), NID_id_pkix_OCSP_Nonce, -1), 0);
}

TEST(RequestTest, NonceIs32OctetsWrappedInAnOctetString) {
    const Request request = request_for_leaf(true);
    EXPECT_EQ(request.nonce.size(), 32u);
    auto req = parse(request.der);
    EXPECT_EQ(nonce_extension_value(req.get()), request.nonce);
}

TEST(RequestTest, NoncesDifferBetweenRequests) {
    EXPECT_NE(request_for_leaf(true).nonce, request_for_leaf(true).nonce);
}

TEST(RequestTest, NullIssuerIsInvalidArgument) {
    const auto request = build_request(pki().leaf.get(), nullptr, false);
    ASSERT_FALSE(request.ok());
    EXPECT_EQ(request.error().code, Errc::invalid_argument);
}

TEST(GetPathTest, EmptyBasePathGivesRootPath) {
    const auto path = get_path(request_for_leaf(false), "");
    ASSERT_TRUE(path);
    EXPECT_EQ(path->front(), '/');
    EXPECT_EQ(path->find('/', 1), std::string::npos);
}

TEST(GetPathTest, BasePathIsJoinedWithOneSlash) {
    const Request request = request_for_leaf(false);
    EXPECT_EQ(get_path(request, "/ocsp"), get_path(request, "/ocsp/"));
    EXPECT_EQ(get_path(request, "/ocsp")->rfind("/ocsp/", 0), 0u);
}

TEST(GetPathTest, EncodedRequestHasNoReservedCharacters) {
    const auto path = get_path(request_for_leaf(false), "/");
    ASSERT_TRUE(path);
    EXPECT_EQ(path->find_first_of("+=/", 1), std::string::npos) << *path;
}

TEST(GetPathTest, DecodesBackToTheDer) {
    const Request request = request_for_leaf(false);
    const auto path = get_path(request, "/ocsp");
    ASSERT_TRUE(path);
    EXPECT_EQ(base64_decode(url_decode(path->substr(6))), request.der);
}

TEST(GetPathTest, RequestWithNonceStillFitsUnderARootPath) {
    EXPECT_TRUE(get_path(request_for_leaf(true), "/"));
}

TEST(GetPathTest, PathOf255BytesIsAcceptedAnd256IsNullopt) {
    const Request request = request_for_leaf(false);
    const std::size_t encoded = get_path(request, "/")->size() - 1;
    // "/" + base + "/" + encoded: 2 + base + encoded bytes.
    const std::string base = "/" + std::string(255 - 2 - encoded, 'a');
    ASSERT_TRUE(get_path(request, base));
    EXPECT_EQ(get_path(request, base)->size(), 255u);
    EXPECT_FALSE(get_path(request, base + "a"));
}

}  // namespace
}  // namespace ocspgate::ocsp
