// libFuzzer target: ocsp::parse_crl (DER or PEM) on arbitrary bytes, then check_crl of the
// test PKI's leaf against whatever parsed, with the issuer built once on the first input.

#include <cstddef>
#include <cstdint>
#include <span>

#include "ocsp/crl.h"
#include "support/test_pki.h"

using namespace ocspgate;

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
    return 0;
}
