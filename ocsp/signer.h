// Who may sign an OCSP response about a certificate (RFC 6960 §4.2.2.2). Internal to
// validate_response(); a separate file because it is the security-critical half of it.
#pragma once

#include <openssl/ocsp.h>

#include <variant>

#include "ocsp/response.h"

namespace ocspgate::ocsp {

// Finds the signer of `response` and checks that it is authorized for `in.cert` and that
// its signature verifies (rule 2 in response.h). Returns the rule that authorized it, or
// bad_signature / unauthorized_signer.
std::variant<SignerKind, ResponseFailure> authenticate_signer(OCSP_BASICRESP* response,
                                                              const ValidationInput& in);

}  // namespace ocspgate::ocsp
