#include "engine_fixtures.h"

#include <ctime>

namespace ocspgate::ocsp::testing {

tls::X509Ptr up_ref(const fixtures::Issued& issued) {
    X509_up_ref(issued.get());
    return tls::X509Ptr(issued.get());
}

tls::X509StackPtr chain_of(std::initializer_list<const fixtures::Issued*> certs) {
    tls::X509StackPtr chain(sk_X509_new_null());
    for (const fixtures::Issued* cert : certs) sk_X509_push(chain.get(), up_ref(*cert).release());
    return chain;
}

std::vector<std::uint8_t> response_now(const fixtures::Issued& cert, const fixtures::Issued& issuer,
                                       int status, const fixtures::Issued& signer) {
    const std::time_t now = std::time(nullptr);
    fixtures::ResponseSpec spec;
    spec.singles.push_back(fixtures::SingleSpec{.cert = cert.get(),
                                                .issuer = issuer.get(),
                                                .status = status,
                                                .revoked_at = now - fixtures::one_day,
                                                .this_update = now - 60,
                                                .next_update = now + 3600});
    spec.signer = &signer;
    return fixtures::make_response(spec);
}

}  // namespace ocspgate::ocsp::testing

namespace ocspgate {

void PrintTo(ChainVerdict verdict, std::ostream* out) { *out << to_string(verdict); }

}  // namespace ocspgate

namespace ocspgate::ocsp {

void PrintTo(MethodResult::Kind kind, std::ostream* out) {
    switch (kind) {
        case MethodResult::Kind::good: *out << "good"; return;
        case MethodResult::Kind::revoked: *out << "revoked"; return;
        case MethodResult::Kind::unknown: *out << "unknown"; return;
        case MethodResult::Kind::error: *out << "error"; return;
    }
    *out << "Kind(" << static_cast<int>(kind) << ")";
}

void PrintTo(CertStatus status, std::ostream* out) { *out << to_string(status); }
void PrintTo(SignerKind kind, std::ostream* out) { *out << to_string(kind); }

}  // namespace ocspgate::ocsp
