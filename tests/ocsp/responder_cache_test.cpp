// ResponderCache, and validate_response() with one: every verdict must be the one the
// uncached path gives for the same bytes, whatever the cache holds.
#include "ocsp/responder_cache.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <functional>
#include <string>
#include <vector>

#include "ocsp/response.h"
#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;
using fixtures::at;
using fixtures::one_day;
using fixtures::pki;
using fixtures::ResponseSpec;
using fixtures::SingleSpec;
using fixtures::test_now;
using Bytes = std::vector<std::uint8_t>;

ResponseSpec leaf_response(const fixtures::Issued& signer) {
    ResponseSpec spec;
    spec.singles.push_back(SingleSpec{.cert = pki().leaf.get(), .issuer = pki().issuing.get()});
    spec.signer = &signer;
    return spec;
}

// The same verdict: equal failures (kind and detail) or equal answers.
::testing::AssertionResult same_verdict(const Validation& a, const Validation& b) {
    const auto* fa = std::get_if<ResponseFailure>(&a);
    const auto* fb = std::get_if<ResponseFailure>(&b);
    if (fa != nullptr && fb != nullptr) {
        if (fa->kind == fb->kind && fa->detail == fb->detail) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << to_string(fa->kind) << " (" << fa->detail << ") vs "
                                             << to_string(fb->kind) << " (" << fb->detail << ")";
    }
    if (fa != nullptr || fb != nullptr)
        return ::testing::AssertionFailure() << "one accepted, the other rejected: "
                                             << to_string((fa != nullptr ? fa : fb)->kind) << " "
                                             << (fa != nullptr ? fa : fb)->detail;
    const Answer& x = std::get<Answer>(a);
    const Answer& y = std::get<Answer>(b);
    if (x.status == y.status && x.this_update == y.this_update && x.next_update == y.next_update &&
        x.revocation_time == y.revocation_time && x.revocation_reason == y.revocation_reason && x.signer == y.signer)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "answers differ: " << to_string(x.status) << " vs " << to_string(y.status);
}

class ResponderCacheTest : public ::testing::Test {
protected:
    ResponderCacheTest() {
        in_.cert = pki().leaf.get();
        in_.issuer = pki().issuing.get();
        in_.id = make_cert_id(in_.cert, in_.issuer).value();
        in_.now = at(test_now);
        in_.clock_skew = 300s;
        in_.max_age = 3600s;
    }

    Validation uncached(const Bytes& der) {
        ValidationInput in = in_;
        in.responder_cache = nullptr;
        return validate_response(der, in);
    }
    Validation cached(const Bytes& der) {
        ValidationInput in = in_;
        in.responder_cache = &cache_;
        return validate_response(der, in);
    }

    // `der` validated without a cache, then twice with the cache (filling it, then using
    // it), after `primers` (legitimate responses sharing parts of `der`) have filled it.
    void expect_same_verdicts(const Bytes& der, const std::vector<Bytes>& primers = {}) {
        for (const Bytes& primer : primers) (void)cached(primer);
        const Validation reference = uncached(der);
        EXPECT_TRUE(same_verdict(reference, cached(der))) << "first cached call";
        EXPECT_TRUE(same_verdict(reference, cached(der))) << "second cached call";
        EXPECT_EQ(ERR_peek_error(), 0u);
    }

    ValidationInput in_;
    ResponderCache cache_;
};

// --- the cache alone ------------------------------------------------------------------

TEST_F(ResponderCacheTest, CertsAreFoundOnlyForTheExactBytes) {
    tls::X509StackPtr certs(sk_X509_new_null());
    X509_up_ref(pki().delegated.get());
    sk_X509_push(certs.get(), pki().delegated.get());
    const Bytes field = {0xA0, 0x03, 0x30, 0x01, 0x00};  // the bytes are only a key here
    cache_.store_certs(field, certs.get());
    auto found = cache_.find_certs(field);
    ASSERT_TRUE(found);
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ((*found)[0].get(), pki().delegated.get());
    Bytes other = field;
    other.back() = 0x01;
    EXPECT_FALSE(cache_.find_certs(other));
    EXPECT_FALSE(cache_.find_certs(std::span(field).first(4)));
}

TEST_F(ResponderCacheTest, EmptyCertsAreNotStored) {
    tls::X509StackPtr certs(sk_X509_new_null());
    cache_.store_certs(Bytes{0xA0, 0x02, 0x30, 0x00}, certs.get());
    cache_.store_certs(Bytes{0xA0, 0x02, 0x30, 0x00}, nullptr);
    EXPECT_EQ(cache_.certs_entries(), 0u);
}

TEST_F(ResponderCacheTest, CertsEntriesAreBoundedDroppingTheLeastRecentlyUsed) {
    tls::X509StackPtr certs(sk_X509_new_null());
    X509_up_ref(pki().delegated.get());
    sk_X509_push(certs.get(), pki().delegated.get());
    for (std::size_t i = 0; i < ResponderCache::kMaxEntries; ++i)
        cache_.store_certs(Bytes{0xA0, static_cast<std::uint8_t>(i)}, certs.get());
    ASSERT_TRUE(cache_.find_certs(Bytes{0xA0, 0}));  // now the most recently used
    cache_.store_certs(Bytes{0xA0, 0xFF}, certs.get());
    EXPECT_EQ(cache_.certs_entries(), ResponderCache::kMaxEntries);
    EXPECT_TRUE(cache_.find_certs(Bytes{0xA0, 0}));
    EXPECT_FALSE(cache_.find_certs(Bytes{0xA0, 1}));
}

TEST_F(ResponderCacheTest, SignedByIsKnownOnlyForTheSamePairUntilValidUntil) {
    cache_.store_signed_by(pki().delegated.get(), pki().issuing.get(), at(test_now));
    EXPECT_TRUE(cache_.knows_signed_by(pki().delegated.get(), pki().issuing.get(), at(test_now)));
    EXPECT_FALSE(cache_.knows_signed_by(pki().delegated.get(), pki().root.get(), at(test_now)));
    EXPECT_FALSE(cache_.knows_signed_by(pki().delegated_noeku.get(), pki().issuing.get(), at(test_now)));
    EXPECT_FALSE(cache_.knows_signed_by(pki().delegated.get(), pki().issuing.get(), at(test_now + 1)));
    EXPECT_EQ(cache_.signed_by_entries(), 0u);  // the expired entry is gone
}

// --- validate_response with a cache: same verdicts --------------------------------------

TEST_F(ResponderCacheTest, GoodRevokedAndUnknownAreTheSameCached) {
    for (int status : {V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED, V_OCSP_CERTSTATUS_UNKNOWN}) {
        for (const fixtures::Issued* signer : {&pki().issuing, &pki().delegated}) {
            auto spec = leaf_response(*signer);
            spec.singles[0].status = status;
            spec.singles[0].reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
            SCOPED_TRACE(status);
            expect_same_verdicts(fixtures::make_response(spec));
            ASSERT_TRUE(std::holds_alternative<Answer>(cached(fixtures::make_response(spec))));
        }
    }
}

TEST_F(ResponderCacheTest, SecondResponseOfAResponderReusesItsDecodedCertificate) {
    (void)cached(fixtures::make_response(leaf_response(pki().delegated)));
    EXPECT_EQ(cache_.certs_entries(), 1u);
    EXPECT_EQ(cache_.signed_by_entries(), 1u);
    auto spec = leaf_response(pki().delegated);
    spec.singles[0].status = V_OCSP_CERTSTATUS_REVOKED;
    const Validation v = cached(fixtures::make_response(spec));
    ASSERT_TRUE(std::holds_alternative<Answer>(v));
    EXPECT_EQ(std::get<Answer>(v).status, CertStatus::revoked);
    EXPECT_EQ(std::get<Answer>(v).signer, SignerKind::delegated);
    EXPECT_EQ(cache_.certs_entries(), 1u);
}

TEST_F(ResponderCacheTest, WrongSignersAreTheSameCached) {
    for (const fixtures::Issued* signer : {&pki().root, &pki().root_delegated, &pki().pinned, &pki().impostor,
                                           &pki().leaf, &pki().other_leaf}) {
        SCOPED_TRACE(signer->get() == pki().root.get() ? "root" : "other");
        expect_same_verdicts(fixtures::make_response(leaf_response(*signer)));
    }
}

TEST_F(ResponderCacheTest, DelegatedResponderWithoutEkuIsRejectedCached) {
    const Bytes der = fixtures::make_response(leaf_response(pki().delegated_noeku));
    expect_same_verdicts(der);
    EXPECT_EQ(std::get<ResponseFailure>(cached(der)).kind, ResponseError::unauthorized_signer);
}

TEST_F(ResponderCacheTest, DelegatedResponderWithoutDigitalSignatureIsRejectedCached) {
    const Bytes der = fixtures::make_response(leaf_response(pki().delegated_no_ds));
    expect_same_verdicts(der);
    EXPECT_EQ(std::get<ResponseFailure>(cached(der)).kind, ResponseError::unauthorized_signer);
}

TEST_F(ResponderCacheTest, ExpiredResponderIsRejectedEvenWhenItsSignatureWasCachedWhileValid) {
    const Bytes der = fixtures::make_response(leaf_response(pki().delegated_expired));
    ValidationInput earlier = in_;
    earlier.now = at(test_now - 2 * one_day);  // delegated_expired's validity ended a day ago
    earlier.responder_cache = &cache_;
    (void)validate_response(der, earlier);
    ASSERT_EQ(cache_.signed_by_entries(), 1u);
    expect_same_verdicts(der);
    EXPECT_EQ(std::get<ResponseFailure>(cached(der)).kind, ResponseError::unauthorized_signer);
}

// Even an entry that outlived its certificate (it cannot: it is stored until notAfter) only
// stands for the signature: the validity period is checked on every response.
TEST_F(ResponderCacheTest, CachedSignatureDoesNotExtendTheResponderValidity) {
    cache_.store_signed_by(pki().delegated_expired.get(), pki().issuing.get(), at(test_now + 365 * one_day));
    const Bytes der = fixtures::make_response(leaf_response(pki().delegated_expired));
    const Validation v = cached(der);
    ASSERT_TRUE(std::holds_alternative<ResponseFailure>(v));
    EXPECT_EQ(std::get<ResponseFailure>(v).kind, ResponseError::unauthorized_signer);
    EXPECT_NE(std::get<ResponseFailure>(v).detail.find("outside its validity period"), std::string::npos);
    EXPECT_TRUE(same_verdict(uncached(der), v));
}

TEST_F(ResponderCacheTest, TamperedSignatureIsRejectedCached) {
    for (const fixtures::Issued* signer : {&pki().issuing, &pki().delegated}) {
        const Bytes good = fixtures::make_response(leaf_response(*signer));
        auto spec = leaf_response(*signer);
        spec.corrupt_signature = true;
        const Bytes der = fixtures::make_response(spec);
        expect_same_verdicts(der, {good});
        EXPECT_EQ(std::get<ResponseFailure>(cached(der)).kind, ResponseError::bad_signature);
    }
}

TEST_F(ResponderCacheTest, ResponseWithoutCertsIsTheSameCached) {
    auto spec = leaf_response(pki().delegated);
    spec.include_certs = false;
    expect_same_verdicts(fixtures::make_response(spec), {fixtures::make_response(leaf_response(pki().delegated))});
    spec.signer = &pki().issuing;
    expect_same_verdicts(fixtures::make_response(spec), {fixtures::make_response(leaf_response(pki().issuing))});
}

// The last byte of a response with certs is the last byte of its responder certificate's
// signature: the certificate still decodes, but the issuer's signature on it no longer verifies.
TEST_F(ResponderCacheTest, TamperedCertificateSignatureInCertsIsRejectedCached) {
    const Bytes good = fixtures::make_response(leaf_response(pki().delegated));
    Bytes der = good;
    ASSERT_FALSE(der.empty());
    der.back() ^= 0x01;
    expect_same_verdicts(der, {good});
    EXPECT_EQ(std::get<ResponseFailure>(cached(der)).kind, ResponseError::unauthorized_signer);
}

// `der` with its certs field replaced by `cert` (the signature, over tbsResponseData, stays).
Bytes with_certs_replaced(const Bytes& der, X509* cert) {
    const unsigned char* p = der.data();
    tls::OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
    tls::OcspBasicRespPtr basic(OCSP_response_get1_basic(response.get()));
    auto* certs = const_cast<STACK_OF(X509)*>(OCSP_resp_get0_certs(basic.get()));
    X509_free(sk_X509_value(certs, 0));
    X509_up_ref(cert);
    sk_X509_set(certs, 0, cert);
    tls::OcspResponsePtr replaced(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
    Bytes out(static_cast<std::size_t>(i2d_OCSP_RESPONSE(replaced.get(), nullptr)));
    unsigned char* q = out.data();
    i2d_OCSP_RESPONSE(replaced.get(), &q);
    return out;
}

TEST_F(ResponderCacheTest, CertsFieldOfAnotherResponderIsRejectedCached) {
    const Bytes good = fixtures::make_response(leaf_response(pki().delegated));
    const Bytes noeku = fixtures::make_response(leaf_response(pki().delegated_noeku));
    const Bytes der = with_certs_replaced(good, pki().delegated_noeku.get());
    expect_same_verdicts(der, {good, noeku});
    EXPECT_EQ(std::get<ResponseFailure>(cached(der)).kind, ResponseError::unauthorized_signer);
}

// A delegated responder's response carrying the issuing CA's certificate instead of its own:
// the CA's certificate does not match the ResponderID, the response is refused either way.
TEST_F(ResponderCacheTest, CertsFieldOfTheIssuerInADelegatedResponseIsRejectedCached) {
    const Bytes good = fixtures::make_response(leaf_response(pki().delegated));
    const Bytes by_issuer = fixtures::make_response(leaf_response(pki().issuing));
    const Bytes der = with_certs_replaced(good, pki().issuing.get());
    expect_same_verdicts(der, {good, by_issuer});
    EXPECT_EQ(std::get<ResponseFailure>(cached(der)).kind, ResponseError::unauthorized_signer);
}

// Every single-byte change of a delegated response (most break the DER, the signature or the
// certificate) gives the same verdict with a cache holding the untouched response's parts.
TEST_F(ResponderCacheTest, EverySingleByteChangeGivesTheSameVerdictCached) {
    const Bytes good = fixtures::make_response(leaf_response(pki().delegated));
    (void)cached(good);
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (std::uint8_t mask : {0x01, 0x80}) {
            Bytes der = good;
            der[i] ^= mask;
            const Validation reference = uncached(der);
            ASSERT_TRUE(same_verdict(reference, cached(der))) << "byte " << i << " ^ " << int(mask);
            ASSERT_TRUE(same_verdict(reference, cached(der))) << "byte " << i << " ^ " << int(mask) << ", again";
        }
    }
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(ResponderCacheTest, EveryTruncationGivesTheSameVerdictCached) {
    const Bytes good = fixtures::make_response(leaf_response(pki().delegated));
    (void)cached(good);
    for (std::size_t n = 0; n < good.size(); ++n) {
        const Bytes der(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
        ASSERT_TRUE(same_verdict(uncached(der), cached(der))) << "first " << n << " bytes";
    }
}

}  // namespace
}  // namespace ocspgate::ocsp
