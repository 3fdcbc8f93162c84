#include "conf/pem_files.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace ocspgate::conf {
namespace {

class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

Error io_error(const std::filesystem::path& file, int error_number) {
    return make_error(Errc::io, fmt::format("cannot read \"{}\": {}", file.string(),
                                            std::strerror(error_number)));
}

tls::BioPtr memory_bio(const std::string& bytes) {
    return tls::BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// After a PEM_read_bio_* loop returns null: did it merely run out of PEM blocks?
bool reached_end_of_pem() {
    unsigned long last = ERR_peek_last_error();
    return ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
}

// Refuses to decrypt: we cannot prompt, and must not let OpenSSL prompt on a terminal.
int refuse_passphrase(char*, int, int, void* asked) {
    *static_cast<bool*>(asked) = true;
    return -1;
}

}  // namespace

Result<std::string> read_file(const std::filesystem::path& file) {
    // O_NONBLOCK so that naming a FIFO fails below instead of hanging the load.
    FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0) return io_error(file, errno);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return io_error(file, errno);
    if (!S_ISREG(info.st_mode)) {
        return make_error(Errc::io, fmt::format("\"{}\" is not a regular file", file.string()));
    }
    std::string bytes(static_cast<std::size_t>(info.st_size), '\0');
    std::size_t filled = 0;
    while (filled < bytes.size()) {
        ssize_t n = ::read(fd.get(), bytes.data() + filled, bytes.size() - filled);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error(file, errno);
        if (n == 0) break;  // the file shrank while we read it
        filled += static_cast<std::size_t>(n);
    }
    bytes.resize(filled);
    return bytes;
}

Result<tls::X509StackPtr> read_certificates(const std::filesystem::path& file) {
    Result<std::string> bytes = read_file(file);
    if (!bytes) return std::move(bytes).error();
    tls::BioPtr bio = memory_bio(*bytes);
    tls::X509StackPtr certificates(sk_X509_new_null());
    tls::clear_errors();
    while (tls::X509Ptr certificate{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
        sk_X509_push(certificates.get(), certificate.release());
    }
    if (!reached_end_of_pem()) {
        return make_error(Errc::tls,
                          tls::drain_errors(fmt::format(
                              "\"{}\" holds a certificate that does not parse", file.string())));
    }
    tls::clear_errors();
    if (sk_X509_num(certificates.get()) == 0) {
        return make_error(Errc::config,
                          fmt::format("\"{}\" contains no PEM certificate", file.string()));
    }
    return certificates;
}

Result<tls::EvpPkeyPtr> read_private_key(const std::filesystem::path& file) {
    Result<std::string> bytes = read_file(file);
    if (!bytes) return std::move(bytes).error();
    tls::BioPtr bio = memory_bio(*bytes);
    bool asked_for_passphrase = false;
    tls::clear_errors();
    tls::EvpPkeyPtr key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &asked_for_passphrase));
    if (key) return key;
    if (asked_for_passphrase) {
        tls::clear_errors();
        return make_error(Errc::config,
                          fmt::format("\"{}\" is an encrypted private key; ocspgate cannot ask for "
                                      "a passphrase, so store it unencrypted (readable only by "
                                      "ocspgate)",
                                      file.string()));
    }
    return make_error(
        Errc::tls, tls::drain_errors(fmt::format("\"{}\" contains no PEM private key that parses",
                                                 file.string())));
}

Result<tls::X509CrlPtr> read_crl(const std::filesystem::path& file) {
    Result<std::string> bytes = read_file(file);
    if (!bytes) return std::move(bytes).error();
    tls::clear_errors();
    tls::BioPtr pem = memory_bio(*bytes);
    if (tls::X509CrlPtr crl{PEM_read_bio_X509_CRL(pem.get(), nullptr, nullptr, nullptr)})
        return crl;
    tls::clear_errors();
    tls::BioPtr der = memory_bio(*bytes);
    if (tls::X509CrlPtr crl{d2i_X509_CRL_bio(der.get(), nullptr)}) return crl;
    tls::clear_errors();
    return make_error(Errc::parse,
                      fmt::format("\"{}\" is not a CRL in PEM or DER form", file.string()));
}

bool key_mismatch(const std::filesystem::path& certificate_file,
                  const std::filesystem::path& key_file) {
    Result<tls::X509StackPtr> certificates = read_certificates(certificate_file);
    Result<tls::EvpPkeyPtr> key = read_private_key(key_file);
    if (!certificates || !key) return false;
    tls::clear_errors();
    bool matches = X509_check_private_key(sk_X509_value(certificates->get(), 0), key->get()) == 1;
    tls::clear_errors();
    return !matches;
}

}  // namespace ocspgate::conf
