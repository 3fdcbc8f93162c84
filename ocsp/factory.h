// Builds the revocation checker for one [revocation.NAME] profile.
#pragma once

#include <memory>

#include "ocsp/settings.h"
#include "ocsp/checker.h"
#include "ocsp/shared_cache/shared_cache.h"
#include "base/result.h"

namespace ocspgate::ocsp {

// `previous`: the checker of the same name that this one replaces on a reload, or null.
// Counters carry over; cached answers too when the profile is unchanged. `shared`: the
// fleet's shared cache ([cache.shared]), or null.
Result<std::unique_ptr<Checker>> create_checker(const RevocationProfile& profile, const Checker* previous = nullptr,
                                                std::shared_ptr<SharedCache> shared = nullptr);

}  // namespace ocspgate::ocsp
