// RAII for OpenSSL objects and the OpenSSL error queue.
//
// Every OpenSSL object the project holds goes through OsslPtr, so no error path frees by
// hand. The error queue is per thread and sticky: clear it before an SSL_* call whose
// result we inspect, and fold what is left into one message when something failed.
#pragma once

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace ocspgate::tls {

template <auto Free>
struct FnDeleter {
    template <class T>
    void operator()(T* p) const noexcept { Free(p); }
};

template <class T, auto Free>
using OsslPtr = std::unique_ptr<T, FnDeleter<Free>>;

using SslCtxPtr = OsslPtr<SSL_CTX, SSL_CTX_free>;
using SslPtr = OsslPtr<SSL, SSL_free>;
using X509Ptr = OsslPtr<X509, X509_free>;
using X509CrlPtr = OsslPtr<X509_CRL, X509_CRL_free>;
using X509StorePtr = OsslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using EvpPkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using BioPtr = OsslPtr<BIO, BIO_free_all>;
using OcspRequestPtr = OsslPtr<OCSP_REQUEST, OCSP_REQUEST_free>;
using OcspResponsePtr = OsslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicRespPtr = OsslPtr<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspCertIdPtr = OsslPtr<OCSP_CERTID, OCSP_CERTID_free>;
using Asn1IntegerPtr = OsslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1TimePtr = OsslPtr<ASN1_TIME, ASN1_TIME_free>;
using Asn1ObjectPtr = OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;
using Asn1TypePtr = OsslPtr<ASN1_TYPE, ASN1_TYPE_free>;
using X509RevokedPtr = OsslPtr<X509_REVOKED, X509_REVOKED_free>;
using BignumPtr = OsslPtr<BIGNUM, BN_free>;

inline void free_x509_stack(STACK_OF(X509) * s) noexcept { sk_X509_pop_free(s, X509_free); }
using X509StackPtr = OsslPtr<STACK_OF(X509), free_x509_stack>;

inline void free_openssl_string(char* s) noexcept { OPENSSL_free(s); }
using OsslStringPtr = OsslPtr<char, free_openssl_string>;

// Used by ocsp/ (revocation cores and their tests).
using X509NamePtr = OsslPtr<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = OsslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using Asn1OctetStringPtr = OsslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using Asn1EnumeratedPtr = OsslPtr<ASN1_ENUMERATED, ASN1_ENUMERATED_free>;
using IssuingDistPointPtr = OsslPtr<ISSUING_DIST_POINT, ISSUING_DIST_POINT_free>;

inline void free_dist_point_stack(STACK_OF(DIST_POINT) * s) noexcept {
    sk_DIST_POINT_pop_free(s, DIST_POINT_free);
}
using DistPointStackPtr = OsslPtr<STACK_OF(DIST_POINT), free_dist_point_stack>;

// X509_get1_ocsp() returns a stack of OPENSSL_STRING that only X509_email_free() releases.
using OcspUrlStackPtr = OsslPtr<STACK_OF(OPENSSL_STRING), X509_email_free>;

// Empties this thread's OpenSSL error queue (call before an SSL_* call we inspect).
inline void clear_errors() noexcept { ERR_clear_error(); }

// Drains this thread's error queue into one line: "context: reason; reason".
// Returns just `context` when the queue is empty.
std::string drain_errors(const std::string& context);

}  // namespace ocspgate::tls
