#include "ocsp/basic_response.h"

#include <openssl/asn1.h>
#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <vector>

#include "ocsp/der.h"

namespace ocspgate::ocsp {
namespace {

using der::read_only;
using der::read_tlv;
using der::TagClass;

// id-pkix-ocsp-basic (1.3.6.1.5.5.7.48.1.1), the contents of its DER OBJECT IDENTIFIER.
constexpr std::array<std::uint8_t, 9> kBasicOid = {0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01};

// The DER BasicOCSPResponse inside an OCSPResponse (the contents of `response`).
std::optional<der::Tlv> basic_of(std::span<const std::uint8_t> response_der) {
    auto outer = read_only(response_der, TagClass::universal, der::kSequence, true);
    if (!outer) return std::nullopt;
    auto status = read_tlv(outer->content);
    if (!status || !status->is(TagClass::universal, der::kEnumerated, false)) return std::nullopt;
    auto explicit_bytes = read_only(outer->content.subspan(status->whole.size()), TagClass::context, 0, true);
    if (!explicit_bytes) return std::nullopt;
    auto bytes = read_only(explicit_bytes->content, TagClass::universal, der::kSequence, true);
    if (!bytes) return std::nullopt;
    auto type = read_tlv(bytes->content);
    if (!type || !type->is(TagClass::universal, der::kObject, false) ||
        !std::equal(type->content.begin(), type->content.end(), kBasicOid.begin(), kBasicOid.end()))
        return std::nullopt;
    auto octets = read_only(bytes->content.subspan(type->whole.size()), TagClass::universal, der::kOctetString, false);
    if (!octets) return std::nullopt;
    return read_only(octets->content, TagClass::universal, der::kSequence, true);
}

// `before_certs` wrapped as a SEQUENCE (a BasicOCSPResponse without certs), decoded, with
// `certs` attached; null when that does not decode completely.
tls::OcspBasicRespPtr decode_with_certs(std::span<const std::uint8_t> before_certs,
                                       const std::vector<tls::X509Ptr>& certs) {
    if (before_certs.size() > static_cast<std::size_t>(INT_MAX / 2)) return nullptr;
    const int content = static_cast<int>(before_certs.size());
    const int total = ASN1_object_size(1, content, V_ASN1_SEQUENCE);
    if (total <= content) return nullptr;
    std::vector<unsigned char> der(static_cast<std::size_t>(total));
    unsigned char* out = der.data();
    ASN1_put_object(&out, 1, content, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
    std::memcpy(out, before_certs.data(), before_certs.size());
    const unsigned char* in = der.data();
    tls::OcspBasicRespPtr basic(d2i_OCSP_BASICRESP(nullptr, &in, total));
    if (!basic || in != der.data() + der.size()) return nullptr;
    for (const auto& cert : certs)
        if (OCSP_basic_add1_cert(basic.get(), cert.get()) != 1) return nullptr;
    return basic;
}

// The shortcut: null unless the certs field is cached and the rest decodes.
tls::OcspBasicRespPtr decode_from_cache(const BasicLayout& layout, ResponderCache& cache) {
    auto certs = cache.find_certs(layout.certs_field);
    if (!certs) return nullptr;
    ERR_set_mark();
    tls::OcspBasicRespPtr basic = decode_with_certs(layout.before_certs, *certs);
    ERR_pop_to_mark();  // a failure here is not reported: the full decoder runs and reports
    return basic;
}

}  // namespace

std::optional<BasicLayout> locate_basic_certs(std::span<const std::uint8_t> response_der) {
    auto basic = basic_of(response_der);
    if (!basic) return std::nullopt;
    std::span<const std::uint8_t> rest = basic->content;
    for (int field = 0; field < 3; ++field) {  // tbsResponseData, signatureAlgorithm, signature
        auto tlv = read_tlv(rest);
        if (!tlv) return std::nullopt;
        rest = rest.subspan(tlv->whole.size());
    }
    auto certs = read_only(rest, TagClass::context, 0, true);
    if (!certs) return std::nullopt;
    return BasicLayout{basic->content.first(basic->content.size() - rest.size()), certs->whole};
}

tls::OcspBasicRespPtr decode_basic(OCSP_RESPONSE* response, std::span<const std::uint8_t> response_der,
                                   ResponderCache* cache) {
    const auto layout = cache != nullptr ? locate_basic_certs(response_der) : std::nullopt;
    if (layout)
        if (auto basic = decode_from_cache(*layout, *cache)) return basic;
    tls::OcspBasicRespPtr basic(OCSP_response_get1_basic(response));
    if (basic && layout) cache->store_certs(layout->certs_field, OCSP_resp_get0_certs(basic.get()));
    return basic;
}

}  // namespace ocspgate::ocsp
