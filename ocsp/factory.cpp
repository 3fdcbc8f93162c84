#include "ocsp/factory.h"

#include "ocsp/revocation_checker.h"

namespace ocspgate::ocsp {

Result<std::unique_ptr<Checker>> create_checker(const RevocationProfile& profile, const Checker* previous,
                                                std::shared_ptr<SharedCache> shared) {
    auto checker = RevocationChecker::create(profile, dynamic_cast<const RevocationChecker*>(previous), std::move(shared));
    if (!checker) return std::move(checker).error();
    return std::unique_ptr<Checker>(std::move(checker).value());
}

}  // namespace ocspgate::ocsp
