// libFuzzer target: ocsp::validate_response against a fixed certificate and issuer from the
// in-process test PKI (built once, on the first input), in two modes picked by the first byte.
//
//   0x00-0x7f  raw: the whole input is an OCSPResponse (DER). Every real response starts with
//              0x30, so the seeds of openssl ocsp (make-seeds.sh) are raw inputs. Mutations
//              rarely survive the signature check, so this mode mostly covers the DER parser
//              and the checks before the signature.
//   0x80-0xff  re-signed: the rest is a tbsResponseData (ResponseData DER). The harness signs
//              it with a test PKI key, wraps it as a successful OCSPResponse and validates that,
//              so mutations of the statuses, times, CertIDs, responder ID, nonce and extensions
//              reach the checks after the signature (signer authorisation, CertID match, time
//              window, nonce, critical extensions). Bits of the first byte:
//                0-2  the signer: issuing CA, delegated, delegated without EKU, expired
//                     delegated, root's delegated, pinned (trusted), impostor, leaf
//                3    include the signer's certificate in `certs`
//                4    rewrite every CertID's issuerKeyHash to the issuing CA's (its key is
//                     random per process, so seeds could not carry the right hash)
//                5    flip a bit of the signature
// Seeds of the second kind come from ocsp_response_seeds.cpp (tests/fuzz/README.md).
// Every input is validated without and with a ResponderCache; differing verdicts abort.

#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "ocsp/cert_id.h"
#include "ocsp/responder_cache.h"
#include "ocsp/response.h"
#include "ocsp_resign.h"
#include "support/test_pki.h"

using namespace ocspgate;

namespace {

struct Fixture {
    ocsp::CertId id;
    std::vector<X509*> trusted;
};

const Fixture& fixture() {
    static const Fixture f = [] {
        const fixtures::TestPki& pki = fixtures::pki();
        Fixture built;
        built.id = *ocsp::make_cert_id(pki.leaf.get(), pki.issuing.get());
        built.trusted.push_back(pki.pinned.get());
        return built;
    }();
    return f;
}

bool same_verdict(const ocsp::Validation& a, const ocsp::Validation& b) {
    const auto* fa = std::get_if<ocsp::ResponseFailure>(&a);
    const auto* fb = std::get_if<ocsp::ResponseFailure>(&b);
    if (fa != nullptr || fb != nullptr)
        return fa != nullptr && fb != nullptr && fa->kind == fb->kind && fa->detail == fb->detail;
    const ocsp::Answer& x = std::get<ocsp::Answer>(a);
    const ocsp::Answer& y = std::get<ocsp::Answer>(b);
    return x.status == y.status && x.this_update == y.this_update && x.next_update == y.next_update &&
           x.revocation_time == y.revocation_time && x.revocation_reason == y.revocation_reason &&
           x.signer == y.signer;
}

// validate_response with a ResponderCache must give the uncached verdict. A fresh cache per
// call keeps every input reproducible alone: the first cached call fills it (decoded certs,
// verified delegation), the second takes the shortcuts.
void validate_both_ways(std::span<const std::uint8_t> der, ocsp::ValidationInput in) {
    in.responder_cache = nullptr;
    const ocsp::Validation reference = ocsp::validate_response(der, in);
    ocsp::ResponderCache cache;
    in.responder_cache = &cache;
    for (int pass = 0; pass < 2; ++pass)
        if (!same_verdict(reference, ocsp::validate_response(der, in))) std::abort();
}

void validate(std::span<const std::uint8_t> der) {
    const fixtures::TestPki& pki = fixtures::pki();
    static const std::uint8_t nonce[] = {1, 2, 3, 4, 5, 6, 7, 8};

    ocsp::ValidationInput in;
    in.cert = pki.leaf.get();
    in.issuer = pki.issuing.get();
    in.trusted_responders = fixture().trusted;
    in.id = fixture().id;
    in.now = fixtures::at(fixtures::test_now);
    in.clock_skew = std::chrono::seconds(300);
    in.max_age = std::chrono::seconds(3600);
    validate_both_ways(der, in);
    in.expected_nonce = nonce;  // the nonce checks are a separate path
    validate_both_ways(der, in);
}

const fixtures::Issued& signer_for(std::uint8_t mode) {
    const fixtures::TestPki& pki = fixtures::pki();
    const fixtures::Issued* signers[] = {&pki.issuing,           &pki.delegated,      &pki.delegated_noeku,
                                         &pki.delegated_expired, &pki.root_delegated, &pki.pinned,
                                         &pki.impostor,          &pki.leaf};
    return *signers[mode & 7];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    if (size == 0 || data[0] < 0x80) {
        validate(input);
        return 0;
    }
    const std::uint8_t mode = data[0];
    fuzz::ResignOptions options;
    options.signer = &signer_for(mode);
    options.include_certificate = (mode & 0x08) != 0;
    options.fix_issuer_key_hash = (mode & 0x10) != 0 ? fixtures::pki().issuing.get() : nullptr;
    options.corrupt_signature = (mode & 0x20) != 0;
    validate(fuzz::resign_response(input.subspan(1), options));
    return 0;
}
