// libFuzzer target: ocsp::validate_response on arbitrary bytes, against a fixed certificate
// and issuer from the in-process test PKI (built once, on the first input).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ocsp/cert_id.h"
#include "ocsp/response.h"
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fixtures::TestPki& pki = fixtures::pki();
    const Fixture& f = fixture();
    static const std::uint8_t nonce[] = {1, 2, 3, 4, 5, 6, 7, 8};

    ocsp::ValidationInput in;
    in.cert = pki.leaf.get();
    in.issuer = pki.issuing.get();
    in.trusted_responders = f.trusted;
    in.id = f.id;
    in.now = fixtures::at(fixtures::test_now);
    in.clock_skew = std::chrono::seconds(300);
    in.max_age = std::chrono::seconds(3600);
    const std::span<const std::uint8_t> der(data, size);
    (void)ocsp::validate_response(der, in);
    in.expected_nonce = nonce;  // the nonce checks are a separate path
    (void)ocsp::validate_response(der, in);
    return 0;
}
