// libFuzzer target: the SIP front over arbitrary chunks (split by the first byte, see
// fuzz_chunks.h), and a separate sip::SipFramer over the same chunks as the reference for what the
// client sent. Aborts unless, for every input:
//  - the rewrite of every framed message is deterministic and survives copying the message
//    (the header views must follow the copy);
//  - what the front forwards to the backend frames again, with no error, into the same
//    number of messages as the client sent, each with the same start line, the same body and
//    the same non-identity header fields in the same order;
//  - no header named with the identity prefix survives from the client: a request's identity
//    headers are exactly ocspgate's block, after its last other header; a response has none.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_chunks.h"
#include "proxy/sip/answer.h"
#include "proxy/sip/framer.h"
#include "proxy/sip/front.h"
#include "proxy/sip/identity.h"

using namespace ocspgate;

namespace {

constexpr std::size_t kMaxMessageSize = 4096;  // small, so the size limits are reached too
constexpr std::size_t kMaxHeaders = 32;
constexpr std::string_view kPrefix = "X-Client-Cert-";

void require(bool condition) {
    if (!condition) __builtin_trap();
}

const proxy::PeerIdentity& peer() {
    static const proxy::PeerIdentity identity = [] {
        proxy::PeerIdentity p;
        p.subject = "/O=Test/CN=alice";
        p.issuer = "/O=Test/CN=issuing";
        p.serial = "1001";
        p.fingerprint_sha256 = std::string(64, 'a');
        p.revocation = "good";
        p.revocation_source = "cache";
        return p;
    }();
    return identity;
}

const std::string& identity_block() {
    static const std::string block = proxy::sip::identity_header_block(peer(), kPrefix);
    return block;
}

// The front as a listener would run it; keep-alives passed, so that they are in the
// forwarded stream between the messages too.
const conf::SipSettings& front_settings() {
    static const conf::SipSettings settings = [] {
        conf::SipSettings s;
        s.max_message_size = kMaxMessageSize;
        s.max_headers = kMaxHeaders;
        s.identity_headers = true;
        s.header_prefix = std::string(kPrefix);
        s.keepalive = conf::SipKeepalive::pass;
        return s;
    }();
    return settings;
}

bool is_request(const proxy::sip::SipMessage& message) { return message.start && message.start->is_request; }

bool is_identity(const proxy::sip::SipHeader& header) { return proxy::sip::istarts_with(header.name, kPrefix); }

std::string_view raw(const proxy::sip::SipMessage& message, const proxy::sip::SipHeader& header) {
    return std::string_view(message.bytes).substr(header.begin, header.end - header.begin);
}

// Header names and values are views into their message: a copy must read the same, from its
// own bytes, once the original is gone. The answer reads the values, the rewrite the names.
void check_copy(proxy::sip::SipMessage& message) {
    const proxy::sip::SipHeadProblem problem{400, "fuzz"};
    std::string rewritten = proxy::sip::rewrite_message(message, kPrefix, identity_block());
    std::string answer = proxy::sip::refusal_answer(message, problem);
    proxy::sip::SipMessage copy = message;
    message = proxy::sip::SipMessage{};
    require(proxy::sip::rewrite_message(copy, kPrefix, identity_block()) == rewritten &&
            proxy::sip::refusal_answer(copy, problem) == answer);
}

// The messages in `stream` (one read), keep-alives skipped, until the first error.
struct Framed {
    std::vector<proxy::sip::SipMessage> messages;
    bool failed = false;
};

Framed frame_all(std::string_view stream, std::size_t max_message_size, std::size_t max_headers) {
    Framed framed;
    proxy::sip::SipFramer framer(max_message_size, max_headers);
    framer.feed({reinterpret_cast<const std::uint8_t*>(stream.data()), stream.size()});
    while (std::optional<proxy::sip::SipFrame> frame = framer.next()) {
        if (frame->kind == proxy::sip::SipFrame::Kind::error) {
            framed.failed = true;
            break;
        }
        if (frame->kind == proxy::sip::SipFrame::Kind::message) framed.messages.push_back(std::move(frame->message));
    }
    return framed;
}

// `forwarded` is what the front made of `sent`: the same message apart from identity headers.
void check_rewrite(const proxy::sip::SipMessage& sent, const proxy::sip::SipMessage& forwarded) {
    require(is_request(sent) == is_request(forwarded));
    require(sent.bytes.substr(0, sent.start_line_end) == forwarded.bytes.substr(0, forwarded.start_line_end));
    require(sent.bytes.substr(sent.head_size) == forwarded.bytes.substr(forwarded.head_size));

    std::vector<std::string_view> kept;
    for (const proxy::sip::SipHeader& header : sent.headers) {
        if (!is_identity(header)) kept.push_back(raw(sent, header));
    }
    std::vector<std::string_view> others;
    std::string identity;
    for (const proxy::sip::SipHeader& header : forwarded.headers) {
        if (is_identity(header)) {
            identity += raw(forwarded, header);
        } else {
            require(identity.empty());  // ocspgate's block comes after every other header
            others.push_back(raw(forwarded, header));
        }
    }
    require(kept == others);
    require(identity == (is_request(sent) ? identity_block() : std::string()));
}

std::size_t lines_in(std::string_view text) {
    std::size_t lines = 0;
    for (std::size_t at = text.find("\r\n"); at != std::string_view::npos; at = text.find("\r\n", at + 2)) ++lines;
    return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    proxy::sip::SipFront front(front_settings());
    front.on_handshake_done(peer());
    proxy::sip::SipFramer reference(kMaxMessageSize, kMaxHeaders);
    std::vector<proxy::sip::SipMessage> sent;
    std::string to_backend;
    bool closed = false;
    fuzz::for_each_chunk(std::span<const std::uint8_t>(data, size), [&](std::span<const std::uint8_t> chunk) {
        proxy::FrontOutput out;
        front.on_client_data(chunk, out);
        to_backend.append(out.to_backend.begin(), out.to_backend.end());
        closed = out.close_reason.has_value();  // the connection closes here; so do we
        reference.feed(chunk);
        while (std::optional<proxy::sip::SipFrame> frame = reference.next()) {
            if (frame->kind == proxy::sip::SipFrame::Kind::error) break;
            if (frame->kind != proxy::sip::SipFrame::Kind::message) continue;
            sent.push_back(frame->message);
            check_copy(frame->message);
        }
        return !closed;
    });

    // The rewrite adds at most the block's bytes and header lines to a message.
    const std::string& block = identity_block();
    Framed forwarded = frame_all(to_backend, kMaxMessageSize + block.size(), kMaxHeaders + lines_in(block));
    require(!forwarded.failed);
    require(forwarded.messages.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) check_rewrite(sent[i], forwarded.messages[i]);
    return 0;
}
