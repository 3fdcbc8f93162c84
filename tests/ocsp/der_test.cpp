#include "ocsp/der.h"

#include <gtest/gtest.h>

#include <vector>

namespace ocspgate::ocsp::der {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(Der, ReadsShortAndLongFormLengths) {
    const Bytes short_form = {0x04, 0x02, 0xAA, 0xBB, 0xCC};
    auto tlv = read_tlv(short_form);
    ASSERT_TRUE(tlv);
    EXPECT_TRUE(tlv->is(TagClass::universal, kOctetString, false));
    EXPECT_EQ(tlv->whole.size(), 4u);
    EXPECT_EQ(tlv->content.size(), 2u);

    Bytes long_form = {0x30, 0x82, 0x01, 0x00};
    long_form.resize(4 + 256, 0x00);
    tlv = read_tlv(long_form);
    ASSERT_TRUE(tlv);
    EXPECT_TRUE(tlv->is_sequence());
    EXPECT_EQ(tlv->content.size(), 256u);

    const Bytes padded_length = {0x04, 0x81, 0x01, 0xAA};  // BER: not minimal, still read
    tlv = read_tlv(padded_length);
    ASSERT_TRUE(tlv);
    EXPECT_EQ(tlv->content.size(), 1u);
}

TEST(Der, ReadsContextAndHighTagNumbers) {
    const Bytes explicit0 = {0xA0, 0x00};
    auto tlv = read_tlv(explicit0);
    ASSERT_TRUE(tlv);
    EXPECT_TRUE(tlv->is(TagClass::context, 0, true));
    const Bytes high = {0x9F, 0x81, 0x00, 0x00};  // [128] IMPLICIT, primitive
    tlv = read_tlv(high);
    ASSERT_TRUE(tlv);
    EXPECT_TRUE(tlv->is(TagClass::context, 128, false));
}

TEST(Der, RefusesIndefiniteTruncatedAndOverlongHeaders) {
    for (const Bytes& bad : {Bytes{}, Bytes{0x30}, Bytes{0x30, 0x80, 0x00, 0x00}, Bytes{0x04, 0x03, 0x01},
                             Bytes{0x04, 0x82, 0x01}, Bytes{0x04, 0xFF}, Bytes{0x1F, 0x81, 0x81, 0x81, 0x81, 0x81, 0x00},
                             Bytes{0x04, 0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0}})
        EXPECT_FALSE(read_tlv(bad)) << bad.size();
}

TEST(Der, ALongFormLengthMustHaveSomethingAfterItAsInOpenssl) {
    EXPECT_FALSE(read_tlv(Bytes{0x04, 0x81, 0x00}));  // OpenSSL's asn1_get_length refuses it
    auto tlv = read_tlv(Bytes{0x04, 0x81, 0x00, 0x05});
    ASSERT_TRUE(tlv);
    EXPECT_EQ(tlv->content.size(), 0u);
    EXPECT_EQ(tlv->whole.size(), 3u);
    EXPECT_TRUE(read_tlv(Bytes{0x04, 0x00}));  // short form: fine at the end
}

TEST(Der, ReadOnlyWantsTheWholeInputAndTheIdentifier) {
    const Bytes one = {0x02, 0x01, 0x05};
    EXPECT_TRUE(read_only(one, TagClass::universal, kInteger, false));
    EXPECT_FALSE(read_only(one, TagClass::universal, kSequence, true));
    const Bytes two = {0x02, 0x01, 0x05, 0x00};
    EXPECT_FALSE(read_only(two, TagClass::universal, kInteger, false));
}

TEST(Der, SequenceHeadersAreMinimalAndReadBack) {
    for (std::size_t length : {0u, 1u, 127u, 128u, 255u, 256u, 65535u, 65536u, 20000000u}) {
        Bytes der = sequence_header(length);
        const std::size_t header = der.size();
        der.resize(header + length);
        auto tlv = read_tlv(der);
        ASSERT_TRUE(tlv) << length;
        EXPECT_EQ(tlv->content.size(), length);
        EXPECT_EQ(header, length < 128 ? 2u : length < 256 ? 3u : length < 65536 ? 4u : length < (1u << 24) ? 5u : 6u);
    }
}

TEST(Der, MinimalIntegersAsOpensslWantsThem) {
    EXPECT_TRUE(is_minimal_integer(Bytes{0x00}));
    EXPECT_TRUE(is_minimal_integer(Bytes{0x00, 0x80}));
    EXPECT_TRUE(is_minimal_integer(Bytes{0xFF, 0x00}));
    EXPECT_TRUE(is_minimal_integer(Bytes{0x80}));
    EXPECT_FALSE(is_minimal_integer(Bytes{}));
    EXPECT_FALSE(is_minimal_integer(Bytes{0x00, 0x7F}));
    EXPECT_FALSE(is_minimal_integer(Bytes{0xFF, 0x80}));
}

TEST(Der, ObjectIdentifiersAsOpensslWantsThem) {
    EXPECT_TRUE(is_valid_object(Bytes{0x55, 0x1D, 0x15}));        // 2.5.29.21
    EXPECT_TRUE(is_valid_object(Bytes{0x2A, 0x86, 0x48, 0xCE, 0x3D}));
    EXPECT_FALSE(is_valid_object(Bytes{}));
    EXPECT_FALSE(is_valid_object(Bytes{0x55, 0x1C, 0xA5}));       // ends inside a subidentifier
    EXPECT_FALSE(is_valid_object(Bytes{0x55, 0x80, 0x01}));       // a padded subidentifier
    EXPECT_FALSE(is_valid_object(Bytes{0x80, 0x01}));
}

}  // namespace
}  // namespace ocspgate::ocsp::der
