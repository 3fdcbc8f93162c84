// TLS over memory BIOs, as server (toward clients) or as client (toward TLS backends): the
// protocol core that does no I/O.
//
// The owner moves bytes with four verbs and one driver:
//   enc_in(ciphertext from the network)   clear_in(plaintext to protect)
//   take_enc_out(ciphertext to send)      take_clear_out(plaintext received)
//   cycle()  runs the handshake / read loop and reports what happened as CycleEvents.
// cycle() never calls into other components and is not re-entrant, so the owner may act on
// the events (even destroy the Engine) after it returns. (Node's TLSWrap::Cycle idea.)
//
// Certificate verification can be suspended: after the chain verifies against the trust
// store, the RevocationGate is asked for a verdict. With no immediate answer the verify
// callback pauses its OpenSSL ASYNC job (SSL_MODE_ASYNC + ASYNC_pause_job, which works on the
// server side of OpenSSL 3.0 where SSL_set_retry_verify does not), cycle() reports
// `verification_paused`, and the owner later calls resume_verification() and cycle() again.
//
// On a server context made with `own_record_layer`, a TLS 1.3 connection hands its traffic
// keys to a Record13 once the handshake is done and frees the SSL: OpenSSL's ≈ 21 KiB per
// connection shrink to the two record ciphers and the peer's verified chain. Nothing changes
// for the owner; version(), cipher() and the certificates are kept from the handshake.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tls/ossl.h"
#include "tls/record13.h"
#include "base/result.h"
#include "base/verdict.h"

namespace ocspgate::tls {

// Asked synchronously from inside the verify callback. It must not call back into the Engine.
class RevocationGate {
public:
    virtual ~RevocationGate() = default;
    // A verdict available without I/O (cache hit, nothing to check), or nullopt to suspend
    // the handshake until resume_verification().
    virtual std::optional<ChainVerdict> decide_now(STACK_OF(X509) * verified_chain) = 0;
};

struct CycleEvents {
    bool handshake_done = false;        // the handshake completed during this cycle
    bool verification_paused = false;   // waiting for resume_verification()
    bool peer_closed = false;           // close_notify received: no more plaintext will come
    std::optional<std::string> failure; // fatal; any alert to send is already in enc_out
};

class Engine {
public:
    // `gate` may be null (no revocation on this listener); it must outlive the Engine.
    static Result<std::unique_ptr<Engine>> create(SSL_CTX* ctx, RevocationGate* gate);
    // Client role, on a client context (make_client_context, ...). The peer's certificate must carry
    // `server_name` (a DNS name, also sent as SNI, or a numeric IP address). The first cycle()
    // puts the ClientHello into enc_out. `gate` (only with a context made with
    // async_verification) decides on the server's verified chain, suspending as on the server side.
    static Result<std::unique_ptr<Engine>> create_client(SSL_CTX* ctx, const std::string& server_name,
                                                         RevocationGate* gate = nullptr);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Installs the verify callback that makes suspension possible; context.cpp calls it.
    static void install_verify_callback(SSL_CTX* ctx);
    // Makes a server context's TLS 1.3 connections move to a Record13 after the handshake
    // (the keylog callback is how OpenSSL 3.0 hands out the traffic secrets).
    static void install_own_record_layer(SSL_CTX* ctx);

    void enc_in(std::span<const std::uint8_t> ciphertext);
    void clear_in(std::span<const std::uint8_t> plaintext);  // queued until the handshake is done
    void shutdown();                                          // queue our close_notify
    // After the handshake, on the own record layer: queue a fatal alert (RFC 8446 §6.2, e.g.
    // SSL_AD_CERTIFICATE_REVOKED) that ends the connection's protection, and return true.
    // False where OpenSSL keeps the connection: OpenSSL 3.0 cannot send an alert then, and
    // shutdown() sends close_notify instead.
    bool send_fatal_alert(std::uint8_t description);
    CycleEvents cycle();

    // Append what is ready to `out`; return the number of bytes appended.
    std::size_t take_enc_out(std::vector<std::uint8_t>& out);
    std::size_t take_clear_out(std::vector<std::uint8_t>& out);
    std::size_t enc_out_pending() const;
    std::size_t enc_in_pending() const;
    std::size_t clear_in_pending() const { return queued_plaintext_.size(); }
    // After a failure: whether it was the peer's certificate that was refused.
    bool certificate_rejected() const { return !verify_failure_.empty(); }
    // After a failure: the peer's chain was refused only because its leaf has expired (every
    // signature up to a trusted anchor held): a certificate the CA really issued.
    bool only_leaf_expired() const { return only_leaf_expired_; }
    // After a failure: OpenSSL's X509_V_ERR_* code for the refused chain (X509_V_OK when the
    // chain itself verified), and whether the peer sent no certificate at all.
    long verify_error() const { return verify_error_; }
    bool no_peer_certificate() const { return no_peer_certificate_; }
    // The certificate verify_error() is about (the leaf or one above it), or null.
    X509* verify_error_certificate() const { return verify_error_cert_.get(); }

    // While verification is paused: the verified chain (leaf first) to check.
    STACK_OF(X509) * pending_chain() const { return pending_chain_.get(); }
    void resume_verification(ChainVerdict verdict);

    bool handshake_complete() const { return handshake_done_; }
    // Whether the connection's records are now protected by Record13, without OpenSSL's state.
    bool own_record_layer() const { return record_ != nullptr; }
    const char* version() const;
    const char* cipher() const;
    // The leaf the peer presented, kept even when verification rejected it (for logs).
    X509* peer_certificate() const { return peer_leaf_.get(); }
    // After the handshake: the peer's verified chain (leaf first, anchor last), or null.
    // Re-validation checks it again during the session.
    STACK_OF(X509) * verified_chain() const {
        return record_ ? kept_chain_.get() : SSL_get0_verified_chain(ssl_.get());
    }

private:
    Engine(SslPtr ssl, RevocationGate* gate);
    static Result<SslPtr> new_ssl(SSL_CTX* ctx);
    static BIO* new_memory_bio();
    void release_drained_input();
    void release_drained_output();
    static int on_verify(X509_STORE_CTX* store, void* arg) noexcept;
    static void on_keylog(const SSL* ssl, const char* line) noexcept;
    void move_to_own_record_layer();
    void note_opened(Record13::Opened opened);
    int verify(X509_STORE_CTX* store);
    // X509_verify_cert, or the context's VerifiedChainCache when it holds this exact chain.
    bool verify_chain(X509_STORE_CTX* store);
    ChainVerdict wait_for_verdict(STACK_OF(X509) * chain);
    int apply_verdict(ChainVerdict verdict, X509_STORE_CTX* store);
    void run_handshake(CycleEvents& events);
    void read_plaintext(CycleEvents& events);
    void write_queued_plaintext();
    std::string describe_failure(int ssl_error);

    SslPtr ssl_;
    BIO* enc_in_bio_ = nullptr;   // owned by ssl_
    BIO* enc_out_bio_ = nullptr;  // owned by ssl_
    RevocationGate* gate_;
    bool client_role_ = false;  // create_client(): the peer is a server (name check, server purpose)
    bool handshake_done_ = false;
    bool failed_ = false;
    bool in_cycle_ = false;
    bool verification_paused_ = false;
    bool input_released_ = false;   // enc_in's handshake-sized buffer was given back
    bool output_released_ = false;  // enc_out's likewise
    std::optional<ChainVerdict> verdict_;
    X509StackPtr pending_chain_;
    X509Ptr peer_leaf_;
    std::string verify_failure_;               // why the chain was refused, for logs
    bool only_leaf_expired_ = false;           // see only_leaf_expired()
    long verify_error_ = 0;                    // X509_V_OK, or the code behind verify_failure_
    bool no_peer_certificate_ = false;
    X509Ptr verify_error_cert_;
    std::vector<std::uint8_t> queued_plaintext_;  // clear_in before the handshake finished
    std::vector<std::uint8_t> clear_out_;         // plaintext received, not yet taken
    // The own record layer: the traffic secrets while the handshake runs, then Record13.
    bool own_record_layer_wanted_ = false;
    std::unique_ptr<std::array<TrafficSecret, 2>> secrets_;  // [0] the client's, [1] the server's
    std::unique_ptr<Record13> record_;
    X509StackPtr kept_chain_;                   // verified_chain() once the SSL is gone
    const char* kept_version_ = "";
    const char* kept_cipher_ = "";              // OpenSSL's static suite name
    bool record_peer_closed_ = false;           // close_notify opened by enc_in()
    std::optional<std::string> record_failure_; // a failure enc_in() met, for the next cycle()
};

}  // namespace ocspgate::tls
