// Client certificates by the thousand, for cold-cache runs: every handshake a certificate the
// server has never seen, so every one needs a revocation lookup.
//
// `ocspgate-load mint` signs N leaf certificates with a CA key (in process: ≈ 0.3 ms of CPU each, where
// `openssl req` + `openssl ca` take tens of milliseconds per certificate) and writes, into DIR:
//   minted-certs.pem   the N certificates (CN=cold-I, O=ocspgate-load; clientAuth)
//   minted.key         the one P-256 key they all certify (a server cannot tell: it parses and
//                      verifies each certificate, and checks revocation by issuer + serial)
//   minted-issuer.pem  the CA certificate, sent by clients as their chain
//   minted-index.txt   `openssl ca` database rows marking every serial valid, for `openssl ocsp
//                      -index` (append them to the CA's own index)
// `--minted DIR` loads the pool into the other modes, one identity per certificate.
#pragma once

#include <string>
#include <vector>

#include "perf/load/client_tls.h"

namespace ocspgate::perf {

struct MintOptions {
    std::string ca_file;
    std::string ca_key_file;
    std::string out_dir;
    int count = 10000;
    int days = 30;
};

// Returns false and fills `error` when the CA does not load or a file cannot be written.
bool mint_pool(const MintOptions& options, std::string& error);

// One identity per certificate of a pool written by mint_pool, all sharing one client context
// built with `client`. Returns an empty vector and fills `error` on failure.
std::vector<ClientIdentity> load_minted_pool(const ClientOptions& client, const std::string& dir, std::string& error);

}  // namespace ocspgate::perf
