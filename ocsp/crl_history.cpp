#include "ocsp/crl_history.h"

#include <openssl/x509v3.h>

#include <algorithm>

namespace ocspgate::ocsp {
namespace {

template <class T, int (*I2d)(const T*, unsigned char**)>
std::string der_of(const T* value) {
    unsigned char* der = nullptr;
    const int len = value != nullptr ? I2d(value, &der) : 0;
    if (len <= 0) return {};
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

std::string idp_der(X509_CRL* crl) {
    const int at = X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1);
    if (at < 0) return {};
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_CRL_get_ext(crl, at));
    return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)), static_cast<std::size_t>(ASN1_STRING_length(data))};
}

// Length-prefixed, so that no two different tuples make the same key.
void append_part(std::string& key, const std::string& part) {
    key += std::to_string(part.size());
    key += ':';
    key += part;
}

}  // namespace

std::string crl_history_key(X509_CRL* crl, X509* issuer, bool delta) {
    std::string key;
    append_part(key, der_of<X509_NAME, i2d_X509_NAME>(X509_CRL_get_issuer(crl)));
    append_part(key, der_of<X509_PUBKEY, i2d_X509_PUBKEY>(X509_get_X509_PUBKEY(issuer)));
    append_part(key, idp_der(crl));
    key += delta ? 'D' : 'C';
    return key;
}

std::optional<CrlHistory::Seen> CrlHistory::highest(const std::string& key,
                                                    std::chrono::system_clock::time_point now) const {
    std::lock_guard lock(mutex_);
    auto it = seen_.find(key);
    if (it == seen_.end() || it->second.until < now) return std::nullopt;
    return it->second;
}

void CrlHistory::note(const std::string& key, Seen seen, std::chrono::system_clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = seen_.find(key);
    if (it != seen_.end()) {
        if (it->second.until >= now && it->second.number > seen.number) return;
        if (it->second.number == seen.number) seen.until = std::max(seen.until, it->second.until);
        it->second = std::move(seen);
        return;
    }
    if (seen_.size() >= max_entries_) {
        auto soonest = std::min_element(seen_.begin(), seen_.end(),
                                        [](const auto& a, const auto& b) { return a.second.until < b.second.until; });
        seen_.erase(soonest);
    }
    seen_.emplace(key, std::move(seen));
}

}  // namespace ocspgate::ocsp
