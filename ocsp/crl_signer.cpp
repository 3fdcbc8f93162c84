#include "ocsp/crl_signer.h"

#include <openssl/x509_vfy.h>

#include <fmt/format.h>

#include "ocsp/error_queue.h"

namespace ocspgate::ocsp {
namespace {

// A stack of borrowed certificates: freeing it leaves them alone.
void free_stack_only(STACK_OF(X509) * stack) noexcept { sk_X509_free(stack); }
using BorrowedStack = tls::OsslPtr<STACK_OF(X509), free_stack_only>;

CrlFailure fail(std::string detail) {
    return CrlFailure{CrlError::signer_unverified, std::move(detail)};
}

// A store that trusts `anchor` alone. PARTIAL_CHAIN: the anchor need not be self-signed (a
// listener may trust an intermediate); the client's chain ended at it all the same.
Result<tls::X509StorePtr> anchor_store(X509* anchor, std::chrono::system_clock::time_point now) {
    tls::X509StorePtr store(X509_STORE_new());
    if (!store || X509_STORE_add_cert(store.get(), anchor) != 1) return make_error(Errc::tls, "X509_STORE");
    X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(now));
    return store;
}

}  // namespace

std::variant<tls::X509StackPtr, CrlFailure> validate_crl_signer_path(const CrlSignerPathInput& in) {
    if (in.signer == nullptr) return fail("no CRL signer certificate");
    if (in.anchor == nullptr) return fail("no trust anchor to validate a separate CRL signer against");
    ErrorQueueScope errors;
    auto store = anchor_store(in.anchor, in.now);
    if (!store) return fail(store.error().message);
    BorrowedStack untrusted(sk_X509_new_null());
    for (X509* cert : in.untrusted)
        if (!untrusted || sk_X509_push(untrusted.get(), cert) <= 0) return fail("out of memory");
    tls::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store->get(), in.signer, untrusted.get()) != 1)
        return fail("X509_STORE_CTX_init failed");
    const int verified = X509_verify_cert(ctx.get());
    const int code = X509_STORE_CTX_get_error(ctx.get());
    tls::X509StackPtr path(verified == 1 ? X509_STORE_CTX_get1_chain(ctx.get()) : nullptr);
    if (verified != 1)
        return fail(fmt::format("CRL signer's path does not validate to the certificate's trust anchor: {}",
                                X509_verify_cert_error_string(code)));
    if (!path) return fail("X509_STORE_CTX_get1_chain failed");
    return path;
}

}  // namespace ocspgate::ocsp
