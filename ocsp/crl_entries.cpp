#include "ocsp/crl_entries.h"

#include <openssl/objects.h>

#include <algorithm>
#include <array>
#include <climits>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "ocsp/der.h"
#include "tls/ossl.h"

namespace ocspgate::ocsp {
namespace {

using der::TagClass;

// The contents of the extnIDs an entry may mark critical and still be used (§5.3).
constexpr std::array<std::uint8_t, 3> kReasonCode = {0x55, 0x1D, 0x15};           // 2.5.29.21
constexpr std::array<std::uint8_t, 3> kInvalidityDate = {0x55, 0x1D, 0x18};       // 2.5.29.24
constexpr std::array<std::uint8_t, 3> kHoldInstructionCode = {0x55, 0x1D, 0x17};  // 2.5.29.23

bool equals(std::span<const std::uint8_t> bytes, const std::array<std::uint8_t, 3>& oid) {
    return std::equal(bytes.begin(), bytes.end(), oid.begin(), oid.end());
}

bool is_digits(std::span<const std::uint8_t> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t c) { return c >= '0' && c <= '9'; });
}

int two_digits(std::span<const std::uint8_t> at) {
    return (at[0] - '0') * 10 + (at[1] - '0');
}

// RFC 5280 §4.1.2.5.1, §4.1.2.5.2: YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ, a date of the calendar.
bool is_rfc5280_time(const der::Tlv& t) {
    const std::size_t digits = t.is(TagClass::universal, der::kUtcTime, false)           ? 12
                               : t.is(TagClass::universal, der::kGeneralizedTime, false) ? 14
                                                                                         : 0;
    if (digits == 0 || t.content.size() != digits + 1 || t.content.back() != 'Z' || !is_digits(t.content.first(digits)))
        return false;
    const auto year_digits = t.content.first(digits - 10);
    int year = two_digits(year_digits.last(2));
    year += digits == 14 ? two_digits(year_digits) * 100 : year < 50 ? 2000 : 1900;
    const auto rest = t.content.subspan(digits - 10);
    const int month = two_digits(rest), day = two_digits(rest.subspan(2)), hour = two_digits(rest.subspan(4)),
              minute = two_digits(rest.subspan(6)), second = two_digits(rest.subspan(8));
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day >= 1 && day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

std::string oid_name(std::span<const std::uint8_t> oid_tlv) {
    const unsigned char* p = oid_tlv.data();
    tls::Asn1ObjectPtr object(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(oid_tlv.size())));
    const int nid = object ? OBJ_obj2nid(object.get()) : NID_undef;
    return nid == NID_undef ? "(unknown OID)" : OBJ_nid2sn(nid);
}

// Extensions ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE,
// extnValue OCTET STRING }. Sets `problem` at the first critical one not understood; false
// when the shape is wrong.
bool read_extensions(const der::Tlv& extensions, std::string& problem) {
    if (!extensions.is_sequence() || extensions.content.empty()) return false;
    for (auto rest = extensions.content; !rest.empty();) {
        auto ext = der::read_tlv(rest);
        if (!ext || !ext->is_sequence()) return false;
        rest = rest.subspan(ext->whole.size());
        auto id = der::read_tlv(ext->content);
        if (!id || !id->is(TagClass::universal, der::kObject, false) || !der::is_valid_object(id->content))
            return false;
        auto field = ext->content.subspan(id->whole.size());
        auto next = der::read_tlv(field);
        bool critical = false;
        if (next && next->is(TagClass::universal, der::kBoolean, false)) {
            if (next->content.size() != 1) return false;
            critical = next->content[0] != 0;
            field = field.subspan(next->whole.size());
        }
        if (!der::read_only(field, TagClass::universal, der::kOctetString, false)) return false;
        if (critical && problem.empty() && !equals(id->content, kReasonCode) &&
            !equals(id->content, kInvalidityDate) && !equals(id->content, kHoldInstructionCode))
            problem = "unsupported critical CRL entry extension " + oid_name(id->whole);
    }
    return true;
}

// One RevokedCertificate: nullopt when well formed, else what is wrong with it.
std::optional<std::string_view> entry_fault(const der::Tlv& entry, std::string& problem) {
    if (!entry.is_sequence()) return "not a SEQUENCE";
    auto serial = der::read_tlv(entry.content);
    if (!serial || !serial->is(TagClass::universal, der::kInteger, false)) return "no serial number";
    if (!der::is_minimal_integer(serial->content)) return "a serial number that is not a DER INTEGER";
    auto rest = entry.content.subspan(serial->whole.size());
    auto date = der::read_tlv(rest);
    if (!date || !is_rfc5280_time(*date)) return "no revocationDate of the RFC 5280 form";
    rest = rest.subspan(date->whole.size());
    if (rest.empty()) return std::nullopt;
    auto extensions = der::read_tlv(rest);
    if (!extensions || extensions->whole.size() != rest.size() || !read_extensions(*extensions, problem))
        return "malformed crlEntryExtensions";
    return std::nullopt;
}

// An INTEGER's contents from its DER (the header skipped).
std::span<const std::uint8_t> integer_content(std::span<const std::uint8_t> der_integer) {
    auto tlv = der::read_tlv(der_integer);
    return tlv ? tlv->content : std::span<const std::uint8_t>{};
}

bool less(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    if (a.size() != b.size()) return a.size() < b.size();
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

Result<CrlEntries> CrlEntries::index(std::span<const std::uint8_t> list) {
    if (list.size() > UINT32_MAX) return make_error(Errc::parse, "CRL entry list too large");
    CrlEntries out;
    out.der_.assign(list.begin(), list.end());
    const std::span<const std::uint8_t> all = out.der_;
    for (std::size_t at = 0; at < all.size();) {
        auto entry = der::read_tlv(all.subspan(at));
        auto fault = entry ? entry_fault(*entry, out.extension_problem_) : std::optional<std::string_view>("a bad header");
        if (fault)
            return make_error(Errc::parse, fmt::format("CRL entry {} has {}", out.order_.size() + 1, *fault));
        out.order_.push_back(static_cast<std::uint32_t>(at));
        at += entry->whole.size();
    }
    out.order_.shrink_to_fit();
    out.sort_by_serial();
    return out;
}

// Sorting 500 000 offsets by a comparator that finds both serials in the DER costs about a
// second; a key made once per entry (the serial's length and first 8 octets, which decide
// for random serials) takes the sort to tens of milliseconds. Ties fall back to the whole
// serial, then to list order. Many CAs list by serial already: then nothing moves.
void CrlEntries::sort_by_serial() {
    struct Key {
        std::uint64_t prefix;  // the serial's first 8 octets, big-endian, zero-padded
        std::uint32_t length;
        std::uint32_t offset;
    };
    std::vector<Key> keys;
    keys.reserve(order_.size());
    for (std::uint32_t at : order_) {
        const auto serial = serial_at(at);
        std::uint64_t prefix = 0;
        for (std::size_t i = 0; i < 8; ++i) prefix = (prefix << 8) | (i < serial.size() ? serial[i] : 0u);
        keys.push_back(Key{prefix, static_cast<std::uint32_t>(serial.size()), at});
    }
    auto by_serial = [this](const Key& a, const Key& b) {
        if (a.length != b.length) return a.length < b.length;
        if (a.prefix != b.prefix) return a.prefix < b.prefix;
        if (a.length > 8) {
            const auto sa = serial_at(a.offset), sb = serial_at(b.offset);
            if (less(sa, sb)) return true;
            if (less(sb, sa)) return false;
        }
        return a.offset < b.offset;
    };
    if (std::is_sorted(keys.begin(), keys.end(), by_serial)) return;
    std::sort(keys.begin(), keys.end(), by_serial);
    for (std::size_t i = 0; i < keys.size(); ++i) order_[i] = keys[i].offset;
}

std::span<const std::uint8_t> CrlEntries::serial_at(std::uint32_t offset) const {
    // index() checked the shape: an entry SEQUENCE whose first element is the INTEGER.
    auto entry = der::read_tlv(std::span<const std::uint8_t>(der_).subspan(offset));
    return integer_content(entry->content);
}

std::vector<std::span<const std::uint8_t>> CrlEntries::find(const ASN1_INTEGER* serial) const {
    std::vector<std::span<const std::uint8_t>> found;
    if (serial == nullptr || order_.empty()) return found;
    const int length = i2d_ASN1_INTEGER(serial, nullptr);
    if (length <= 0) return found;
    std::vector<std::uint8_t> encoded(static_cast<std::size_t>(length));
    unsigned char* p = encoded.data();
    i2d_ASN1_INTEGER(serial, &p);
    const auto key = integer_content(encoded);
    auto first = std::partition_point(order_.begin(), order_.end(),
                                      [&](std::uint32_t at) { return less(serial_at(at), key); });
    for (auto it = first; it != order_.end() && !less(key, serial_at(*it)); ++it) {
        auto entry = der::read_tlv(std::span<const std::uint8_t>(der_).subspan(*it));
        found.push_back(entry->whole);
    }
    return found;
}

}  // namespace ocspgate::ocsp
