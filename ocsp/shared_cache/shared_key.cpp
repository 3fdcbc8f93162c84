#include "ocsp/shared_cache/shared_key.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>

namespace ocspgate::ocsp {
namespace {

void add_field(std::string& out, const std::string& field) {
    auto n = static_cast<std::uint32_t>(field.size());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
    out += field;
}

}  // namespace

namespace {

std::string hex_sha256(const std::string& bytes) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char byte : digest) {
        out.push_back(hex[byte >> 4]);
        out.push_back(hex[byte & 0x0f]);
    }
    return out;
}

}  // namespace

std::string shared_crl_key(const std::string& prefix, const std::string& url) {
    return prefix + "crl:" + hex_sha256(url);
}

std::string shared_key(const std::string& prefix, const CertId& id) {
    std::string fields;
    add_field(fields, std::to_string(id.hash_nid));
    add_field(fields, id.issuer_name_hash);
    add_field(fields, id.issuer_key_hash);
    add_field(fields, id.serial);
    std::string key = prefix + "ocsp:" + hex_sha256(fields);
    return key;
}

std::optional<std::chrono::seconds> shared_ttl(const Answer& answer, std::chrono::system_clock::time_point now,
                                               std::chrono::milliseconds max_ttl) {
    if (answer.status != CertStatus::good && answer.status != CertStatus::revoked) return std::nullopt;
    if (!answer.next_update) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::seconds>(*answer.next_update - now);
    auto ttl = std::min(left, std::chrono::duration_cast<std::chrono::seconds>(max_ttl));
    if (ttl < std::chrono::seconds(1)) return std::nullopt;
    return ttl;
}

}  // namespace ocspgate::ocsp
