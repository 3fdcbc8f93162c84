// Writes the re-signed seeds of fuzz_ocsp_response (mode byte >= 0x80, see that file) into the
// folder named on the command line: the tbsResponseData of responses built with the in-process
// test PKI (tests/support/test_pki.h), one file per kind of answer. Run by hand when the seeds
// need regenerating (tests/fuzz/README.md); the output is stable across runs except for the
// issuerKeyHash, which the fuzz target rewrites anyway (mode bit 4).

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "ocsp_resign.h"
#include "support/test_pki.h"

using namespace ocspgate;

namespace {

// Mode bits: signer index (0-2), include certificate (3), fix issuerKeyHash (4).
constexpr std::uint8_t kResigned = 0x80, kWithCert = 0x08, kFixKeyHash = 0x10;
constexpr std::uint8_t kByIssuer = 0, kByDelegated = 1, kByPinned = 5;

void write_seed(const std::filesystem::path& folder, const std::string& name, std::uint8_t mode,
                const fixtures::ResponseSpec& spec) {
    const auto tbs = fuzz::extract_tbs(fixtures::make_response(spec));
    std::ofstream out(folder / name, std::ios::binary);
    out.put(static_cast<char>(mode));
    out.write(reinterpret_cast<const char*>(tbs.data()), static_cast<std::streamsize>(tbs.size()));
}

fixtures::SingleSpec single(X509* cert, int status = V_OCSP_CERTSTATUS_GOOD) {
    const fixtures::TestPki& pki = fixtures::pki();
    fixtures::SingleSpec s;
    s.cert = cert;
    s.issuer = pki.issuing.get();
    s.status = status;
    return s;
}

fixtures::ResponseSpec response(std::vector<fixtures::SingleSpec> singles, const fixtures::Issued* signer) {
    fixtures::ResponseSpec spec;
    spec.singles = std::move(singles);
    spec.signer = signer;
    return spec;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s FOLDER\n", argv[0]);
        return 2;
    }
    const std::filesystem::path folder(argv[1]);
    std::filesystem::create_directories(folder);
    const fixtures::TestPki& pki = fixtures::pki();
    X509* leaf = pki.leaf.get();
    const std::uint8_t fix = kResigned | kFixKeyHash;

    auto good = response({single(leaf)}, &pki.issuing);
    write_seed(folder, "resigned-good-by-issuer", fix | kByIssuer, good);

    auto delegated = response({single(leaf)}, &pki.delegated);
    write_seed(folder, "resigned-good-delegated", fix | kWithCert | kByDelegated, delegated);

    auto revoked = response({single(leaf, V_OCSP_CERTSTATUS_REVOKED)}, &pki.issuing);
    revoked.singles[0].reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
    write_seed(folder, "resigned-revoked-key-compromise", fix | kByIssuer, revoked);

    auto unknown = response({single(leaf, V_OCSP_CERTSTATUS_UNKNOWN)}, &pki.issuing);
    write_seed(folder, "resigned-unknown", fix | kByIssuer, unknown);

    auto with_nonce = response({single(leaf)}, &pki.issuing);
    with_nonce.nonce = {1, 2, 3, 4, 5, 6, 7, 8};  // the target's expected nonce
    write_seed(folder, "resigned-good-with-nonce", fix | kByIssuer, with_nonce);

    auto no_next_update = response({single(leaf)}, &pki.issuing);
    no_next_update.singles[0].next_update.reset();
    write_seed(folder, "resigned-no-next-update", fix | kByIssuer, no_next_update);

    auto sha256_id = response({single(leaf)}, &pki.issuing);
    sha256_id.singles[0].id_md = EVP_sha256();
    write_seed(folder, "resigned-sha256-certid", fix | kByIssuer, sha256_id);

    auto several = response({single(pki.other_leaf.get()), single(leaf)}, &pki.issuing);
    write_seed(folder, "resigned-two-singles", fix | kByIssuer, several);

    auto critical = response({single(leaf)}, &pki.issuing);
    critical.critical_unknown_extension = true;
    critical.singles[0].critical_unknown_extension = true;
    write_seed(folder, "resigned-critical-extensions", fix | kByIssuer, critical);

    auto pinned = response({single(leaf)}, &pki.pinned);
    write_seed(folder, "resigned-pinned-responder", fix | kWithCert | kByPinned, pinned);

    std::printf("wrote seeds to %s\n", folder.c_str());
    return 0;
}
