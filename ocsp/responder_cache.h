// What validate_response() may reuse from one response of a responder to the next, so that a
// cold-cache handshake does not redo work whose result cannot have changed:
//
//  - the certificates decoded from a BasicOCSPResponse's `certs` field, keyed by the field's
//    exact DER bytes. A responder embeds the same certificate in every response, and decoding
//    one P-256 certificate costs ≈ 1.5 M instructions on OpenSSL 3.0 (most of it building an
//    OSSL_DECODER_CTX for its public key);
//  - that a delegated responder certificate is signed by the CA that issued the certificate
//    asked about (rule 2b's signature check, one ECDSA/RSA verification), keyed by the exact
//    DER of both certificates, until the responder certificate's notAfter (+ clock_skew).
//
// Both are memos of pure functions of the bytes: a hit returns what the uncached code would
// compute from the same bytes, so verdicts do not depend on what is cached. Nothing a response
// says is cached: its own signature, the signer's EKU, keyUsage and validity, the CertID,
// nonce and times are checked on every call.
//
// Bounded (kMaxEntries of each kind, least recently used dropped first) and thread-safe: the
// worker loops of a revocation profile share its RevocationChecker's cache.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "tls/ossl.h"

namespace ocspgate::ocsp {

class ResponderCache {
public:
    using TimePoint = std::chrono::system_clock::time_point;

    // A profile has a handful of responders; a few more absorb key rollovers.
    static constexpr std::size_t kMaxEntries = 16;

    // The certificates decoded from exactly `certs_field` (the DER of a BasicOCSPResponse's
    // `[0] EXPLICIT SEQUENCE OF Certificate`, tag and length included), in order, each with a
    // reference of its own; nullopt when unknown.
    std::optional<std::vector<tls::X509Ptr>> find_certs(std::span<const std::uint8_t> certs_field);

    // Remembers that `certs_field` decoded to `certs`. Only for a field that the full decoder
    // of a BasicOCSPResponse accepted; an empty or null stack is not remembered.
    void store_certs(std::span<const std::uint8_t> certs_field, const STACK_OF(X509) * certs);

    // Whether X509_verify(responder, key of issuer) succeeded for byte-identical certificates
    // and `now` is not past the `valid_until` it was stored with.
    bool knows_signed_by(X509* responder, X509* issuer, TimePoint now);

    // Remembers a successful X509_verify(responder, key of issuer) until `valid_until`.
    void store_signed_by(X509* responder, X509* issuer, TimePoint valid_until);

    std::size_t certs_entries();
    std::size_t signed_by_entries();

private:
    struct CertsEntry {
        std::vector<std::uint8_t> field;
        std::vector<tls::X509Ptr> certs;
    };
    struct SignedByEntry {
        std::vector<std::uint8_t> responder_der;
        std::vector<std::uint8_t> issuer_der;
        TimePoint valid_until;
    };

    std::mutex mutex_;
    // Most recently used first, at most kMaxEntries each; guarded by mutex_. The X509 objects
    // are shared read-only with the responses that use them (OpenSSL reference counts them).
    std::vector<CertsEntry> certs_;
    std::vector<SignedByEntry> signed_by_;
};

}  // namespace ocspgate::ocsp
