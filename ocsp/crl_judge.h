// Judging one certificate against every CRL held that might speak for it (RFC 5280 §6.3.3).
// No I/O: CRLs in, one answer out; the caller supplies the clock.
//
// Every CRL is verified against the certificate's own issuer and scoped to the certificate
// (issuingDistributionPoint); the ones that pass are grouped by scope (the IDP's exact DER,
// or none for a complete CRL). Within a scope the newest CRL decides (higher cRLNumber, then
// later thisUpdate; an equal pair prefers the one that lists the certificate), so an older
// CRL can never outvote a newer one of the same scope. Across scopes the certificate is
// revoked when any deciding CRL lists it and good when at least one scope covers it.
// Nothing here depends on the order in which the CRLs are given.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "ocsp/policy.h"

namespace ocspgate::ocsp {

struct HeldCrl {
    std::shared_ptr<X509_CRL> crl;
    std::string source;  // the file or URL it came from, for logs
};

struct CrlJudgeInput {
    X509* cert = nullptr;
    X509* issuer = nullptr;  // the CA that issued `cert`
    std::chrono::system_clock::time_point now;
    std::chrono::seconds clock_skew{0};
};

// good or revoked from the deciding CRL(s), with its source; error (detail: why each CRL was
// not usable) when no current, verified, in-scope CRL is among `held`.
MethodResult judge_certificate(std::span<const HeldCrl> held, const CrlJudgeInput& in);

}  // namespace ocspgate::ocsp
