#include "tls/engine.h"

#include <openssl/async.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <string_view>
#include <utility>

#include "tls/verified_chain_cache.h"

namespace ocspgate::tls {
namespace {

// SSL_read chunk: one TLS record's worth of plaintext.
constexpr std::size_t kReadChunk = 16 * 1024;

std::string describe_verify_error(long code) {
    switch (code) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            return "untrusted issuer";
        case X509_V_ERR_CERT_HAS_EXPIRED: return "certificate expired";
        case X509_V_ERR_CERT_NOT_YET_VALID: return "certificate not yet valid";
        case X509_V_ERR_INVALID_PURPOSE: return "certificate not valid for client authentication";
        default: return std::string("certificate rejected: ") + X509_verify_cert_error_string(code);
    }
}

// Why a server's certificate was refused, as the client role sees it (OpenSSL's own
// verification, with the host or IP check of X509_VERIFY_PARAM).
std::string describe_server_verify_error(long code) {
    switch (code) {
        case X509_V_ERR_HOSTNAME_MISMATCH: return "name mismatch";
        case X509_V_ERR_IP_ADDRESS_MISMATCH: return "IP address mismatch";
        case X509_V_ERR_INVALID_PURPOSE: return "certificate not valid for server authentication";
        default: return describe_verify_error(code);
    }
}

// "<hex>" into `out`; false unless it is whole hex that fits.
bool parse_secret(std::string_view hex, TrafficSecret& out) {
    if (hex.size() % 2 != 0 || hex.size() / 2 > out.bytes.size()) return false;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int high = nibble(hex[i]);
        int low = nibble(hex[i + 1]);
        if (high < 0 || low < 0) return false;
        out.bytes[i / 2] = static_cast<std::uint8_t>(high << 4 | low);
    }
    out.size = hex.size() / 2;
    return true;
}

bool is_ip_address(const std::string& name) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name.c_str());
    ASN1_OCTET_STRING_free(ip);
    return ip != nullptr;
}

}  // namespace

BIO* Engine::new_memory_bio() {
    BIO* bio = BIO_new(BIO_s_mem());
    // An empty input BIO means "wait for more bytes", not end of stream.
    if (bio != nullptr) BIO_set_mem_eof_return(bio, -1);
    return bio;
}

Result<SslPtr> Engine::new_ssl(SSL_CTX* ctx) {
    clear_errors();
    SslPtr ssl(SSL_new(ctx));
    if (!ssl) return make_error(Errc::tls, drain_errors("SSL_new"));
    BIO* in = new_memory_bio();
    BIO* out = new_memory_bio();
    if (in == nullptr || out == nullptr) {
        BIO_free(in);
        BIO_free(out);
        return make_error(Errc::tls, drain_errors("BIO_new"));
    }
    SSL_set_bio(ssl.get(), in, out);
    return ssl;
}

Result<std::unique_ptr<Engine>> Engine::create(SSL_CTX* ctx, RevocationGate* gate) {
    auto ssl = new_ssl(ctx);
    if (!ssl) return std::move(ssl).error();
    SSL_set_accept_state(ssl->get());
    std::unique_ptr<Engine> engine(new Engine(std::move(ssl).value(), gate));
    engine->own_record_layer_wanted_ = SSL_CTX_get_keylog_callback(ctx) == &Engine::on_keylog;
    return engine;
}

Result<std::unique_ptr<Engine>> Engine::create_client(SSL_CTX* ctx, const std::string& server_name,
                                                      RevocationGate* gate) {
    auto ssl = new_ssl(ctx);
    if (!ssl) return std::move(ssl).error();
    SSL* s = ssl->get();
    X509_VERIFY_PARAM* param = SSL_get0_param(s);
    bool ok = is_ip_address(server_name)
                  ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str()) == 1
                  : SSL_set_tlsext_host_name(s, server_name.c_str()) == 1 && SSL_set1_host(s, server_name.c_str()) == 1;
    if (!ok) return make_error(Errc::tls, drain_errors("cannot set the peer name " + server_name));
    SSL_set_connect_state(s);
    std::unique_ptr<Engine> engine(new Engine(std::move(ssl).value(), gate));
    engine->client_role_ = true;
    return engine;
}

Engine::Engine(SslPtr ssl, RevocationGate* gate) : ssl_(std::move(ssl)), gate_(gate) {
    enc_in_bio_ = SSL_get_rbio(ssl_.get());
    enc_out_bio_ = SSL_get_wbio(ssl_.get());
    SSL_set_app_data(ssl_.get(), this);
}

Engine::~Engine() {
    if (secrets_) OPENSSL_cleanse(secrets_->data(), sizeof(*secrets_));
    // A paused verify callback lives on an OpenSSL ASYNC job's stack; let it run to its end
    // (refusing the chain) so the job and its stack return to the pool before SSL_free.
    if (verification_paused_) {
        verdict_ = ChainVerdict::undetermined;
        clear_errors();
        SSL_do_handshake(ssl_.get());
        clear_errors();
    }
}

void Engine::install_verify_callback(SSL_CTX* ctx) { SSL_CTX_set_cert_verify_callback(ctx, &Engine::on_verify, nullptr); }

void Engine::install_own_record_layer(SSL_CTX* ctx) { SSL_CTX_set_keylog_callback(ctx, &Engine::on_keylog); }

// OpenSSL 3.0 hands out TLS 1.3 secrets only as NSS key log lines ("LABEL <client random>
// <secret>", both hex); the two application traffic secrets are kept, nothing is written.
void Engine::on_keylog(const SSL* ssl, const char* line) noexcept {
    auto* self = static_cast<Engine*>(SSL_get_app_data(ssl));
    if (self == nullptr || !self->own_record_layer_wanted_) return;
    std::string_view text(line);
    std::size_t slot;
    if (text.starts_with("CLIENT_TRAFFIC_SECRET_0 ")) slot = 0;
    else if (text.starts_with("SERVER_TRAFFIC_SECRET_0 ")) slot = 1;
    else return;
    std::size_t last_space = text.rfind(' ');
    if (!self->secrets_) self->secrets_ = std::make_unique<std::array<TrafficSecret, 2>>();
    if (!parse_secret(text.substr(last_space + 1), (*self->secrets_)[slot])) (*self->secrets_)[slot].size = 0;
}

int Engine::on_verify(X509_STORE_CTX* store, void* /*arg*/) noexcept {
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* self = ssl ? static_cast<Engine*>(SSL_get_app_data(ssl)) : nullptr;
    if (self == nullptr) return 0;  // not ours: refuse rather than guess
    return self->verify(store);
}

int Engine::verify(X509_STORE_CTX* store) {
    if (X509* leaf = X509_STORE_CTX_get0_cert(store); leaf != nullptr) {
        X509_up_ref(leaf);
        peer_leaf_.reset(leaf);
    }
    if (!verify_chain(store)) {
        long code = X509_STORE_CTX_get_error(store);
        // OpenSSL checks a certificate's signature before its times, from the anchor down: an
        // expiry at depth 0 means a chain otherwise good up to a trusted anchor.
        only_leaf_expired_ = code == X509_V_ERR_CERT_HAS_EXPIRED && X509_STORE_CTX_get_error_depth(store) == 0;
        verify_error_ = code;
        if (X509* failed = X509_STORE_CTX_get_current_cert(store); failed != nullptr) {
            X509_up_ref(failed);
            verify_error_cert_.reset(failed);
        }
        verify_failure_ = client_role_ ? describe_server_verify_error(code) : describe_verify_error(code);
        return 0;
    }
    if (gate_ == nullptr) return 1;
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(store);
    std::optional<ChainVerdict> verdict = gate_->decide_now(chain);
    return apply_verdict(verdict ? *verdict : wait_for_verdict(chain), store);
}

bool Engine::verify_chain(X509_STORE_CTX* store) {
    // The server role's verification depends only on the context and the presented chain, so
    // a chain verified before may be reused; the client role adds a per-connection name check.
    VerifiedChainCache* cache = client_role_ ? nullptr : VerifiedChainCache::of(SSL_get_SSL_CTX(ssl_.get()));
    if (cache == nullptr || !VerifiedChainCache::applies_to(store)) return X509_verify_cert(store) == 1;
    std::optional<VerifiedChainCache::Key> key = VerifiedChainCache::key_of(store);
    if (key && cache->restore(*key, store, std::time(nullptr))) return true;
    if (X509_verify_cert(store) != 1) return false;
    if (key) cache->remember(*key, store);
    return true;
}

ChainVerdict Engine::wait_for_verdict(STACK_OF(X509) * chain) {
    if (ASYNC_get_current_job() == nullptr) return ChainVerdict::undetermined;  // no ASYNC mode: fail closed
    pending_chain_.reset(X509_chain_up_ref(chain));
    verdict_.reset();
    verification_paused_ = true;
    // Resumed only by a later SSL_do_handshake; loop in case it is resumed without a verdict.
    while (!verdict_) {
        if (ASYNC_pause_job() != 1) {
            verdict_ = ChainVerdict::undetermined;
            break;
        }
    }
    verification_paused_ = false;
    pending_chain_.reset();
    return *verdict_;
}

int Engine::apply_verdict(ChainVerdict verdict, X509_STORE_CTX* store) {
    switch (verdict) {
        case ChainVerdict::accept: return 1;
        case ChainVerdict::revoked:
            verify_failure_ = "certificate revoked";
            X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REVOKED);
            return 0;
        case ChainVerdict::unknown:
            verify_failure_ = "certificate status unknown";
            X509_STORE_CTX_set_error(store, X509_V_ERR_OCSP_CERT_UNKNOWN);
            return 0;
        case ChainVerdict::undetermined:
            verify_failure_ = "revocation status could not be determined";
            X509_STORE_CTX_set_error(store, X509_V_ERR_OCSP_VERIFY_FAILED);
            return 0;
    }
    return 0;
}

void Engine::resume_verification(ChainVerdict verdict) { verdict_ = verdict; }

void Engine::enc_in(std::span<const std::uint8_t> ciphertext) {
    if (record_) {  // opened at once: no copy of the ciphertext is kept
        if (!failed_ && !record_failure_ && !record_peer_closed_) note_opened(record_->open(ciphertext, clear_out_));
        return;
    }
    if (!ciphertext.empty()) BIO_write(enc_in_bio_, ciphertext.data(), static_cast<int>(ciphertext.size()));
}

void Engine::note_opened(Record13::Opened opened) {
    record_peer_closed_ = record_peer_closed_ || opened.peer_closed;
    if (opened.failure) record_failure_ = std::move(opened.failure);
}

void Engine::clear_in(std::span<const std::uint8_t> plaintext) {
    queued_plaintext_.insert(queued_plaintext_.end(), plaintext.begin(), plaintext.end());
    if (handshake_done_ && !failed_) write_queued_plaintext();
}

void Engine::write_queued_plaintext() {
    if (queued_plaintext_.empty()) return;
    if (record_) {
        record_->seal(queued_plaintext_);
        std::vector<std::uint8_t>().swap(queued_plaintext_);
        return;
    }
    std::size_t written = 0;
    clear_errors();
    // Memory BIOs grow, so after the handshake SSL_write_ex takes everything at once.
    if (SSL_write_ex(ssl_.get(), queued_plaintext_.data(), queued_plaintext_.size(), &written) == 1)
        queued_plaintext_.erase(queued_plaintext_.begin(), queued_plaintext_.begin() + static_cast<long>(written));
}

void Engine::shutdown() {
    if (!handshake_done_ || failed_) return;
    write_queued_plaintext();
    if (record_) return record_->alert(Record13::kCloseNotify);
    clear_errors();
    SSL_shutdown(ssl_.get());
}

bool Engine::send_fatal_alert(std::uint8_t description) {
    if (!record_ || failed_) return false;
    write_queued_plaintext();  // what was queued before the decision still goes out first
    record_->alert(description);
    failed_ = true;            // nothing is read or sent after a fatal alert, not even close_notify
    return true;
}

CycleEvents Engine::cycle() {
    CycleEvents events;
    if (in_cycle_ || failed_) return events;
    in_cycle_ = true;
    if (!handshake_done_) run_handshake(events);
    if (record_ && !failed_) {
        write_queued_plaintext();
        events.peer_closed = record_peer_closed_;
        if (record_failure_) {
            failed_ = true;
            events.failure = std::move(record_failure_);
        }
    } else if (handshake_done_ && !failed_) {
        write_queued_plaintext();
        read_plaintext(events);
        release_drained_input();
        release_drained_output();  // the server's flight may already have been taken
    }
    in_cycle_ = false;
    return events;
}

// A memory BIO keeps the largest buffer it ever grew to even when empty: after the handshake
// that is the size of its flights (a few KiB each way), held for the life of a connection that
// then mostly idles. So once, when each BIO is first drained after the handshake, it is
// swapped for a fresh one, which allocates nothing until bytes arrive. Not on every drain:
// re-growing a buffer for each burst of records cost ≈ 15% more CPU per forwarded byte.
// (SSL_MODE_RELEASE_BUFFERS does this for OpenSSL's own record buffers, not for the BIOs.)
void Engine::release_drained_input() {
    if (input_released_ || BIO_ctrl_pending(enc_in_bio_) != 0) return;
    if (BIO* fresh = new_memory_bio(); fresh != nullptr) {
        SSL_set0_rbio(ssl_.get(), fresh);  // frees the old one
        enc_in_bio_ = fresh;
        input_released_ = true;
    }
}

void Engine::release_drained_output() {
    if (output_released_ || !handshake_done_ || BIO_ctrl_pending(enc_out_bio_) != 0) return;
    if (BIO* fresh = new_memory_bio(); fresh != nullptr) {
        SSL_set0_wbio(ssl_.get(), fresh);  // frees the old one
        enc_out_bio_ = fresh;
        output_released_ = true;
    }
}

void Engine::run_handshake(CycleEvents& events) {
    clear_errors();
    int rc = SSL_do_handshake(ssl_.get());
    if (rc == 1) {
        handshake_done_ = true;
        events.handshake_done = true;
        // Reads and writes after the handshake need no suspension; skip the ASYNC job cost.
        SSL_clear_mode(ssl_.get(), SSL_MODE_ASYNC);
        if (own_record_layer_wanted_ && !client_role_) move_to_own_record_layer();
        return;
    }
    int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
    if (err == SSL_ERROR_WANT_ASYNC) {
        events.verification_paused = verification_paused_;
        return;
    }
    failed_ = true;
    events.failure = describe_failure(err);
}

// Right after the handshake both application sequence numbers are still 0 (no ticket was
// sent, no record read); OpenSSL's state goes, and what it had not consumed yet (records that
// came with the client's Finished) or not handed out (its own last bytes) moves across. With
// anything else (TLS 1.2, a CCM suite, bytes inside OpenSSL) the connection stays with it.
void Engine::move_to_own_record_layer() {
    auto secrets = std::move(secrets_);
    SSL* ssl = ssl_.get();
    // Tickets would have used our first write sequence numbers; a negotiated
    // max_fragment_length (RFC 6066) would bind our record size: both stay with OpenSSL.
    if (!secrets || SSL_version(ssl) != TLS1_3_VERSION || SSL_has_pending(ssl) != 0 || SSL_get_num_tickets(ssl) != 0 ||
        SSL_SESSION_get_max_fragment_length(SSL_get_session(ssl)) != TLSEXT_max_fragment_length_DISABLED) {
        if (secrets) OPENSSL_cleanse(secrets->data(), sizeof(*secrets));
        return;
    }
    auto record = Record13::create(SSL_get_current_cipher(ssl), (*secrets)[0], (*secrets)[1]);
    OPENSSL_cleanse(secrets->data(), sizeof(*secrets));
    if (!record) return;
    if (STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl); chain != nullptr)  // null without a client certificate
        kept_chain_.reset(X509_chain_up_ref(chain));
    kept_version_ = SSL_get_version(ssl);
    kept_cipher_ = SSL_get_cipher_name(ssl);
    auto drain = [](BIO* bio) {
        std::vector<std::uint8_t> bytes(BIO_ctrl_pending(bio));
        if (bytes.empty()) return bytes;
        const int got = BIO_read(bio, bytes.data(), static_cast<int>(bytes.size()));
        bytes.resize(static_cast<std::size_t>(std::max(0, got)));
        return bytes;
    };
    std::vector<std::uint8_t> unread = drain(enc_in_bio_);
    std::vector<std::uint8_t> unsent = drain(enc_out_bio_);
    record_ = std::move(record).value();
    record_->pass_through(unsent);
    ssl_.reset();
    enc_in_bio_ = enc_out_bio_ = nullptr;
    note_opened(record_->open(unread, clear_out_));
}

void Engine::read_plaintext(CycleEvents& events) {
    // Read through one buffer per thread: growing clear_out_ by a chunk before each read would
    // zero-fill 16 KiB and leave that capacity behind on every idle connection.
    thread_local std::array<std::uint8_t, kReadChunk> chunk;
    for (;;) {
        std::size_t got = 0;
        clear_errors();
        int rc = SSL_read_ex(ssl_.get(), chunk.data(), chunk.size(), &got);
        if (rc == 1) {
            clear_out_.insert(clear_out_.end(), chunk.begin(), chunk.begin() + static_cast<long>(got));
            continue;
        }
        int err = SSL_get_error(ssl_.get(), 0);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
        if (err == SSL_ERROR_ZERO_RETURN) {
            events.peer_closed = true;
            return;
        }
        failed_ = true;
        events.failure = describe_failure(err);
        return;
    }
}

std::string Engine::describe_failure(int ssl_error) {
    // Without our verify callback (no revocation gate), OpenSSL verified the peer itself.
    if (long code = SSL_get_verify_result(ssl_.get()); client_role_ && verify_failure_.empty() && code != X509_V_OK)
        verify_failure_ = describe_server_verify_error(code);
    if (!verify_failure_.empty()) {
        clear_errors();
        return verify_failure_;
    }
    unsigned long e = ERR_peek_last_error();
    if (ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        no_peer_certificate_ = true;
        clear_errors();
        return "no client certificate";
    }
    if (ssl_error == SSL_ERROR_SYSCALL && e == 0) return "connection closed by peer without close_notify";
    return drain_errors(handshake_done_ ? "TLS error" : "handshake failed");
}

std::size_t Engine::take_enc_out(std::vector<std::uint8_t>& out) {
    if (record_) return record_->take_output(out);
    std::size_t n = BIO_ctrl_pending(enc_out_bio_);
    if (n == 0) return 0;
    std::size_t old_size = out.size();
    out.resize(old_size + n);
    int got = BIO_read(enc_out_bio_, out.data() + old_size, static_cast<int>(n));
    out.resize(old_size + (got > 0 ? static_cast<std::size_t>(got) : 0));
    release_drained_output();
    return out.size() - old_size;
}

std::size_t Engine::take_clear_out(std::vector<std::uint8_t>& out) {
    std::size_t n = clear_out_.size();
    if (n == 0) return 0;
    if (out.empty()) {
        out.swap(clear_out_);
    } else {
        out.insert(out.end(), clear_out_.begin(), clear_out_.end());
        clear_out_.clear();
    }
    return n;
}

std::size_t Engine::enc_out_pending() const {
    return record_ ? record_->output_pending() : BIO_ctrl_pending(enc_out_bio_);
}
std::size_t Engine::enc_in_pending() const { return record_ ? record_->input_pending() : BIO_ctrl_pending(enc_in_bio_); }

const char* Engine::version() const { return record_ ? kept_version_ : SSL_get_version(ssl_.get()); }

const char* Engine::cipher() const {
    if (record_) return kept_cipher_;
    const char* name = SSL_get_cipher_name(ssl_.get());
    return name ? name : "";
}

}  // namespace ocspgate::tls
