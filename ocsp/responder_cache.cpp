#include "ocsp/responder_cache.h"

#include <algorithm>

namespace ocspgate::ocsp {
namespace {

bool same_bytes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// The certificate's DER (re-encoded from the decoded form, which is what X509_verify reads);
// empty when it cannot be encoded.
std::vector<std::uint8_t> der_of(X509* cert) {
    const int size = i2d_X509(cert, nullptr);
    if (size <= 0) return {};
    std::vector<std::uint8_t> der(static_cast<std::size_t>(size));
    unsigned char* out = der.data();
    if (i2d_X509(cert, &out) != size) return {};
    return der;
}

// Moves `it` to the front of `entries` (most recently used first).
template <class Entries>
void touch(Entries& entries, typename Entries::iterator it) {
    std::rotate(entries.begin(), it, std::next(it));
}

template <class Entries, class Entry>
void insert_front(Entries& entries, Entry entry) {
    if (entries.size() >= ResponderCache::kMaxEntries) entries.pop_back();
    entries.insert(entries.begin(), std::move(entry));
}

}  // namespace

std::optional<std::vector<tls::X509Ptr>> ResponderCache::find_certs(std::span<const std::uint8_t> certs_field) {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(certs_.begin(), certs_.end(),
                           [&](const CertsEntry& e) { return same_bytes(e.field, certs_field); });
    if (it == certs_.end()) return std::nullopt;
    touch(certs_, it);
    std::vector<tls::X509Ptr> out;
    out.reserve(certs_.front().certs.size());
    for (const auto& cert : certs_.front().certs) {
        X509_up_ref(cert.get());
        out.emplace_back(cert.get());
    }
    return out;
}

void ResponderCache::store_certs(std::span<const std::uint8_t> certs_field, const STACK_OF(X509) * certs) {
    if (certs_field.empty() || sk_X509_num(certs) <= 0) return;
    CertsEntry entry;
    entry.field.assign(certs_field.begin(), certs_field.end());
    for (int i = 0; i < sk_X509_num(certs); ++i) {
        X509* cert = sk_X509_value(certs, i);
        X509_up_ref(cert);
        entry.certs.emplace_back(cert);
    }
    std::lock_guard lock(mutex_);
    // Another loop may have stored the same field meanwhile; keep one entry per field.
    auto it = std::find_if(certs_.begin(), certs_.end(),
                           [&](const CertsEntry& e) { return same_bytes(e.field, certs_field); });
    if (it != certs_.end()) return touch(certs_, it);
    insert_front(certs_, std::move(entry));
}

bool ResponderCache::knows_signed_by(X509* responder, X509* issuer, TimePoint now) {
    const std::vector<std::uint8_t> responder_der = der_of(responder);
    const std::vector<std::uint8_t> issuer_der = der_of(issuer);
    if (responder_der.empty() || issuer_der.empty()) return false;
    std::lock_guard lock(mutex_);
    auto it = std::find_if(signed_by_.begin(), signed_by_.end(), [&](const SignedByEntry& e) {
        return e.responder_der == responder_der && e.issuer_der == issuer_der;
    });
    if (it == signed_by_.end()) return false;
    if (now > it->valid_until) {  // the responder certificate has expired: forget it
        signed_by_.erase(it);
        return false;
    }
    touch(signed_by_, it);
    return true;
}

void ResponderCache::store_signed_by(X509* responder, X509* issuer, TimePoint valid_until) {
    SignedByEntry entry{der_of(responder), der_of(issuer), valid_until};
    if (entry.responder_der.empty() || entry.issuer_der.empty()) return;
    std::lock_guard lock(mutex_);
    auto it = std::find_if(signed_by_.begin(), signed_by_.end(), [&](const SignedByEntry& e) {
        return e.responder_der == entry.responder_der && e.issuer_der == entry.issuer_der;
    });
    if (it != signed_by_.end()) signed_by_.erase(it);
    insert_front(signed_by_, std::move(entry));
}

std::size_t ResponderCache::certs_entries() {
    std::lock_guard lock(mutex_);
    return certs_.size();
}

std::size_t ResponderCache::signed_by_entries() {
    std::lock_guard lock(mutex_);
    return signed_by_.size();
}

}  // namespace ocspgate::ocsp
