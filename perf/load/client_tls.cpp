#include "perf/load/client_tls.h"

#include <array>

namespace ocspgate::perf {

tls::SslCtxPtr make_client_context(const ClientOptions& options, const std::string& chain_file,
                                   const std::string& key_file, std::string& error) {
    tls::SslCtxPtr ctx = make_client_context(options, error);
    if (!ctx) return nullptr;
    tls::clear_errors();
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), chain_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
        error = tls::drain_errors(chain_file + " / " + key_file);
        return nullptr;
    }
    return ctx;
}

tls::SslCtxPtr make_client_context(const ClientOptions& options, std::string& error) {
    tls::SslCtxPtr ctx{SSL_CTX_new(TLS_client_method())};
    if (!ctx) {
        error = "SSL_CTX_new failed";
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx.get(), options.tls_version);
    SSL_CTX_set_max_proto_version(ctx.get(), options.tls_version);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    if (!options.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr) != 1) {
            error = tls::drain_errors(options.ca_file);
            return nullptr;
        }
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    }
    return ctx;
}

ClientTls::ClientTls(const ClientIdentity& identity) : ssl_{SSL_new(identity.ctx.get())} {
    if (identity.cert) {
        tls::X509StackPtr chain{sk_X509_new_null()};
        sk_X509_push(chain.get(), identity.issuer.get());  // borrowed: SSL_use_cert_and_key takes its own references
        SSL_use_cert_and_key(ssl_.get(), identity.cert.get(), identity.key.get(), chain.get(), 1);
        (void)sk_X509_pop(chain.get());
    }
    enc_in_bio_ = BIO_new(BIO_s_mem());
    enc_out_bio_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(enc_in_bio_, -1);  // empty input means "wait", not EOF
    SSL_set_bio(ssl_.get(), enc_in_bio_, enc_out_bio_);
    SSL_set_connect_state(ssl_.get());
}

void ClientTls::enc_in(std::span<const char> ciphertext) {
    BIO_write(enc_in_bio_, ciphertext.data(), static_cast<int>(ciphertext.size()));
}

void ClientTls::take_enc_out(std::vector<char>& out) {
    char* data = nullptr;
    const long pending = BIO_get_mem_data(enc_out_bio_, &data);
    if (pending <= 0) return;
    out.insert(out.end(), data, data + pending);
    (void)BIO_reset(enc_out_bio_);
}

Step ClientTls::fail_from(int ret, const char* what) {
    const int err = SSL_get_error(ssl_.get(), ret);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Step::want_more;
    if (err == SSL_ERROR_ZERO_RETURN) return Step::done;
    const unsigned long code = ERR_peek_last_error();
    const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
    failure_ = std::string{what} + ": " + (reason != nullptr ? reason : err == SSL_ERROR_SYSCALL ? "unexpected eof" : "error");
    ERR_clear_error();
    return Step::failed;
}

Step ClientTls::handshake() {
    tls::clear_errors();
    const int ret = SSL_do_handshake(ssl_.get());
    return ret == 1 ? Step::done : fail_from(ret, "handshake");
}

Step ClientTls::clear_in(std::span<const char> plaintext) {
    tls::clear_errors();
    const int ret = SSL_write(ssl_.get(), plaintext.data(), static_cast<int>(plaintext.size()));
    return ret > 0 ? Step::want_more : fail_from(ret, "write");
}

Step ClientTls::clear_out(std::vector<char>& out) {
    std::array<char, 16384> buffer;
    for (;;) {
        tls::clear_errors();
        const int ret = SSL_read(ssl_.get(), buffer.data(), static_cast<int>(buffer.size()));
        if (ret <= 0) return fail_from(ret, "read");
        out.insert(out.end(), buffer.data(), buffer.data() + ret);
    }
}

void ClientTls::shutdown() {
    tls::clear_errors();
    (void)SSL_shutdown(ssl_.get());
    ERR_clear_error();
}

}  // namespace ocspgate::perf
