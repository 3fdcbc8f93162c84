#include "proxy/sip/framer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "sip/test_messages.h"

namespace ocspgate::proxy::sip {
namespace {

using test::bytes;
using Kind = SipFrame::Kind;

constexpr std::size_t kMaxSize = 64 * 1024;
constexpr std::size_t kMaxHeaders = 100;

std::vector<SipFrame> frames_of(SipFramer& framer, std::string_view data) {
    framer.feed(bytes(data));
    std::vector<SipFrame> out;
    while (auto frame = framer.next()) out.push_back(std::move(*frame));
    return out;
}

std::vector<SipFrame> frames_of(std::string_view data, std::size_t max_size = kMaxSize,
                                std::size_t max_headers = kMaxHeaders) {
    SipFramer framer(max_size, max_headers);
    return frames_of(framer, data);
}

TEST(SipFramer, OneMessageInOneRead) {
    auto frames = frames_of(test::kRegister);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].kind, Kind::message);
    EXPECT_EQ(frames[0].message.bytes, test::kRegister);
    ASSERT_TRUE(frames[0].message.start);
    EXPECT_TRUE(frames[0].message.start->is_request);
    EXPECT_EQ(frames[0].message.start->method, "REGISTER");
}

TEST(SipFramer, TwoMessagesInOneRead) {
    auto frames = frames_of(test::kRegister + test::kInvite);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].message.bytes, test::kRegister);
    EXPECT_EQ(frames[1].message.bytes, test::kInvite);
}

// Every split point of a two-message buffer, the second with a body holding CRLFCRLF.
TEST(SipFramer, TwoMessagesSplitAtEveryPoint) {
    const std::string stream = test::kRegister + test::kInvite;
    for (std::size_t split = 0; split <= stream.size(); ++split) {
        SipFramer framer(kMaxSize, kMaxHeaders);
        auto frames = frames_of(framer, std::string_view(stream).substr(0, split));
        auto rest = frames_of(framer, std::string_view(stream).substr(split));
        frames.insert(frames.end(), rest.begin(), rest.end());
        ASSERT_EQ(frames.size(), 2u) << "split at " << split;
        EXPECT_EQ(frames[0].message.bytes, test::kRegister) << "split at " << split;
        EXPECT_EQ(frames[1].message.bytes, test::kInvite) << "split at " << split;
    }
}

TEST(SipFramer, OneByteAtATime) {
    SipFramer framer(kMaxSize, kMaxHeaders);
    std::vector<SipFrame> frames;
    for (char c : test::kInvite + test::kOk) {
        auto more = frames_of(framer, std::string_view(&c, 1));
        frames.insert(frames.end(), more.begin(), more.end());
    }
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].message.bytes, test::kInvite);
    EXPECT_EQ(frames[1].message.bytes, test::kOk);
    EXPECT_FALSE(frames[1].message.start->is_request);
}

TEST(SipFramer, CompactContentLengthCountsTheBody) {
    auto frames = frames_of(test::kInvite);
    ASSERT_EQ(frames.size(), 1u);
    const SipMessage& m = frames[0].message;
    EXPECT_EQ(m.bytes.substr(m.head_size), test::kInviteBody);
}

TEST(SipFramer, WaitsForTheWholeBody) {
    auto frames = frames_of(test::kInvite.substr(0, test::kInvite.size() - 1));
    EXPECT_TRUE(frames.empty());
}

TEST(SipFramer, FoldedHeaderBelongsToItsField) {
    const std::string folded =
        "OPTIONS sip:example.com SIP/2.0\r\n"
        "Subject: first part\r\n"
        "  second part\r\n"
        "\tthird part\r\n"
        "Content-Length: 0\r\n"
        "\r\n";
    auto frames = frames_of(folded);
    ASSERT_EQ(frames.size(), 1u);
    ASSERT_EQ(frames[0].kind, Kind::message);
    const auto& headers = frames[0].message.headers;
    ASSERT_EQ(headers.size(), 2u);
    EXPECT_EQ(headers[0].value, "first part second part third part");
    EXPECT_EQ(headers[1].name, "Content-Length");
}

// Header names and values are views: into the message's own bytes, whatever the buffer the
// framer parsed them in.
TEST(SipFramer, HeaderViewsPointIntoTheMessageBytes) {
    auto frames = frames_of(test::kRegister + test::kInvite);
    ASSERT_EQ(frames.size(), 2u);
    for (const SipFrame& frame : frames) {
        const std::string& bytes = frame.message.bytes;
        for (const SipHeader& header : frame.message.headers) {
            EXPECT_EQ(header.name.data(), bytes.data() + header.begin);
            EXPECT_GE(header.value.data(), bytes.data() + header.begin);
            EXPECT_LE(header.value.data() + header.value.size(), bytes.data() + header.end);
        }
    }
}

TEST(SipFramer, CopiedAndMovedMessagesKeepTheirHeaders) {
    const std::string folded =
        "OPTIONS sip:example.com SIP/2.0\r\n"
        "Subject: first part\r\n"
        "  second part\r\n"
        "Content-Length: 0\r\n"
        "\r\n";
    std::vector<SipFrame> frames = frames_of(folded);
    ASSERT_EQ(frames.size(), 1u);
    SipMessage copy = frames[0].message;
    SipMessage moved = std::move(frames[0].message);
    frames.clear();  // the original is gone
    for (const SipMessage* message : {&copy, &moved}) {
        ASSERT_EQ(message->headers.size(), 2u);
        EXPECT_EQ(message->headers[0].value, "first part second part");
        EXPECT_EQ(message->headers[1].name, "Content-Length");
        EXPECT_EQ(message->headers[1].name.data(), message->bytes.data() + message->headers[1].begin);
    }
    SipMessage assigned;
    assigned = copy;
    copy = SipMessage{};
    EXPECT_EQ(assigned.headers.at(0).value, "first part second part");
    EXPECT_EQ(assigned.headers.at(1).value, "0");
}

TEST(SipFramer, ContinuationOfAnEmptyValueIsItsValue) {
    auto frames = frames_of("OPTIONS sip:a@b SIP/2.0\r\nSubject:\r\n  only part \r\n \r\nl: 0\r\n\r\n");
    ASSERT_EQ(frames.size(), 1u);
    ASSERT_EQ(frames[0].kind, Kind::message);
    EXPECT_EQ(frames[0].message.headers.at(0).value, "only part");
}

TEST(SipFramer, WholeHeadIsParsedAndEndsAtItsEmptyLine) {
    const std::string stream = test::kInvite + test::kRegister;
    SipMessage message;
    std::optional<std::size_t> head_size = parse_whole_sip_head(message, stream, kMaxHeaders);
    ASSERT_TRUE(head_size);
    EXPECT_EQ(stream.substr(*head_size), test::kInviteBody + test::kRegister);
    ASSERT_TRUE(message.start);
    EXPECT_EQ(message.start->method, "INVITE");
    EXPECT_EQ(message.headers.back().name, "l");  // the body's CRLFCRLF is not a header
}

TEST(SipFramer, WholeHeadParseLeavesIncompleteOrMalformedHeadsToTheFramer) {
    SipMessage incomplete;
    EXPECT_FALSE(parse_whole_sip_head(incomplete, test::kRegister.substr(0, 60), kMaxHeaders));
    SipMessage malformed;
    const std::string bare_lf = "OPTIONS sip:a@b SIP/2.0\r\nVia: x\nl: 0\r\n\r\n";
    EXPECT_FALSE(parse_whole_sip_head(malformed, bare_lf, kMaxHeaders));
}

TEST(SipFramer, DoubleCrlfIsAPing) {
    auto frames = frames_of("\r\n\r\n" + test::kRegister);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].kind, Kind::ping);
    EXPECT_EQ(frames[1].kind, Kind::message);
}

TEST(SipFramer, LoneCrlfBeforeAMessageIsPassedOn) {
    auto frames = frames_of("\r\n" + test::kRegister);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].kind, Kind::crlf);
    EXPECT_EQ(frames[1].kind, Kind::message);
}

TEST(SipFramer, PingSplitAcrossReadsIsStillAPing) {
    SipFramer framer(kMaxSize, kMaxHeaders);
    auto first = frames_of(framer, "\r\n");
    auto second = frames_of(framer, "\r\n");
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].kind, Kind::crlf);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].kind, Kind::ping);
}

TEST(SipFramer, PartialPingWaits) {
    SipFramer framer(kMaxSize, kMaxHeaders);
    EXPECT_TRUE(frames_of(framer, "\r\n\r").empty());
    auto frames = frames_of(framer, "\n");
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].kind, Kind::ping);
}

TEST(SipFramer, MissingContentLengthIsRefusedWith400) {
    const std::string request =
        "OPTIONS sip:example.com SIP/2.0\r\n"
        "Via: SIP/2.0/TLS 192.0.2.10;branch=z9hG4bK-4\r\n"
        "\r\n";
    auto frames = frames_of(request + test::kRegister);
    ASSERT_EQ(frames.size(), 1u);  // nothing after the refusal
    EXPECT_EQ(frames[0].kind, Kind::error);
    EXPECT_EQ(frames[0].problem.status, 400);
    EXPECT_EQ(frames[0].problem.detail, "missing Content-Length (mandatory over TLS)");
    ASSERT_EQ(frames[0].message.headers.size(), 1u);  // kept for the answer
}

TEST(SipFramer, ConflictingContentLengthsAreRefused) {
    auto frames = frames_of("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab");
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].problem.detail, "conflicting Content-Length headers");
}

TEST(SipFramer, NonNumericContentLengthIsRefused) {
    auto frames = frames_of("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n");
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].problem.detail, "Content-Length is not a number");
}

TEST(SipFramer, GarbageIsRefusedAtItsFirstLine) {
    // Not a start line: no "SIP/2.0" version; refused before any empty line arrives.
    auto frames = frames_of("GET / HTTP/1.1\r\nHost: x\r\n");
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].kind, Kind::error);
    EXPECT_EQ(frames[0].problem.status, 400);
    EXPECT_EQ(frames[0].problem.detail, "malformed start line");
    EXPECT_FALSE(frames[0].message.start);
}

TEST(SipFramer, BareLineFeedIsRefused) {
    auto frames = frames_of("OPTIONS sip:a@b SIP/2.0\r\nVia: x\nX-Smuggled: y\r\nl: 0\r\n\r\n");
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].problem.detail, "bare CR, LF or NUL in the message head");
}

TEST(SipFramer, HeaderWithoutColonIsRefused) {
    auto frames = frames_of("OPTIONS sip:a@b SIP/2.0\r\nNoColonHere\r\nl: 0\r\n\r\n");
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].problem.detail, "malformed header line");
}

TEST(SipFramer, ContinuationBeforeAnyHeaderIsRefused) {
    auto frames = frames_of("OPTIONS sip:a@b SIP/2.0\r\n folded\r\nl: 0\r\n\r\n");
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].problem.detail, "continuation line before any header");
}

TEST(SipFramer, OversizedBodyIsRefusedWith513) {
    auto frames = frames_of("MESSAGE sip:a@b SIP/2.0\r\nl: 2000\r\n\r\n", 1024);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].problem.status, 513);
    EXPECT_EQ(frames[0].problem.detail, "message larger than max_message_size");
}

TEST(SipFramer, OversizedHeadIsRefusedWith513BeforeItEnds) {
    std::string head = "MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK-5\r\n";
    while (head.size() <= 1024) head += "Subject: " + std::string(60, 'x') + "\r\n";
    auto frames = frames_of(head, 1024);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].problem.status, 513);
    EXPECT_EQ(frames[0].problem.detail, "message head larger than max_message_size");
    ASSERT_TRUE(frames[0].message.start);  // the partial head still feeds the answer
    EXPECT_EQ(frames[0].message.headers.at(0).name, "Via");
}

TEST(SipFramer, TooManyHeadersIsRefusedWith513) {
    std::string request = "OPTIONS sip:a@b SIP/2.0\r\n";
    for (int i = 0; i < 9; ++i) request += "X-H: " + std::to_string(i) + "\r\n";
    auto frames = frames_of(request + "l: 0\r\n\r\n", kMaxSize, 9);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].problem.status, 513);
    EXPECT_EQ(frames[0].problem.detail, "too many headers");
}

TEST(SipFramer, NothingAfterAnError) {
    SipFramer framer(kMaxSize, kMaxHeaders);
    ASSERT_EQ(frames_of(framer, "garbage\r\n").size(), 1u);
    EXPECT_TRUE(frames_of(framer, test::kRegister).empty());
}

// Feeds `stream` in chunks of random sizes (fixed seed: reproducible) and returns every frame.
std::vector<SipFrame> frames_in_random_chunks(std::string_view stream, std::mt19937& random,
                                              std::size_t max_size = kMaxSize) {
    SipFramer framer(max_size, kMaxHeaders);
    std::vector<SipFrame> frames;
    while (!stream.empty()) {
        std::size_t chunk = std::uniform_int_distribution<std::size_t>(1, 64)(random);
        auto more = frames_of(framer, stream.substr(0, chunk));
        frames.insert(frames.end(), more.begin(), more.end());
        stream.remove_prefix(std::min(chunk, stream.size()));
    }
    return frames;
}

TEST(SipFramer, RandomChunksOfManyMessagesFrameTheSameMessages) {
    std::mt19937 random(5061);
    std::string stream;
    std::vector<std::string> sent;
    for (int i = 0; i < 50; ++i) {
        const std::string& message = i % 3 == 0 ? test::kRegister : i % 3 == 1 ? test::kInvite : test::kOk;
        stream += (i % 5 == 0 ? "\r\n\r\n" : "") + message;
        sent.push_back(message);
    }
    for (int round = 0; round < 20; ++round) {
        std::vector<std::string> framed;
        for (const SipFrame& frame : frames_in_random_chunks(stream, random)) {
            ASSERT_NE(frame.kind, Kind::error) << frame.problem.detail;
            if (frame.kind == Kind::message) framed.push_back(frame.message.bytes);
        }
        EXPECT_EQ(framed, sent) << "round " << round;
    }
}

// A cheap fuzz run (meant for the sanitizer build): bytes biased toward SIP's delimiters,
// fed in random chunks. At most one error, nothing after it, and messages stay within limits.
TEST(SipFramer, RandomBytesYieldAtMostOneErrorAndNothingAfterIt) {
    std::mt19937 random(3261);
    using namespace std::string_view_literals;
    constexpr std::string_view kAlphabet = "\r\n\r\n :;lL0123456789SIP/2.0 INVITE\t\x00\xff"sv;
    std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
    for (int round = 0; round < 500; ++round) {
        std::string stream = round % 2 == 0 ? test::kRegister : "";
        std::size_t length = std::uniform_int_distribution<std::size_t>(1, 3000)(random);
        for (std::size_t i = 0; i < length; ++i) stream += kAlphabet[pick(random)];
        auto frames = frames_in_random_chunks(stream, random, 1024);
        for (std::size_t i = 0; i < frames.size(); ++i) {
            if (frames[i].kind == Kind::error) {
                EXPECT_EQ(i + 1, frames.size()) << "round " << round;
            }
            if (frames[i].kind == Kind::message) {
                EXPECT_LE(frames[i].message.bytes.size(), 1024u);
            }
        }
    }
}

}  // namespace
}  // namespace ocspgate::proxy::sip
