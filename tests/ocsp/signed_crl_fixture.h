// A CRL the test PKI built (fixtures::make_crl), read as ocspgate holds one: a SignedCrl.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>

#include "ocsp/signed_crl.h"

namespace ocspgate::ocsp {

inline std::shared_ptr<const SignedCrl> read_signed(X509_CRL* crl) {
    auto read = SignedCrl::of(crl);
    if (!read) {
        ADD_FAILURE() << "the test CRL does not read: " << read.error().message;
        std::abort();  // every caller dereferences it
    }
    return std::move(read).value();
}

}  // namespace ocspgate::ocsp
