// libFuzzer target: ocsp::parse_crl (DER or PEM) on arbitrary bytes; then whatever parsed is
// re-signed by the test PKI's issuing CA (and, for an input whose first byte is odd, given
// that CA's name), so mutations get past the issuer and signature checks into the scope,
// partition, reason, delta, number and freshness code, and judged (judge_certificate)
// together with a fixed CRL of the same CA, for several certificates, with deltas required
// and not. An input whose second byte is odd is signed by the PKI's separate CRL signer
// instead, and judged with that signer configured (and the root's CRL held), so the signer
// path and its own revocation check run too. Aborts when the order of the CRLs changes the
// answer, or when judging the same input twice differs.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "ocsp/crl.h"
#include "ocsp/crl_judge.h"
#include "support/test_pki.h"

using namespace ocspgate;

namespace {

std::shared_ptr<X509_CRL> shared(tls::X509CrlPtr crl) {
    return std::shared_ptr<X509_CRL>(crl.release(), X509_CRL_free);
}

// A current, complete CRL of the issuing CA listing other_leaf, numbered 5.
const ocsp::HeldCrl& fixed_crl() {
    static const ocsp::HeldCrl held = [] {
        fixtures::CrlSpec spec;
        spec.signer = &fixtures::pki().issuing;
        spec.number = 5;
        spec.revoked.push_back(fixtures::RevokedSpec{fixtures::pki().other_leaf.get(), fixtures::test_now - 3600, 1});
        return ocsp::HeldCrl{shared(fixtures::make_crl(spec)), "fixed"};
    }();
    return held;
}

// A current CRL of the root listing nothing: the separate CRL signer's own status.
const ocsp::HeldCrl& roots_crl() {
    static const ocsp::HeldCrl held = [] {
        fixtures::CrlSpec spec;
        spec.signer = &fixtures::pki().root;
        spec.number = 5;
        return ocsp::HeldCrl{shared(fixtures::make_crl(spec)), "root"};
    }();
    return held;
}

void judge_both_orders(const ocsp::HeldCrl& fuzzed, X509* cert, X509* issuer, bool by_signer) {
    X509* signers[] = {fixtures::pki().crl_signer.get()};
    for (bool delta_required : {true, false}) {
        ocsp::CrlJudgeInput in{cert, issuer, fixtures::at(fixtures::test_now), std::chrono::seconds(300)};
        in.delta_required = delta_required;
        if (by_signer) {
            in.signers = signers;
            in.anchor = fixtures::pki().root.get();
        }
        std::vector<ocsp::HeldCrl> one{fuzzed, fixed_crl(), roots_crl()}, other{roots_crl(), fixed_crl(), fuzzed};
        auto a = ocsp::judge_certificate(one, in);
        auto b = ocsp::judge_certificate(other, in);
        auto again = ocsp::judge_certificate(one, in);
        if (a.kind != b.kind || a.source != b.source || a.kind != again.kind) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fixtures::TestPki& pki = fixtures::pki();
    auto crl = ocsp::parse_crl(std::span<const std::uint8_t>(data, size));
    if (!crl) return 0;

    ocsp::CrlCheckInput in;
    in.crl = crl->get();
    in.issuer = pki.issuing.get();
    in.now = fixtures::at(fixtures::test_now);
    in.clock_skew = std::chrono::seconds(300);
    (void)ocsp::check_crl(in, pki.leaf.get());
    // lookup() alone skips verification, so the revoked-entry walk runs on every parsed CRL.
    (void)ocsp::lookup(crl->get(), pki.leaf.get());

    if ((data[0] & 1) != 0) X509_CRL_set_issuer_name(crl->get(), X509_get_subject_name(pki.issuing.get()));
    const bool by_signer = size > 1 && (data[1] & 1) != 0;
    EVP_PKEY* key = by_signer ? pki.crl_signer.key.get() : pki.issuing.key.get();
    if (X509_CRL_sign(crl->get(), key, EVP_sha256()) <= 0) return 0;
    const ocsp::HeldCrl fuzzed{shared(std::move(crl).value()), "fuzzed"};
    judge_both_orders(fuzzed, pki.leaf.get(), pki.issuing.get(), by_signer);
    judge_both_orders(fuzzed, pki.other_leaf.get(), pki.issuing.get(), by_signer);
    judge_both_orders(fuzzed, pki.issuing.get(), pki.root.get(), by_signer);
    return 0;
}
