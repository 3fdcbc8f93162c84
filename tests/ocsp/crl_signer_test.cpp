#include "ocsp/crl_signer.h"

#include <gtest/gtest.h>

#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using fixtures::at;
using fixtures::one_day;
using fixtures::pki;
using fixtures::test_now;

std::variant<tls::X509StackPtr, CrlFailure> validate(X509* signer, X509* anchor, std::vector<X509*> untrusted = {},
                                                     std::time_t now = test_now) {
    return validate_crl_signer_path(CrlSignerPathInput{signer, anchor, untrusted, at(now)});
}

std::string failure_of(const std::variant<tls::X509StackPtr, CrlFailure>& v) {
    if (!std::holds_alternative<CrlFailure>(v)) {
        ADD_FAILURE() << "the path validated";
        return {};
    }
    EXPECT_EQ(std::get<CrlFailure>(v).kind, CrlError::signer_unverified);
    return std::get<CrlFailure>(v).detail;
}

TEST(CrlSignerPathTest, SignerCertifiedByTheAnchorValidatesToIt) {
    auto v = validate(pki().crl_signer.get(), pki().root.get());
    ASSERT_TRUE(std::holds_alternative<tls::X509StackPtr>(v)) << failure_of(v);
    STACK_OF(X509)* path = std::get<tls::X509StackPtr>(v).get();
    ASSERT_EQ(sk_X509_num(path), 2);
    EXPECT_EQ(X509_cmp(sk_X509_value(path, 0), pki().crl_signer.get()), 0);
    EXPECT_EQ(X509_cmp(sk_X509_value(path, 1), pki().root.get()), 0);
}

TEST(CrlSignerPathTest, SignerOfAnotherAnchorDoesNotValidate) {
    auto detail = failure_of(validate(pki().crl_signer.get(), pki().pinned.get()));
    EXPECT_NE(detail.find("does not validate to the certificate's trust anchor"), std::string::npos) << detail;
}

TEST(CrlSignerPathTest, SelfSignedSignerDoesNotValidate) {
    failure_of(validate(pki().impostor.get(), pki().root.get()));
}

TEST(CrlSignerPathTest, ExpiredSignerDoesNotValidate) {
    failure_of(validate(pki().crl_signer.get(), pki().root.get(), {}, test_now + 400 * one_day));
}

TEST(CrlSignerPathTest, UntrustedIntermediateCompletesThePath) {
    const auto signer = fixtures::make_cert({"/O=Test/CN=CRL signer under issuing", &pki().issuing, 0x6201,
                                             {{NID_key_usage, "critical,cRLSign"}}});
    failure_of(validate(signer.get(), pki().root.get()));
    auto v = validate(signer.get(), pki().root.get(), {pki().issuing.get()});
    ASSERT_TRUE(std::holds_alternative<tls::X509StackPtr>(v)) << failure_of(v);
    EXPECT_EQ(sk_X509_num(std::get<tls::X509StackPtr>(v).get()), 3);
}

TEST(CrlSignerPathTest, UntrustedCertificatesAreNeverAnchors) {
    failure_of(validate(pki().crl_signer.get(), pki().pinned.get(), {pki().root.get()}));
}

TEST(CrlSignerPathTest, NoAnchorIsAFailure) {
    EXPECT_EQ(failure_of(validate(pki().crl_signer.get(), nullptr)),
              "no trust anchor to validate a separate CRL signer against");
}

}  // namespace
}  // namespace ocspgate::ocsp
