// Building an OCSP request for one certificate (RFC 6960 §4.1, profiled by RFC 5019 §2.1).
//
//   OCSPRequest ::= SEQUENCE {
//       tbsRequest              TBSRequest,
//       optionalSignature   [0] EXPLICIT Signature OPTIONAL }
//   TBSRequest ::= SEQUENCE {
//       version             [0] EXPLICIT Version DEFAULT v1,
//       requestorName       [1] EXPLICIT GeneralName OPTIONAL,
//       requestList             SEQUENCE OF Request,
//       requestExtensions   [2] EXPLICIT Extensions OPTIONAL }
//
// We send exactly one Request with a SHA-1 CertID, unsigned and without requestorName, as
// RFC 5019 asks of clients, optionally with a nonce extension (RFC 8954).
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ocsp/cert_id.h"
#include "base/result.h"

namespace ocspgate::ocsp {

// Nonce length used by build_request: RFC 8954 §2.1 says requesters SHOULD use 32 octets.
inline constexpr std::size_t request_nonce_bytes = 32;

struct Request {
    std::vector<std::uint8_t> der;    // the DER OCSPRequest, the body of a POST
    std::vector<std::uint8_t> nonce;  // the nonce value (OCTET STRING contents); empty if none
    CertId id;                        // the SHA-1 CertID the request asks about
};

// Builds the request for `cert` issued by `issuer`; with `with_nonce`, adds a fresh random
// nonce. A request with a nonce cannot be answered from an HTTP cache (RFC 5019 §4), so
// leave it off when responders pre-produce responses.
Result<Request> build_request(X509* cert, X509* issuer, bool with_nonce);

// The request-target for an HTTP GET (RFC 6960 Appendix A.1, RFC 5019 §5):
// `base_path` + "/" + url-encoded base64 of the DER, with exactly one "/" between them.
// `base_path` is the path of the responder URL ("" means "/"). nullopt when the result
// is longer than 255 bytes: RFC 5019 §5 says to POST such requests instead.
std::optional<std::string> get_path(const Request& request, std::string_view base_path);

}  // namespace ocspgate::ocsp
