// What the shared cache stores a response under, and for how long. No I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "ocsp/cert_id.h"
#include "ocsp/response.h"

namespace ocspgate::ocsp {

// prefix + "ocsp:" + hex SHA-256 of the CertID's four fields (hash algorithm, issuer name
// hash, issuer key hash, serial), each length-prefixed so that no two CertIDs share a key.
// The key only names the entry: a reader checks the response's own CertID against its
// certificate, so a response stored under another certificate's key is refused.
std::string shared_key(const std::string& prefix, const CertId& id);

// prefix + "crl:" + hex SHA-256 of the URL a CRL was downloaded from. As for responses, the
// key only names the entry: a reader verifies the CRL's signature with the issuer's key.
std::string shared_crl_key(const std::string& prefix, const std::string& url);

// The Redis TTL for a validated answer: min(nextUpdate - now, max_ttl), in whole seconds, or
// nullopt when it must not be shared: a status other than good or revoked, no nextUpdate
// (no promise of how long it holds), or less than a second left.
std::optional<std::chrono::seconds> shared_ttl(const Answer& answer, std::chrono::system_clock::time_point now,
                                               std::chrono::milliseconds max_ttl);

}  // namespace ocspgate::ocsp
