// Decoding the BasicOCSPResponse of an OCSPResponse, without decoding again a `certs` field
// already decoded (see ResponderCache). Internal to validate_response().
//
//   OCSPResponse ::= SEQUENCE {
//       responseStatus          OCSPResponseStatus,                    -- ENUMERATED
//       responseBytes       [0] EXPLICIT ResponseBytes OPTIONAL }
//   ResponseBytes ::= SEQUENCE {
//       responseType            OBJECT IDENTIFIER,                     -- id-pkix-ocsp-basic
//       response                OCTET STRING }                         -- DER BasicOCSPResponse
//   BasicOCSPResponse ::= SEQUENCE {
//       tbsResponseData         ResponseData,
//       signatureAlgorithm      AlgorithmIdentifier,
//       signature               BIT STRING,
//       certs               [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
//
// The signature covers tbsResponseData only, so decoding the first three fields alone and
// attaching the certificates decoded earlier from the same `certs` bytes gives the same
// OCSP_BASICRESP as decoding the whole: an element's decoding depends only on its own bytes.
#pragma once

#include <openssl/ocsp.h>

#include <cstdint>
#include <optional>
#include <span>

#include "ocsp/responder_cache.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {

// Where the parts of a BasicOCSPResponse with certificates lie in the DER of its OCSPResponse.
struct BasicLayout {
    std::span<const std::uint8_t> before_certs;  // tbsResponseData, signatureAlgorithm, signature
    std::span<const std::uint8_t> certs_field;   // the [0] element, tag and length included
};

// Found only for the plain shape above: definite lengths, every element filling its parent
// exactly, responseType id-pkix-ocsp-basic, a primitive OCTET STRING and a `certs` field;
// nullopt for anything else (such responses take the full decoder). Only reads headers, so
// it says nothing about whether the response is valid.
std::optional<BasicLayout> locate_basic_certs(std::span<const std::uint8_t> response_der);

// What OCSP_response_get1_basic(response) returns, null included, where `response_der` is
// the DER that `response` was decoded from. With a cache, a `certs` field seen before is not
// decoded again, and the certificates of one decoded now are remembered. Leaves OpenSSL's
// error queue as OCSP_response_get1_basic would.
tls::OcspBasicRespPtr decode_basic(OCSP_RESPONSE* response, std::span<const std::uint8_t> response_der,
                                   ResponderCache* cache);

}  // namespace ocspgate::ocsp
