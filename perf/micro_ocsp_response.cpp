// Microbenchmarks of validate_response(): the OCSP work of every cold-cache handshake (see
// perf/README.md and the "Cold cache" section of perf/RESULTS.md).
//
// Each benchmark cycles through kDistinct responses about one leaf that differ in their nonce
// (as consecutive responses of a real responder differ), all from the same responder: the
// issuing CA with its certificate embedded (what `openssl ocsp -rsigner ca` sends), a delegated
// OCSPSigning responder with its certificate embedded, and the CA without certificates.
// Only validate_response() is called; argument 1 passes a ResponderCache (as RevocationChecker
// does), argument 0 none, so one run gives the cache's effect as a ratio.
#include <benchmark/benchmark.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

#include "ocsp/cert_id.h"
#include "ocsp/response.h"
#include "tls/ossl.h"
#include "ocsp/responder_cache.h"

namespace {

using namespace ocspgate;
using tls::EvpPkeyPtr;
using tls::X509Ptr;

constexpr std::size_t kDistinct = 16;

struct Issued {
    EvpPkeyPtr key{EVP_EC_gen("P-256")};
    X509Ptr cert{X509_new()};
};

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    tls::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    X509_add_ext(cert, ext.get(), -1);
}

// A certificate for `subject.key` named `cn`, signed by `issuer` (null: self-signed).
void issue(Issued& subject, const char* cn, const Issued* issuer, long serial, const char* eku) {
    X509* cert = subject.cert.get();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert), -86400);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400 * 365);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert;
    X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
    X509_set_pubkey(cert, subject.key.get());
    if (eku != nullptr) {
        add_extension(cert, issuer_cert, NID_key_usage, "critical,digitalSignature");
        add_extension(cert, issuer_cert, NID_ext_key_usage, eku);
    } else {
        add_extension(cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    }
    X509_sign(cert, (issuer != nullptr ? issuer : &subject)->key.get(), EVP_sha256());
}

struct Pki {
    Issued ca, leaf, delegated;
    Pki() {
        issue(ca, "bench CA", nullptr, 1, nullptr);
        issue(leaf, "bench client", &ca, 0x1001, "clientAuth");
        issue(delegated, "bench OCSP responder", &ca, 0x2001, "OCSPSigning");
    }
};

const Pki& pki() {
    static const Pki p;
    return p;
}

std::vector<std::uint8_t> der_of(OCSP_RESPONSE* response) {
    std::vector<std::uint8_t> der(static_cast<std::size_t>(i2d_OCSP_RESPONSE(response, nullptr)));
    unsigned char* out = der.data();
    i2d_OCSP_RESPONSE(response, &out);
    return der;
}

// A good answer about the leaf, echoing `nonce`, signed by `signer`.
std::vector<std::uint8_t> make_response(const Issued& signer, bool with_certs, std::span<const std::uint8_t> nonce) {
    tls::OcspBasicRespPtr basic(OCSP_BASICRESP_new());
    OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), pki().leaf.cert.get(), pki().ca.cert.get());
    tls::Asn1TimePtr this_update(X509_gmtime_adj(nullptr, -60));
    tls::Asn1TimePtr next_update(X509_gmtime_adj(nullptr, 3600));
    OCSP_basic_add1_status(basic.get(), id, V_OCSP_CERTSTATUS_GOOD, 0, nullptr, this_update.get(), next_update.get());
    OCSP_CERTID_free(id);
    tls::Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(value.get(), nonce.data(), static_cast<int>(nonce.size()));
    OCSP_BASICRESP_add1_ext_i2d(basic.get(), NID_id_pkix_OCSP_Nonce, value.get(), 0, 0);
    OCSP_basic_sign(basic.get(), signer.cert.get(), signer.key.get(), EVP_sha256(), nullptr,
                    with_certs ? 0 : OCSP_NOCERTS);
    tls::OcspResponsePtr response(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
    return der_of(response.get());
}

struct Responses {
    std::array<std::array<std::uint8_t, 16>, kDistinct> nonces{};
    std::array<std::vector<std::uint8_t>, kDistinct> der;
    Responses(const Issued& signer, bool with_certs) {
        for (std::size_t i = 0; i < kDistinct; ++i) {
            nonces[i].fill(static_cast<std::uint8_t>(i + 1));
            der[i] = make_response(signer, with_certs, nonces[i]);
        }
    }
};

void run(benchmark::State& state, const Responses& responses) {
    ocsp::ValidationInput in;
    in.cert = pki().leaf.cert.get();
    in.issuer = pki().ca.cert.get();
    in.id = ocsp::make_cert_id(in.cert, in.issuer).value();
    in.now = std::chrono::system_clock::now();
    in.clock_skew = std::chrono::seconds(300);
    in.max_age = std::chrono::seconds(3600);
    ocsp::ResponderCache cache;  // what each RevocationChecker passes
    if (state.range(0) != 0) in.responder_cache = &cache;
    std::size_t i = 0;
    for (auto _ : state) {
        in.expected_nonce = responses.nonces[i];
        ocsp::Validation v = ocsp::validate_response(responses.der[i], in);
        if (!std::holds_alternative<ocsp::Answer>(v)) state.SkipWithError("response rejected");
        benchmark::DoNotOptimize(v);
        i = (i + 1) % kDistinct;
    }
}

void BM_ValidateResponseIssuerWithCerts(benchmark::State& state) {
    static const Responses responses(pki().ca, true);
    run(state, responses);
}
BENCHMARK(BM_ValidateResponseIssuerWithCerts)->ArgName("cache")->Arg(0)->Arg(1);

void BM_ValidateResponseDelegated(benchmark::State& state) {
    static const Responses responses(pki().delegated, true);
    run(state, responses);
}
BENCHMARK(BM_ValidateResponseDelegated)->ArgName("cache")->Arg(0)->Arg(1);

void BM_ValidateResponseIssuerNoCerts(benchmark::State& state) {
    static const Responses responses(pki().ca, false);
    run(state, responses);
}
BENCHMARK(BM_ValidateResponseIssuerNoCerts)->ArgName("cache")->Arg(0)->Arg(1);

}  // namespace
