// Microbenchmarks of per-handshake certificate work (see perf/README.md).
//
// d2i_X509: every full handshake parses the client's chain (leaf + intermediate). With OpenSSL
// 3.0 most of a parse is building a decoder for the public key (OSSL_DECODER_CTX_new_for_pkey,
// found by callgrind on ocspgate's handshake path; perf/RESULTS.md). make_cert_id: ocspgate's
// own work per certificate on a cache hit (two SHA-1 digests), before StatusCache::find_fresh.
#include <benchmark/benchmark.h>

#include <vector>

#include "ocsp/cert_id.h"
#include "tls/ossl.h"

namespace {

using ocspgate::tls::EvpPkeyPtr;
using ocspgate::tls::X509Ptr;

EvpPkeyPtr make_p256_key() { return EvpPkeyPtr{EVP_EC_gen("P-256")}; }

// A P-256 certificate for `subject_key`, signed by `issuer_key` under `issuer_name`.
X509Ptr make_certificate(EVP_PKEY* subject_key, const char* cn, X509_NAME* issuer_name, EVP_PKEY* issuer_key,
                         long serial) {
    X509Ptr cert{X509_new()};
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer_name != nullptr ? issuer_name : name);
    X509_set_pubkey(cert.get(), subject_key);
    X509_sign(cert.get(), issuer_key, EVP_sha256());
    return cert;
}

struct Chain {
    EvpPkeyPtr ca_key = make_p256_key();
    EvpPkeyPtr leaf_key = make_p256_key();
    X509Ptr ca = make_certificate(ca_key.get(), "bench CA", nullptr, ca_key.get(), 1);
    X509Ptr leaf = make_certificate(leaf_key.get(), "bench client", X509_get_subject_name(ca.get()), ca_key.get(),
                                    0x1234567890ABCDEL);
};

const Chain& chain() {
    static const Chain c;
    return c;
}

void BM_D2iX509(benchmark::State& state) {
    std::vector<unsigned char> der(static_cast<std::size_t>(i2d_X509(chain().leaf.get(), nullptr)));
    unsigned char* out = der.data();
    i2d_X509(chain().leaf.get(), &out);
    for (auto _ : state) {
        const unsigned char* in = der.data();
        X509Ptr parsed{d2i_X509(nullptr, &in, static_cast<long>(der.size()))};
        benchmark::DoNotOptimize(parsed.get());
    }
}
BENCHMARK(BM_D2iX509);

void BM_MakeCertId(benchmark::State& state) {
    for (auto _ : state) {
        auto id = ocspgate::ocsp::make_cert_id(chain().leaf.get(), chain().ca.get());
        benchmark::DoNotOptimize(id);
    }
}
BENCHMARK(BM_MakeCertId);

}  // namespace
