// Microbenchmarks of the CRL method with a large CRL (#18 point 6): what one lookup costs on an
// event loop, and what reading a CRL (ocsp/signed_crl.h) and freeing it cost, once per
// download off the loops, against OpenSSL's whole decode.
//
// The CRL lists kEntries[i] random 20-byte serials (as real CAs use), signed with ECDSA P-256;
// the certificate looked up is not listed (the common case: a good client). Argument 0 is the
// number of entries; 500 000 make a CRL of about 20 MB, the size #18 asks for.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "ocsp/crl.h"
#include "ocsp/crl_judge.h"
#include "ocsp/signed_crl.h"
#include "tls/ossl.h"

namespace {

using namespace ocspgate;

tls::EvpPkeyPtr make_key() {
    return tls::EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

X509_NAME* name_of(const char* cn) {
    X509_NAME* name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    return name;
}

tls::X509Ptr make_cert(const char* subject, const char* issuer, long serial, EVP_PKEY* key, EVP_PKEY* signer) {
    tls::X509Ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_NAME* s = name_of(subject);
    X509_NAME* i = name_of(issuer);
    X509_set_subject_name(cert.get(), s);
    X509_set_issuer_name(cert.get(), i);
    X509_NAME_free(s);
    X509_NAME_free(i);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_sign(cert.get(), signer, EVP_sha256());
    return cert;
}

struct Pki {
    tls::EvpPkeyPtr ca_key = make_key();
    tls::EvpPkeyPtr leaf_key = make_key();
    tls::X509Ptr ca = make_cert("bench CA", "bench CA", 1, ca_key.get(), ca_key.get());
    tls::X509Ptr leaf = make_cert("bench client", "bench CA", 2, leaf_key.get(), ca_key.get());
};

const Pki& pki() {
    static const Pki p;
    return p;
}

// The CRL with `entries` random serials, as DER.
std::vector<std::uint8_t> make_crl_der(long entries) {
    tls::X509CrlPtr crl(X509_CRL_new());
    X509_CRL_set_version(crl.get(), 1);
    X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(pki().ca.get()));
    tls::Asn1TimePtr now(ASN1_TIME_adj(nullptr, time(nullptr), 0, -3600));
    tls::Asn1TimePtr next(ASN1_TIME_adj(nullptr, time(nullptr), 7, 0));
    X509_CRL_set1_lastUpdate(crl.get(), now.get());
    X509_CRL_set1_nextUpdate(crl.get(), next.get());
    unsigned char serial[20];
    for (long n = 0; n < entries; ++n) {
        RAND_bytes(serial, sizeof serial);
        serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x10);  // positive, 20 bytes
        X509_REVOKED* r = X509_REVOKED_new();
        BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
        ASN1_INTEGER* i = BN_to_ASN1_INTEGER(bn, nullptr);
        X509_REVOKED_set_serialNumber(r, i);
        X509_REVOKED_set_revocationDate(r, now.get());
        X509_CRL_add0_revoked(crl.get(), r);
        ASN1_INTEGER_free(i);
        BN_free(bn);
    }
    // Not sorted: a CA lists in the order it revoked (both readers below sort).
    X509_CRL_sign(crl.get(), pki().ca_key.get(), EVP_sha256());
    int len = i2d_X509_CRL(crl.get(), nullptr);
    std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    i2d_X509_CRL(crl.get(), &p);
    return der;
}

const std::vector<std::uint8_t>& crl_der(long entries) {
    static std::map<long, std::vector<std::uint8_t>> made;
    auto it = made.find(entries);
    if (it == made.end()) it = made.emplace(entries, make_crl_der(entries)).first;
    return it->second;
}

ocsp::HeldCrl held_crl(long entries) {
    auto read = ocsp::SignedCrl::read(crl_der(entries));
    return ocsp::HeldCrl{std::move(read).value(), "bench"};
}

// One lookup of a good certificate, as the verify callback makes it on an event loop: the
// signature was verified when the CRL was read (remembered per key), so this is the
// header's checks and a binary search of the entry index.
void BM_CrlLookup(benchmark::State& state) {
    const long entries = state.range(0);
    std::vector<ocsp::HeldCrl> held{held_crl(entries)};
    ocsp::CrlJudgeInput in;
    in.cert = pki().leaf.get();
    in.issuer = pki().ca.get();
    in.now = std::chrono::system_clock::now();
    in.clock_skew = std::chrono::seconds(300);
    (void)held[0].crl->signature_verifies(X509_get0_pubkey(pki().ca.get()));  // as the CRL store does
    for (auto _ : state) {
        auto r = ocsp::judge_certificate(held, in);
        if (r.kind != ocsp::MethodResult::Kind::good) state.SkipWithError(r.detail.c_str());
        benchmark::DoNotOptimize(r);
    }
    state.counters["crl_MB"] = static_cast<double>(crl_der(entries).size()) / 1e6;
}
BENCHMARK(BM_CrlLookup)->Arg(1000)->Arg(100000)->Arg(500000)->ArgName("entries")->Unit(benchmark::kMicrosecond);

// Reading a downloaded CRL, once per download on the thread pool, and freeing it when the
// next one replaces it: SignedCrl::read (header decoded, entries indexed in place) against
// OpenSSL's whole decode with its entries sorted (what ocspgate did before; the baseline).
// Also the heap each holds per entry (glibc's mallinfo2 around one read).
template <class Read>
void read_and_free(benchmark::State& state, Read read) {
    const long entries = state.range(0);
    const auto& der = crl_der(entries);
    double heap_per_entry = 0;
    for (auto _ : state) {
        const std::size_t before = mallinfo2().uordblks;
        {
            auto held = read(der);
            heap_per_entry = static_cast<double>(mallinfo2().uordblks - before) / static_cast<double>(entries);
            benchmark::DoNotOptimize(held);
        }
    }
    state.counters["crl_MB"] = static_cast<double>(der.size()) / 1e6;
    state.counters["heap_B_per_entry"] = heap_per_entry;
}

void BM_CrlRead(benchmark::State& state) {
    read_and_free(state, [](const std::vector<std::uint8_t>& der) { return ocsp::SignedCrl::read(der).value(); });
}
BENCHMARK(BM_CrlRead)->Arg(100000)->Arg(500000)->ArgName("entries")->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_CrlDecodeWholeBaseline(benchmark::State& state) {
    read_and_free(state, [](const std::vector<std::uint8_t>& der) {
        const unsigned char* p = der.data();
        tls::X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
        tls::Asn1IntegerPtr zero(ASN1_INTEGER_new());
        X509_REVOKED* entry = nullptr;
        X509_CRL_get0_by_serial(crl.get(), &entry, zero.get());  // sorts the entries
        return crl;
    });
}
BENCHMARK(BM_CrlDecodeWholeBaseline)->Arg(100000)->Arg(500000)->ArgName("entries")->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
