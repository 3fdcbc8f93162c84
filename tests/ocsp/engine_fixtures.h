// Helpers shared by the tests of the asynchronous engine (ocsp_query, crl_store, chain_check,
// revocation_checker). That code reads the real clock (system_clock), so what it validates is
// dated around std::time(nullptr) here, not around fixtures::test_now.
#pragma once

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <vector>

#include "ocsp/policy.h"
#include "ocsp/response.h"
#include "support/test_pki.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp::testing {

// A reference of its own to `issued`'s certificate.
tls::X509Ptr up_ref(const fixtures::Issued& issued);

// A verified chain as the TLS engine hands it over: leaf first, trust anchor last.
tls::X509StackPtr chain_of(std::initializer_list<const fixtures::Issued*> certs);

// A successful OCSP response about `cert` (issued by `issuer`), current by the real clock:
// thisUpdate a minute ago, nextUpdate in an hour; revoked a day ago when `status` says so.
std::vector<std::uint8_t> response_now(const fixtures::Issued& cert, const fixtures::Issued& issuer,
                                       int status, const fixtures::Issued& signer);

}  // namespace ocspgate::ocsp::testing

// Readable gtest messages ("revoked", not "4-byte object <01-00 00-00>"); found by ADL.
namespace ocspgate {
void PrintTo(ChainVerdict verdict, std::ostream* out);
}  // namespace ocspgate
namespace ocspgate::ocsp {
void PrintTo(MethodResult::Kind kind, std::ostream* out);
void PrintTo(CertStatus status, std::ostream* out);
void PrintTo(SignerKind kind, std::ostream* out);
}  // namespace ocspgate::ocsp
