#include "ocsp/aia.h"

#include <gtest/gtest.h>

#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using fixtures::pki;
using Strings = std::vector<std::string>;

fixtures::Issued leaf_with(std::vector<fixtures::ExtensionSpec> extensions) {
    return fixtures::make_cert({"/CN=aia", &pki().issuing, 0x7001, std::move(extensions)});
}

TEST(AiaTest, OcspUrlsAreListedInOrder) {
    const auto cert = leaf_with(
        {{NID_info_access, "OCSP;URI:http://a.example/,OCSP;URI:http://b.example:8080/x"}});
    EXPECT_EQ(ocsp_urls(cert.get()), (Strings{"http://a.example/", "http://b.example:8080/x"}));
}

TEST(AiaTest, CaIssuersIsNotAnOcspUrl) {
    const auto cert = leaf_with(
        {{NID_info_access, "caIssuers;URI:http://ca.example/ca.crt,OCSP;URI:http://o.example/"}});
    EXPECT_EQ(ocsp_urls(cert.get()), (Strings{"http://o.example/"}));
}

TEST(AiaTest, NoAiaExtensionGivesNoOcspUrls) {
    EXPECT_TRUE(ocsp_urls(pki().leaf.get()).empty());
}

TEST(AiaTest, CrlUrlsAreListedInOrder) {
    const auto cert = leaf_with(
        {{NID_crl_distribution_points, "URI:http://c.example/1.crl,URI:http://d.example/2.crl"}});
    EXPECT_EQ(crl_urls(cert.get()), (Strings{"http://c.example/1.crl", "http://d.example/2.crl"}));
}

TEST(AiaTest, NonUriCrlDistributionPointNamesAreSkipped) {
    const auto cert =
        leaf_with({{NID_crl_distribution_points, "DNS:crl.example,URI:http://c.example/1.crl"}});
    EXPECT_EQ(crl_urls(cert.get()), (Strings{"http://c.example/1.crl"}));
}

TEST(AiaTest, NoCrlDistributionPointsGivesNoCrlUrls) {
    EXPECT_TRUE(crl_urls(pki().leaf.get()).empty());
}

TEST(AiaTest, NullCertificateGivesNoUrls) {
    EXPECT_TRUE(ocsp_urls(nullptr).empty());
    EXPECT_TRUE(crl_urls(nullptr).empty());
}

}  // namespace
}  // namespace ocspgate::ocsp
