// Builds the revocation checker for one [revocation.NAME] profile.
#pragma once

#include <memory>

#include "conf/config.h"
#include "ocsp/checker.h"
#include "tls/result.h"

namespace ocspgate::ocsp {

Result<std::unique_ptr<Checker>> create_checker(const conf::RevocationProfile& profile);

}  // namespace ocspgate::ocsp
