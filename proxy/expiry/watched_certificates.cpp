#include "proxy/expiry/watched_certificates.h"

#include <set>

#include "proxy/log/log.h"
#include "tls/certificate.h"

namespace ocspgate::proxy::expiry {
namespace {

class Collector {
public:
    void add_file(const std::string& role, const std::string& owner, const std::filesystem::path& file,
                  bool first_is_leaf = false) {
        if (file.empty()) return;
        auto certificates = tls::load_certificates(file);
        if (!certificates) {
            log::Record("expiry_file_unreadable").field("file", file.string()).field("error", certificates.error().message)
                .emit(conf::LogLevel::warn);
            return;
        }
        for (std::size_t i = 0; i < certificates->size(); ++i) {
            const std::string& this_role = first_is_leaf && i > 0 ? role + "_chain" : role;
            add(this_role, owner + ": " + file.string(), (*certificates)[i].get());
        }
    }
    std::vector<WatchedCertificate> take() { return std::move(out_); }

private:
    void add(const std::string& role, const std::string& where, const X509* x509) {
        std::string fingerprint = tls::sha256_fingerprint_of(x509);
        if (!seen_.insert(role + "|" + fingerprint).second) return;
        out_.push_back({role, where, tls::subject_of(x509), tls::issuer_of(x509), tls::serial_hex_of(x509),
                        std::move(fingerprint), tls::not_after_of(x509)});
    }

    std::set<std::string> seen_;
    std::vector<WatchedCertificate> out_;
};

}  // namespace

std::vector<WatchedCertificate> configured_certificates(const conf::Config& config) {
    Collector collect;
    for (const conf::Listener& l : config.listeners) {
        std::string owner = "listener " + l.name;
        collect.add_file("listener", owner, l.tls.certificate, true);
        collect.add_file("listener", owner, l.tls.second_certificate, true);
        collect.add_file("client_ca", owner, l.tls.client_ca);
        collect.add_file("backend_ca", owner, l.backend_ca);
    }
    for (const auto& [name, profile] : config.revocation) {
        std::string owner = "revocation " + name;
        for (const auto& file : profile.ocsp.responder_trust) collect.add_file("responder_trust", owner, file);
        for (const auto& issuer : profile.ocsp.issuers) collect.add_file("responder_trust", owner, issuer.certificate);
        collect.add_file("responder_tls_ca", owner, profile.ocsp.tls_ca);
        collect.add_file("responder_client", owner, profile.ocsp.tls_certificate, true);
    }
    return collect.take();
}

}  // namespace ocspgate::proxy::expiry
