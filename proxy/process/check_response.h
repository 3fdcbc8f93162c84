// `ocspgate check --response resp.der`: judges a saved OCSP response offline, with the same
// validate_response() the proxy runs on every answer (ocsp/response.h), and describes its
// fields (#19 point 5): what a responder said, without asking it again.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ocsp/response.h"
#include "ocsp/settings.h"
#include "tls/ossl.h"

namespace ocspgate::proxy::process {

// The decision in check_command's keys (verdict, revocation, revocation_reason/time,
// revocation_detail) plus the response's fields (response_status, this_update, next_update,
// produced_at, responder_id, nonce_present, signer, nonce). `settings` gives clock_skew,
// max_age and max_response_age (OcspSettings' defaults without a config); the profile's
// configured responder_trust is not loaded, so a response signed by such a pinned responder
// (rule 2c of ocsp/response.h) is unauthorized_signer here. No nonce was sent for a saved
// response, so none is required.
// this_update, next_update, signer and nonce of a validated answer (online and offline).
void add_response_fields(nlohmann::ordered_json& out, const ocsp::Answer& answer);

nlohmann::ordered_json judge_saved_response(const std::string& der, X509* cert, X509* issuer,
                                            const ocsp::OcspSettings& settings);

}  // namespace ocspgate::proxy::process
