#include "ocsp/signed_crl.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/pem.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ocsp/crl.h"
#include "ocsp/der.h"
#include "signed_crl_fixture.h"
#include "support/test_pki.h"

namespace ocspgate::ocsp {
namespace {

using namespace std::chrono_literals;
using fixtures::at;
using fixtures::CrlSpec;
using fixtures::one_day;
using fixtures::pki;
using fixtures::RevokedSpec;
using fixtures::test_now;

using Bytes = std::vector<std::uint8_t>;

// The issuing CA's CRL revoking pki().other_leaf (keyCompromise).
CrlSpec issuing_crl() {
    CrlSpec spec;
    spec.signer = &pki().issuing;
    spec.revoked.push_back(RevokedSpec{pki().other_leaf.get(), test_now - 2 * one_day, 1});
    return spec;
}

Bytes bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const Bytes& b) { return {b.begin(), b.end()}; }

tls::Asn1IntegerPtr serial_from_hex(const std::string& hex) {
    BIGNUM* bn = nullptr;
    EXPECT_GT(BN_hex2bn(&bn, hex.c_str()), 0);
    tls::BignumPtr owned(bn);
    return tls::Asn1IntegerPtr(BN_to_ASN1_INTEGER(bn, nullptr));
}

// A CRL of the issuing CA listing `serials` in the order given, each with `reasons[i]` when
// given (a reasonCode entry extension), signed by the issuing CA.
tls::X509CrlPtr crl_listing(const std::vector<std::string>& serials, const std::vector<int>& reasons = {}) {
    CrlSpec spec;
    spec.signer = &pki().issuing;
    auto crl = fixtures::make_crl(spec);
    tls::Asn1TimePtr when(ASN1_TIME_set(nullptr, test_now - one_day));
    for (std::size_t i = 0; i < serials.size(); ++i) {
        X509_REVOKED* entry = X509_REVOKED_new();
        auto serial = serial_from_hex(serials[i]);
        EXPECT_EQ(X509_REVOKED_set_serialNumber(entry, serial.get()), 1);
        EXPECT_EQ(X509_REVOKED_set_revocationDate(entry, when.get()), 1);
        if (i < reasons.size()) {
            tls::Asn1EnumeratedPtr reason(ASN1_ENUMERATED_new());
            ASN1_ENUMERATED_set(reason.get(), reasons[i]);
            EXPECT_EQ(X509_REVOKED_add1_ext_i2d(entry, NID_crl_reason, reason.get(), 0, 0), 1);
        }
        EXPECT_EQ(X509_CRL_add0_revoked(crl.get(), entry), 1);
    }
    EXPECT_GT(X509_CRL_sign(crl.get(), pki().issuing.key.get(), EVP_sha256()), 0);
    return crl;
}

EVP_PKEY* issuing_key() { return X509_get0_pubkey(pki().issuing.get()); }
EVP_PKEY* root_key() { return X509_get0_pubkey(pki().root.get()); }

// --- reading ----------------------------------------------------------------------------

TEST(SignedCrlRead, ReadsDerIntoAHeaderAndItsEntries) {
    auto crl = fixtures::make_crl(issuing_crl());
    const auto der = fixtures::der_of(crl.get());
    const auto read = SignedCrl::read(der);
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer((*read)->header()), X509_CRL_get_issuer(crl.get())), 0);
    EXPECT_EQ(ASN1_TIME_compare(X509_CRL_get0_lastUpdate((*read)->header()), X509_CRL_get0_lastUpdate(crl.get())), 0);
    EXPECT_EQ(X509_CRL_get_ext_count((*read)->header()), X509_CRL_get_ext_count(crl.get()));
    EXPECT_EQ(X509_CRL_get_REVOKED((*read)->header()), nullptr) << "the entries are not decoded";
    EXPECT_EQ((*read)->entries().size(), 1u);
    EXPECT_EQ((*read)->bytes(), der.size());
}

TEST(SignedCrlRead, ReadsPemWithSurroundingWhitespace) {
    auto crl = fixtures::make_crl(issuing_crl());
    const auto read = SignedCrl::read(bytes("\n  " + text(fixtures::pem_of(crl.get())) + "\n\n"));
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_EQ((*read)->entries().size(), 1u);
    EXPECT_TRUE((*read)->signature_verifies(issuing_key()));
}

TEST(SignedCrlRead, ACrlWithoutEntriesReadsAndVerifies) {
    CrlSpec spec;
    spec.signer = &pki().issuing;
    const auto read = SignedCrl::read(fixtures::der_of(fixtures::make_crl(spec).get()));
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_EQ((*read)->entries().size(), 0u);
    EXPECT_TRUE((*read)->signature_verifies(issuing_key()));
}

void expect_parse_error(const Result<std::shared_ptr<const SignedCrl>>& read) {
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().code, Errc::parse);
}

TEST(SignedCrlRead, GarbageEmptyTruncatedAndTrailingBytesAreParseErrors) {
    expect_parse_error(SignedCrl::read(bytes("<html>not found</html>")));
    expect_parse_error(SignedCrl::read({}));
    auto der = fixtures::der_of(fixtures::make_crl(issuing_crl()).get());
    auto truncated = der;
    truncated.resize(der.size() / 2);
    expect_parse_error(SignedCrl::read(truncated));
    der.push_back(0x00);
    expect_parse_error(SignedCrl::read(der));
    const auto pem = text(fixtures::pem_of(fixtures::make_crl(issuing_crl()).get()));
    expect_parse_error(SignedCrl::read(bytes(pem + "junk\n")));
}

// The fields of a CRL's TBSCertList as DER elements, and a CertificateList rebuilt from
// fields (its signature no longer verifies; these tests are about reading).
std::vector<Bytes> tbs_fields(const Bytes& crl_der, Bytes& after_tbs) {
    auto outer = der::read_tlv(crl_der);
    auto tbs = der::read_tlv(outer->content);
    after_tbs.assign(outer->content.begin() + static_cast<std::ptrdiff_t>(tbs->whole.size()), outer->content.end());
    std::vector<Bytes> fields;
    for (auto rest = tbs->content; !rest.empty();) {
        auto field = der::read_tlv(rest);
        fields.emplace_back(field->whole.begin(), field->whole.end());
        rest = rest.subspan(field->whole.size());
    }
    return fields;
}

Bytes rebuild(const std::vector<Bytes>& fields, const Bytes& after_tbs) {
    Bytes content;
    for (const auto& f : fields) content.insert(content.end(), f.begin(), f.end());
    Bytes tbs = der::sequence_header(content.size());
    tbs.insert(tbs.end(), content.begin(), content.end());
    Bytes out = der::sequence_header(tbs.size() + after_tbs.size());
    out.insert(out.end(), tbs.begin(), tbs.end());
    out.insert(out.end(), after_tbs.begin(), after_tbs.end());
    return out;
}

TEST(SignedCrlRead, TheListIsTakenOnlyWhereRevokedCertificatesStands) {
    // version, signature, issuer, thisUpdate, nextUpdate, revokedCertificates, [0] extensions
    Bytes after_tbs;
    CrlSpec spec = issuing_crl();
    spec.number = 7;  // a v2 CRL with crlExtensions
    const auto fields = tbs_fields(fixtures::der_of(fixtures::make_crl(spec).get()), after_tbs);
    ASSERT_EQ(fields.size(), 7u);
    ASSERT_TRUE(SignedCrl::read(rebuild(fields, after_tbs)).ok()) << "the fields as they were";
    const Bytes empty_list = {0x30, 0x00};
    // An empty list first and the real one after it: cutting out the first would leave the
    // second to OpenSSL's header decode, its entries indexed by nobody.
    auto two_lists = fields;
    two_lists.insert(two_lists.begin() + 5, empty_list);
    expect_parse_error(SignedCrl::read(rebuild(two_lists, after_tbs)));
    // The list before nextUpdate: not where the grammar puts it.
    auto list_first = fields;
    std::swap(list_first[4], list_first[5]);
    expect_parse_error(SignedCrl::read(rebuild(list_first, after_tbs)));
    // Something after the extensions.
    auto trailing = fields;
    trailing.push_back(empty_list);
    expect_parse_error(SignedCrl::read(rebuild(trailing, after_tbs)));
}

TEST(SignedCrlRead, ACertificatePemIsAParseError) {
    tls::BioPtr bio(BIO_new(BIO_s_mem()));
    ASSERT_EQ(PEM_write_bio_X509(bio.get(), pki().leaf.get()), 1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    expect_parse_error(SignedCrl::read(bytes(std::string(data, static_cast<std::size_t>(len)))));
}

// --- the signature over the pieces --------------------------------------------------------

TEST(SignedCrlSignature, VerifiesWithTheSignersKeyOnlyAndRemembersPerKey) {
    auto crl = read_signed(crl_listing({"1001", "05", "FFEE"}).get());
    EXPECT_FALSE(crl->knows(issuing_key()));
    EXPECT_TRUE(crl->signature_verifies(issuing_key()));
    EXPECT_TRUE(crl->knows(issuing_key()));
    EXPECT_FALSE(crl->signature_verifies(root_key()));
    EXPECT_TRUE(crl->knows(root_key()));
    EXPECT_FALSE(crl->signature_verifies(root_key())) << "a failure is remembered as a failure";
}

// Replaces the first `from` in `der` after `start` with `to` (same length).
bool replace_once(Bytes& der, const Bytes& from, const Bytes& to, std::size_t start = 0) {
    auto it = std::search(der.begin() + static_cast<std::ptrdiff_t>(start), der.end(), from.begin(), from.end());
    if (it == der.end()) return false;
    std::copy(to.begin(), to.end(), it);
    return true;
}

TEST(SignedCrlSignature, AnAlteredEntryBreaksTheSignature) {
    // The entries are never decoded by OpenSSL; the signature must still cover them.
    auto der = fixtures::der_of(crl_listing({"0A0B0C0D"}).get());
    ASSERT_TRUE(replace_once(der, {0x02, 0x04, 0x0A, 0x0B, 0x0C, 0x0D}, {0x02, 0x04, 0x0A, 0x0B, 0x0C, 0x0E}));
    auto altered = SignedCrl::read(der);
    ASSERT_TRUE(altered.ok()) << altered.error().message;
    EXPECT_FALSE((*altered)->signature_verifies(issuing_key()));
    CrlCheckInput in{altered->get(), pki().issuing.get(), at(test_now), 300s};
    auto verified = verify_crl(in);
    ASSERT_TRUE(std::holds_alternative<CrlFailure>(verified));
    EXPECT_EQ(std::get<CrlFailure>(verified).kind, CrlError::bad_signature);
}

TEST(SignedCrlSignature, AnAlteredHeaderBreaksTheSignature) {
    auto crl = crl_listing({"0A0B0C0D"});
    auto der = fixtures::der_of(crl.get());
    const ASN1_TIME* this_update = X509_CRL_get0_lastUpdate(crl.get());
    const Bytes date(ASN1_STRING_get0_data(this_update), ASN1_STRING_get0_data(this_update) + ASN1_STRING_length(this_update));
    Bytes later = date;
    later[later.size() - 2] = later[later.size() - 2] == '9' ? '8' : static_cast<std::uint8_t>(later[later.size() - 2] + 1);
    ASSERT_TRUE(replace_once(der, date, later));
    auto altered = SignedCrl::read(der);
    ASSERT_TRUE(altered.ok()) << altered.error().message;
    EXPECT_FALSE((*altered)->signature_verifies(issuing_key()));
}

TEST(SignedCrlSignature, AnOuterAlgorithmUnlikeTheInnerOneIsRefused) {
    // ecdsa-with-SHA256 (1.2.840.10045.4.3.2) inside the TBSCertList, ecdsa-with-SHA384 outside:
    // X509_CRL_verify refuses such a CRL before looking at the signature (RFC 5280 §5.1.2.2).
    auto der = fixtures::der_of(crl_listing({"0A"}).get());
    const Bytes sha256 = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};
    const Bytes sha384 = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03};
    auto first = std::search(der.begin(), der.end(), sha256.begin(), sha256.end());
    ASSERT_NE(first, der.end());
    ASSERT_TRUE(replace_once(der, sha256, sha384, static_cast<std::size_t>(first - der.begin()) + 1));
    auto altered = SignedCrl::read(der);
    ASSERT_TRUE(altered.ok()) << altered.error().message;
    EXPECT_FALSE((*altered)->signature_verifies(issuing_key()));
}

// --- the entry index --------------------------------------------------------------------

bool listed(const SignedCrl& crl, const std::string& hex) {
    return !crl.entries().find(serial_from_hex(hex).get()).empty();
}

TEST(SignedCrlEntries, FindsEveryListedSerialWhateverTheOrderAndNoOther) {
    // Some share their first 8 octets (the index's sort key), so the whole serial decides.
    const std::vector<std::string> serials = {"FFEE", "01", "1001", "7F", "80", "0100", "00", "1002",
                                              "0123456789ABCDEF0123456789ABCDEF01234567", "0123456789ABCDEF02",
                                              "0123456789ABCDEF01", "0123456789ABCDEF0100", "0123456789ABCDEF00",
                                              "-01", "-80", "-0100", "-FFEE"};  // negative: not conforming, seen
    auto crl = read_signed(crl_listing(serials).get());
    ASSERT_EQ(crl->entries().size(), serials.size());
    for (const auto& s : serials) EXPECT_TRUE(listed(*crl, s)) << s;
    for (const std::string s : {"02", "7E", "81", "FF", "0101", "1003", "FFEF", "0123456789ABCDEF0123456789ABCDEF01234568",
                                "0123456789ABCDEF03", "0123456789ABCDEF0101", "0123456789ABCDEF", "-02", "-81", "-FF"})
        EXPECT_FALSE(listed(*crl, s)) << s;
}

TEST(SignedCrlEntries, AgreesWithOpensslsDecodedEntriesOnRandomSerials) {
    std::mt19937_64 random(20261207);
    std::vector<std::string> serials;
    auto hex = [&random](int octets) {
        std::string out;
        for (int i = 0; i < octets; ++i) out += fmt::format("{:02X}", static_cast<unsigned>(random() & 0xFF));
        return out;
    };
    for (int i = 0; i < 2000; ++i) serials.push_back(hex(1 + static_cast<int>(random() % 20)));
    auto whole = crl_listing(serials);
    auto crl = read_signed(whole.get());
    for (int i = 0; i < 4000; ++i) {
        const std::string s = i % 2 == 0 ? serials[static_cast<std::size_t>(i / 2)] : hex(1 + i % 20);
        auto serial = serial_from_hex(s);
        X509_REVOKED* entry = nullptr;
        const bool by_openssl = X509_CRL_get0_by_serial(whole.get(), &entry, serial.get()) > 0;
        EXPECT_EQ(!crl->entries().find(serial.get()).empty(), by_openssl) << s;
    }
}

TEST(SignedCrlEntries, ASerialListedTwiceRevokesWhicheverListingComesFirst) {
    // A delta that both removes and revokes one serial has made a mistake; the listing that
    // revokes wins, in either order.
    for (const auto& reasons : {std::vector<int>{8, 1}, std::vector<int>{1, 8}}) {
        const auto crl = read_signed(crl_listing({"1001", "1001"}, reasons).get());
        EXPECT_EQ(crl->entries().find(X509_get0_serialNumber(pki().leaf.get())).size(), 2u);
        auto looked_up = lookup(*crl, pki().leaf.get());
        ASSERT_TRUE(std::holds_alternative<CrlCheck>(looked_up));
        EXPECT_EQ(std::get<CrlCheck>(looked_up).status, CertStatus::revoked);
        EXPECT_EQ(std::get<CrlCheck>(looked_up).revocation_reason, 1);
    }
}

TEST(SignedCrlEntries, AnUnsupportedCriticalEntryExtensionIsNotedWhenRead) {
    CrlSpec spec = issuing_crl();
    spec.revoked.push_back(RevokedSpec{pki().leaf.get(), test_now - one_day, -1, true});
    auto crl = read_signed(fixtures::make_crl(spec).get());
    EXPECT_NE(crl->entries().extension_problem().find("unsupported critical CRL entry extension"), std::string::npos)
        << crl->entries().extension_problem();
    auto verified = verify_crl(CrlCheckInput{crl.get(), pki().issuing.get(), at(test_now), 300s});
    ASSERT_TRUE(std::holds_alternative<CrlFailure>(verified));
    EXPECT_EQ(std::get<CrlFailure>(verified).kind, CrlError::unsupported);
}

TEST(SignedCrlEntries, CostsAboutTheirDerSize) {
    std::vector<std::string> serials;
    for (int i = 0; i < 10000; ++i) serials.push_back(fmt::format("5A5A5A5A5A5A5A5A5A5A5A5A{:08X}", static_cast<unsigned>(i) * 7919u));
    auto crl = read_signed(crl_listing(serials, std::vector<int>(serials.size(), 1)).get());
    const double per_entry = static_cast<double>(crl->entries().memory()) / static_cast<double>(crl->entries().size());
    // A 16-octet serial (18 bytes), UTCTime (15), reasonCode (14), the entry's header (2): 49
    // bytes of DER, and 4 of index. OpenSSL's decoded X509_REVOKED took ~250.
    EXPECT_LT(per_entry, 60.0);
    EXPECT_GT(per_entry, 45.0);
}

// Entry lists written by hand: what OpenSSL's encoder would never produce.
Result<CrlEntries> index(const Bytes& list) { return CrlEntries::index(list); }

Bytes entry(const Bytes& serial_tlv, const std::string& date = "250101000000Z", uint8_t date_tag = 0x17) {
    Bytes out{0x30, static_cast<std::uint8_t>(serial_tlv.size() + 2 + date.size()), date_tag};
    out.insert(out.begin() + 2, serial_tlv.begin(), serial_tlv.end());
    out.push_back(static_cast<std::uint8_t>(date.size()));
    for (char c : date) out.push_back(static_cast<std::uint8_t>(c));
    return out;
}

TEST(SignedCrlEntries, MalformedEntriesMakeTheListAParseError) {
    EXPECT_TRUE(index(entry({0x02, 0x01, 0x05})).ok());
    EXPECT_TRUE(index(entry({0x02, 0x02, 0x00, 0x80})).ok()) << "a needed leading zero";
    EXPECT_TRUE(index(entry({0x02, 0x01, 0x05}, "20250101000000Z", 0x18)).ok());
    EXPECT_TRUE(index(entry({0x02, 0x01, 0x05}, "240229235959Z")).ok()) << "a leap day";
    const Bytes bad[] = {
        entry({0x02, 0x02, 0x00, 0x05}),                 // a leading zero that is not needed
        entry({0x02, 0x02, 0xFF, 0x85}),                 // a leading 0xFF that is not needed
        entry({0x02, 0x00}),                             // an empty INTEGER
        entry({0x04, 0x01, 0x05}),                       // not an INTEGER
        entry({0x02, 0x01, 0x05}, "2501010000Z"),        // no seconds
        entry({0x02, 0x01, 0x05}, "250101000000+0100"),  // not Zulu
        entry({0x02, 0x01, 0x05}, "250101000000Z", 0x18),  // a UTCTime's form under GeneralizedTime
        entry({0x02, 0x01, 0x05}, "251301000000Z"),      // month 13
        entry({0x02, 0x01, 0x05}, "250229000000Z"),      // 29 February 2025
        entry({0x02, 0x01, 0x05}, "250101240000Z"),      // hour 24
        {0x30, 0x03, 0x02, 0x01, 0x05},                  // no date
        {0x31, 0x00},                                    // not a SEQUENCE
        {0x30, 0x80, 0x00, 0x00},                        // indefinite length
        {0x30, 0x10, 0x02, 0x01},                        // runs past the list
    };
    for (const auto& list : bad) {
        auto indexed = index(list);
        ASSERT_FALSE(indexed.ok()) << list.size();
        EXPECT_EQ(indexed.error().code, Errc::parse);
    }
    Bytes with_extra = entry({0x02, 0x01, 0x05});
    with_extra.insert(with_extra.end(), {0x05, 0x00});  // a NULL after the date: not Extensions
    with_extra[1] = static_cast<std::uint8_t>(with_extra.size() - 2);
    EXPECT_FALSE(index(with_extra).ok());
}

}  // namespace
}  // namespace ocspgate::ocsp
