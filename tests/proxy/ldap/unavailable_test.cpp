// proxy/ldap/unavailable.cpp: the first operation with a response gets it, in its own response
// type, with resultCode unavailable (52); abandon is skipped, unbind and malformed BER close.
#include "proxy/ldap/unavailable.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

namespace ocspgate::proxy::ldap {
namespace {

using Bytes = std::vector<std::uint8_t>;

// An anonymous simple BindRequest, messageID 2 (as in front_test.cpp).
const Bytes kBind = {0x30, 0x0c, 0x02, 0x01, 0x02, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00};
// A SearchRequest, messageID 0x0102, body abbreviated.
const Bytes kSearch = {0x30, 0x09, 0x02, 0x02, 0x01, 0x02, 0x63, 0x03, 0x04, 0x01, 'x'};
// AbandonRequest, messageID 3, abandoning 1: 30 06 | 02 01 03 | 50 01 01.
const Bytes kAbandon = {0x30, 0x06, 0x02, 0x01, 0x03, 0x50, 0x01, 0x01};
// UnbindRequest, messageID 4: 30 05 | 02 01 04 | 42 00.
const Bytes kUnbind = {0x30, 0x05, 0x02, 0x01, 0x04, 0x42, 0x00};

const std::string kDiagnostic = "the directory server behind ocspgate is unavailable";

// LDAPMessage { message_id, [response_tag] { 0a 01 34 (unavailable), 04 00, 04 n diagnostic } }.
Bytes unavailable(const Bytes& message_id, std::uint8_t response_tag) {
    // Concatenated by copy into vectors sized up front: g++ 12 at -O3 wrongly reports an
    // out-of-bounds memcpy for insert() into a small vector built from a brace list.
    const Bytes result_head = {0x0a, 0x01, 0x34, 0x04, 0x00, 0x04, static_cast<std::uint8_t>(kDiagnostic.size())};
    Bytes result(result_head.size() + kDiagnostic.size());
    std::copy(kDiagnostic.begin(), kDiagnostic.end(), std::copy(result_head.begin(), result_head.end(), result.begin()));
    Bytes body(message_id.size() + 2 + result.size());
    auto at = std::copy(message_id.begin(), message_id.end(), body.begin());
    *at++ = response_tag;
    *at++ = static_cast<std::uint8_t>(result.size());
    std::copy(result.begin(), result.end(), at);
    Bytes message(2 + body.size());
    message[0] = 0x30;
    message[1] = static_cast<std::uint8_t>(body.size());
    std::copy(body.begin(), body.end(), message.begin() + 2);
    return message;
}

TEST(LdapUnavailable, BindGetsBindResponseUnavailable) {
    UnavailableAnswer answer(1024);
    FrontOutput out;
    answer.feed(kBind, out);
    EXPECT_EQ(out.to_client, unavailable({0x02, 0x01, 0x02}, 0x61));
    EXPECT_TRUE(out.close_reason);
}

TEST(LdapUnavailable, SearchSplitAcrossFeedsGetsSearchResultDoneAfterAbandonIsSkipped) {
    UnavailableAnswer answer(1024);
    Bytes stream = kAbandon;
    stream.insert(stream.end(), kSearch.begin(), kSearch.end());
    FrontOutput first;
    answer.feed(std::span(stream).first(10), first);
    EXPECT_TRUE(first.to_client.empty());
    EXPECT_FALSE(first.close_reason);
    FrontOutput out;
    answer.feed(std::span(stream).subspan(10), out);
    EXPECT_EQ(out.to_client, unavailable({0x02, 0x02, 0x01, 0x02}, 0x65));
    EXPECT_TRUE(out.close_reason);
}

TEST(LdapUnavailable, UnbindAndGarbageCloseWithoutAnAnswer) {
    for (const Bytes& input : {kUnbind, Bytes{0x04, 0x01, 0x00}}) {
        UnavailableAnswer answer(1024);
        FrontOutput out;
        answer.feed(input, out);
        EXPECT_TRUE(out.to_client.empty());
        EXPECT_TRUE(out.close_reason);
    }
}

TEST(LdapUnavailable, LdapsFrontPassesThroughUntilTheBackendFails) {
    conf::LdapSettings settings;
    settings.answer_unavailable = true;
    LdapsFront front(settings);
    FrontOutput passed;
    front.on_client_data(kBind, passed);
    EXPECT_EQ(passed.to_backend, kBind);
    FrontOutput out;
    ASSERT_TRUE(front.on_backend_failed(passed.to_backend, out));
    EXPECT_EQ(out.to_client, unavailable({0x02, 0x01, 0x02}, 0x61));
}

}  // namespace
}  // namespace ocspgate::proxy::ldap
