#include "ocsp/signed_crl.h"

#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "ocsp/der.h"

namespace ocspgate::ocsp {
namespace {

using Bytes = std::span<const std::uint8_t>;

bool is_space(std::uint8_t c) {
    return std::isspace(c) != 0;
}

Bytes skip_leading_space(Bytes bytes) {
    const auto first = std::find_if_not(bytes.begin(), bytes.end(), is_space);
    return bytes.subspan(static_cast<std::size_t>(first - bytes.begin()));
}

bool looks_like_pem(Bytes bytes) {
    constexpr std::string_view begin = "-----BEGIN";
    return bytes.size() >= begin.size() && std::equal(begin.begin(), begin.end(), bytes.begin());
}

struct OpensslBytes {
    void operator()(unsigned char* p) const { OPENSSL_free(p); }
};

// The DER inside the first "X509 CRL" PEM block (other blocks before it are skipped, as
// PEM_read_bio_X509_CRL does); only whitespace may follow it.
Result<std::vector<std::uint8_t>> pem_to_der(Bytes text) {
    tls::BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) return make_error(Errc::tls, tls::drain_errors("cannot read CRL"));
    unsigned char* data = nullptr;
    long length = 0;
    if (PEM_bytes_read_bio(&data, &length, nullptr, PEM_STRING_X509_CRL, bio.get(), nullptr, nullptr) != 1)
        return make_error(Errc::parse, tls::drain_errors("not a PEM X509 CRL"));
    std::unique_ptr<unsigned char, OpensslBytes> owned(data);
    char* rest = nullptr;
    const long rest_len = BIO_get_mem_data(bio.get(), &rest);
    if (!std::all_of(rest, rest + rest_len, [](char c) { return is_space(static_cast<std::uint8_t>(c)); }))
        return make_error(Errc::parse, "data after the PEM CRL");
    return std::vector<std::uint8_t>(data, data + length);
}

// Where the parts of a CertificateList lie.
struct Layout {
    Bytes tbs;             // the TBSCertList element, whole
    Bytes before_list;     // its contents before revokedCertificates (all of them when absent)
    bool has_list = false;
    Bytes list;            // revokedCertificates' contents: the entries
    Bytes after_list;      // what follows revokedCertificates: crlExtensions, or nothing
    Bytes after_tbs;       // signatureAlgorithm, signatureValue
    bool algorithms_agree = false;  // the TBSCertList's signature field equals signatureAlgorithm
};

bool is_time(const der::Tlv& t) {
    return t.is(der::TagClass::universal, der::kUtcTime, false) ||
           t.is(der::TagClass::universal, der::kGeneralizedTime, false);
}

// TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL, signature AlgorithmIdentifier, issuer
// Name, thisUpdate Time, nextUpdate Time OPTIONAL, revokedCertificates SEQUENCE OF ... OPTIONAL,
// crlExtensions [0] EXPLICIT Extensions OPTIONAL }. The fields are found by position and
// tag, nothing else may follow, and d2i_X509_CRL checks the contents of all but the list: so
// the list cut out here is exactly what a whole decode would take as revokedCertificates.
Result<Layout> locate(Bytes der) {
    auto bad = [](const char* what) { return make_error(Errc::parse, std::string("not a DER X509 CRL: ") + what); };
    auto outer = der::read_tlv(der);
    if (!outer || !outer->is_sequence()) return make_error(Errc::parse, "not a DER X509 CRL");
    if (outer->whole.size() != der.size())
        return make_error(Errc::parse, fmt::format("{} bytes after the DER CRL", der.size() - outer->whole.size()));
    auto tbs = der::read_tlv(outer->content);
    if (!tbs || !tbs->is_sequence()) return bad("no TBSCertList");

    std::vector<der::Tlv> fields;
    for (Bytes rest = tbs->content; !rest.empty();) {
        auto field = der::read_tlv(rest);
        if (!field) return bad("a TBSCertList field with a bad header");
        fields.push_back(*field);
        rest = rest.subspan(field->whole.size());
    }
    std::size_t i = 0;
    auto next_is = [&](auto&& test) { return i < fields.size() && test(fields[i]); };
    const auto is_integer = [](const der::Tlv& t) { return t.is(der::TagClass::universal, der::kInteger, false); };
    const auto is_sequence = [](const der::Tlv& t) { return t.is_sequence(); };
    const auto is_extensions = [](const der::Tlv& t) { return t.is(der::TagClass::context, 0, true); };
    if (next_is(is_integer)) ++i;                                     // version
    if (!next_is(is_sequence)) return bad("no signature algorithm");  // signature
    const der::Tlv& inner_algorithm = fields[i++];
    if (!next_is(is_sequence)) return bad("no issuer");
    ++i;
    if (!next_is(is_time)) return bad("no thisUpdate");
    ++i;
    if (next_is(is_time)) ++i;  // nextUpdate

    Layout layout;
    layout.tbs = tbs->whole;
    layout.after_tbs = outer->content.subspan(tbs->whole.size());
    const auto offset = [&](std::size_t field) {
        return field < fields.size() ? static_cast<std::size_t>(fields[field].whole.data() - tbs->content.data())
                                     : tbs->content.size();
    };
    layout.before_list = tbs->content.first(offset(i));
    if (next_is(is_sequence)) {
        layout.has_list = true;
        layout.list = fields[i++].content;
    }
    layout.after_list = tbs->content.subspan(offset(i));
    if (next_is(is_extensions)) ++i;
    if (i != fields.size()) return bad("an unexpected TBSCertList field");

    // RFC 5280 §5.1.2.2: the signature field inside TBSCertList MUST equal signatureAlgorithm
    // (X509_CRL_verify refuses a CRL where they differ). Compared as DER.
    auto outer_algorithm = der::read_tlv(layout.after_tbs);
    layout.algorithms_agree = outer_algorithm && std::equal(inner_algorithm.whole.begin(), inner_algorithm.whole.end(),
                                                            outer_algorithm->whole.begin(), outer_algorithm->whole.end());
    return layout;
}

void append(std::vector<std::uint8_t>& out, Bytes bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

// The CertificateList without revokedCertificates, decoded.
Result<tls::X509CrlPtr> decode_header(const Layout& l) {
    const std::size_t tbs_length = l.before_list.size() + l.after_list.size();
    std::vector<std::uint8_t> tbs = der::sequence_header(tbs_length);
    append(tbs, l.before_list);
    append(tbs, l.after_list);
    std::vector<std::uint8_t> skeleton = der::sequence_header(tbs.size() + l.after_tbs.size());
    append(skeleton, tbs);
    append(skeleton, l.after_tbs);
    if (skeleton.size() > static_cast<std::size_t>(LONG_MAX)) return make_error(Errc::parse, "CRL too large");
    tls::clear_errors();
    const unsigned char* p = skeleton.data();
    tls::X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(skeleton.size())));
    if (!crl) return make_error(Errc::parse, tls::drain_errors("not a DER X509 CRL"));
    if (p != skeleton.data() + skeleton.size()) return make_error(Errc::parse, "not a DER X509 CRL: trailing fields");
    // What was cut out is the only list: the header must hold no entries of its own.
    if (X509_CRL_get_REVOKED(crl.get()) != nullptr) return make_error(Errc::parse, "not a DER X509 CRL: a second entry list");
    return crl;
}

}  // namespace

Result<std::shared_ptr<const SignedCrl>> SignedCrl::read(Bytes bytes) {
    if (bytes.empty()) return make_error(Errc::parse, "empty CRL");
    if (bytes.size() > static_cast<std::size_t>(INT_MAX)) return make_error(Errc::parse, "CRL too large");
    tls::clear_errors();
    // PEM readers skip whole lines before "-----BEGIN", but not indentation on its line.
    const Bytes text = skip_leading_space(bytes);
    const bool pem = looks_like_pem(text);
    std::vector<std::uint8_t> from_pem;
    if (pem) {
        auto der = pem_to_der(text);
        if (!der) return std::move(der).error();
        from_pem = std::move(der).value();
    }
    auto layout = locate(pem ? Bytes(from_pem) : bytes);
    if (!layout) return std::move(layout).error();
    auto header = decode_header(*layout);
    if (!header) return std::move(header).error();
    auto entries = CrlEntries::index(layout->list);
    if (!entries) return make_error(Errc::parse, "not a DER X509 CRL: " + entries.error().message);

    std::shared_ptr<SignedCrl> crl(new SignedCrl);
    crl->header_ = std::move(header).value();
    crl->entries_ = std::move(entries).value();
    // The TBSCertList as signed: head + the entries + tail.
    const Bytes tbs = layout->tbs;
    const Bytes head = layout->has_list ? tbs.first(static_cast<std::size_t>(layout->list.data() - tbs.data())) : tbs;
    crl->tbs_head_.assign(head.begin(), head.end());
    if (layout->has_list) crl->tbs_tail_.assign(layout->after_list.begin(), layout->after_list.end());
    crl->bytes_ = bytes.size();
    crl->algorithms_agree_ = layout->algorithms_agree;
    return std::shared_ptr<const SignedCrl>(std::move(crl));
}

Result<std::shared_ptr<const SignedCrl>> SignedCrl::of(X509_CRL* crl) {
    unsigned char* der = nullptr;
    const int length = crl != nullptr ? i2d_X509_CRL(crl, &der) : -1;
    if (length <= 0) return make_error(Errc::parse, tls::drain_errors("cannot encode the CRL"));
    std::unique_ptr<unsigned char, OpensslBytes> owned(der);
    return read(Bytes(der, static_cast<std::size_t>(length)));
}

bool SignedCrl::verify(EVP_PKEY* key) const {
    if (!algorithms_agree_) return false;
    const ASN1_BIT_STRING* signature = nullptr;
    const X509_ALGOR* algorithm = nullptr;
    X509_CRL_get0_signature(header_.get(), &signature, &algorithm);
    // The TBSCertList as one ANY: an ANY holding a SEQUENCE encodes as the bytes it holds.
    const Bytes list = entries_.der();
    const std::size_t length = tbs_head_.size() + list.size() + tbs_tail_.size();
    if (length > static_cast<std::size_t>(INT_MAX)) return false;
    auto* data = static_cast<unsigned char*>(OPENSSL_malloc(length));
    tls::Asn1TypePtr tbs(ASN1_TYPE_new());
    ASN1_STRING* sequence = ASN1_STRING_type_new(V_ASN1_SEQUENCE);
    if (data == nullptr || !tbs || sequence == nullptr) {
        OPENSSL_free(data);
        ASN1_STRING_free(sequence);
        return false;
    }
    unsigned char* out = data;
    for (Bytes part : {Bytes(tbs_head_), list, Bytes(tbs_tail_)}) {
        if (!part.empty()) std::memcpy(out, part.data(), part.size());
        out += part.size();
    }
    ASN1_STRING_set0(sequence, data, static_cast<int>(length));
    ASN1_TYPE_set(tbs.get(), V_ASN1_SEQUENCE, sequence);
    const bool ok = ASN1_item_verify(ASN1_ITEM_rptr(ASN1_ANY), algorithm, signature, tbs.get(), key) == 1;
    tls::clear_errors();
    return ok;
}

bool SignedCrl::signature_verifies(EVP_PKEY* key) const {
    {
        std::lock_guard lock(mutex_);
        for (const auto& k : keys_)
            if (EVP_PKEY_eq(k.key.get(), key) == 1) return k.verifies;
    }
    // Computed outside the lock: two loops may both verify the first time, never wrongly.
    const bool verifies = verify(key);
    std::lock_guard lock(mutex_);
    if (keys_.size() < kMaxKeys) {
        EVP_PKEY_up_ref(key);
        keys_.push_back(KeyResult{tls::EvpPkeyPtr(key), verifies});
    }
    return verifies;
}

bool SignedCrl::knows(EVP_PKEY* key) const {
    std::lock_guard lock(mutex_);
    for (const auto& k : keys_)
        if (EVP_PKEY_eq(k.key.get(), key) == 1) return true;
    return false;
}

}  // namespace ocspgate::ocsp
