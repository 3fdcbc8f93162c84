#include "ocsp/factory.h"

#include "ocsp/revocation_checker.h"

namespace ocspgate::ocsp {

Result<std::unique_ptr<Checker>> create_checker(const RevocationProfile& profile, const Checker* previous) {
    auto checker = RevocationChecker::create(profile, dynamic_cast<const RevocationChecker*>(previous));
    if (!checker) return std::move(checker).error();
    return std::unique_ptr<Checker>(std::move(checker).value());
}

}  // namespace ocspgate::ocsp
