// libFuzzer target: ocsp::SignedCrl::read (DER or PEM, split into a decoded header and an
// entry index) on arbitrary bytes, checked and looked up; it must never accept what OpenSSL's
// whole decoder refuses. Then whatever OpenSSL decodes is re-signed by the test PKI's issuing
// CA (and, for an input whose first byte is odd, given that CA's name), so mutations get past
// the issuer and signature checks into the scope, partition, reason, delta, number and
// freshness code, and judged (judge_certificate) together with a fixed CRL of the same CA,
// for several certificates, with deltas required and not. An input whose second byte is odd
// is signed by the PKI's separate CRL signer instead, and judged with that signer configured
// (and the root's CRL held), so the signer path and its own revocation check run too. Aborts
// when the order of the CRLs changes the answer, when judging the same input twice differs,
// or when the entry index and OpenSSL's decoded entries disagree about whether a certificate
// is listed.

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
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

std::shared_ptr<const ocsp::SignedCrl> shared(tls::X509CrlPtr crl) {
    auto read = ocsp::SignedCrl::of(crl.get());
    if (!read) std::abort();  // the fixed CRLs are well formed
    return std::move(read).value();
}

// The CRL as OpenSSL decodes it whole (PEM or DER), the reference the split reader must agree
// with. Like SignedCrl::read, PEM may be indented on its first line.
tls::X509CrlPtr decode_whole(const std::uint8_t* data, std::size_t size) {
    std::size_t space = 0;
    while (space < size && std::isspace(data[space]) != 0) ++space;
    tls::BioPtr bio(BIO_new_mem_buf(data + space, static_cast<int>(size - space)));
    tls::X509CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (crl) return crl;
    const unsigned char* p = data;
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(size)));
    ERR_clear_error();
    return crl;
}

// Whether each reader finds `cert`'s serial listed: OpenSSL's decoded entries and the index;
// and every listing the index finds decodes as OpenSSL decodes an entry.
void listings_agree(X509_CRL* whole, const ocsp::SignedCrl& split, X509* cert) {
    X509_REVOKED* entry = nullptr;
    const bool listed = X509_CRL_get0_by_serial(whole, &entry, X509_get0_serialNumber(cert)) > 0;
    const auto found = split.entries().find(X509_get0_serialNumber(cert));
    if (listed != !found.empty()) std::abort();
    for (auto der : found) {
        const unsigned char* p = der.data();
        tls::X509RevokedPtr decoded(d2i_X509_REVOKED(nullptr, &p, static_cast<long>(der.size())));
        if (!decoded || p != der.data() + der.size()) std::abort();
    }
    ERR_clear_error();
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
    // The split reader on the raw bytes: header, entry index, signature over the pieces.
    auto split = ocsp::SignedCrl::read(std::span<const std::uint8_t>(data, size));
    if (split) {
        ocsp::CrlCheckInput in;
        in.crl = split->get();
        in.issuer = pki.issuing.get();
        in.now = fixtures::at(fixtures::test_now);
        in.clock_skew = std::chrono::seconds(300);
        (void)ocsp::check_crl(in, pki.leaf.get());
        // lookup() alone skips verification, so the entry lookup runs on every CRL read.
        (void)ocsp::lookup(**split, pki.leaf.get());
    }
    auto crl = decode_whole(data, size);
    if (split && !crl) std::abort();  // the split reader is never looser than OpenSSL's decoder
    if (!crl) return 0;
    if (split)
        for (X509* cert : {pki.leaf.get(), pki.other_leaf.get(), pki.issuing.get()}) listings_agree(crl.get(), **split, cert);

    if ((data[0] & 1) != 0) X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(pki.issuing.get()));
    const bool by_signer = size > 1 && (data[1] & 1) != 0;
    EVP_PKEY* key = by_signer ? pki.crl_signer.key.get() : pki.issuing.key.get();
    if (X509_CRL_sign(crl.get(), key, EVP_sha256()) <= 0) return 0;
    auto resigned = ocsp::SignedCrl::of(crl.get());
    if (!resigned) return 0;  // stricter than OpenSSL about entries (crl_entries.h)
    for (X509* cert : {pki.leaf.get(), pki.other_leaf.get(), pki.issuing.get()}) listings_agree(crl.get(), **resigned, cert);
    const ocsp::HeldCrl fuzzed{std::move(resigned).value(), "fuzzed"};
    judge_both_orders(fuzzed, pki.leaf.get(), pki.issuing.get(), by_signer);
    judge_both_orders(fuzzed, pki.other_leaf.get(), pki.issuing.get(), by_signer);
    judge_both_orders(fuzzed, pki.issuing.get(), pki.root.get(), by_signer);
    return 0;
}
