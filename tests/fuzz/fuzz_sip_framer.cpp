// libFuzzer target: the SIP framer over arbitrary chunks (split by the first byte, see
// fuzz_chunks.h), and the identity rewriter on every request it frames (and on a copy of it).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "fuzz_chunks.h"
#include "proxy/sip_answer.h"
#include "proxy/sip_framer.h"
#include "proxy/sip_identity.h"

using namespace ocspgate;

namespace {

constexpr std::size_t kMaxMessageSize = 4096;  // small, so the size limits are reached too
constexpr std::size_t kMaxHeaders = 32;
constexpr const char* kPrefix = "X-Client-Cert-";

const std::string& identity_block() {
    static const std::string block = [] {
        proxy::PeerIdentity peer;
        peer.subject = "/O=Test/CN=alice";
        peer.issuer = "/O=Test/CN=issuing";
        peer.serial = "1001";
        peer.fingerprint_sha256 = std::string(64, 'a');
        peer.revocation = "good";
        peer.revocation_source = "cache";
        return proxy::identity_header_block(peer, kPrefix);
    }();
    return block;
}

// Header names and values are views into their message: a copy must read the same, from its
// own bytes, once the original is gone. The answer reads the values, the rewrite the names.
void check_copy(proxy::SipMessage& message) {
    const proxy::SipHeadProblem problem{400, "fuzz"};
    std::string rewritten = proxy::rewrite_message(message, kPrefix, identity_block());
    std::string answer = proxy::refusal_answer(message, problem);
    proxy::SipMessage copy = message;
    message = proxy::SipMessage{};
    if (proxy::rewrite_message(copy, kPrefix, identity_block()) != rewritten ||
        proxy::refusal_answer(copy, problem) != answer) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    proxy::SipFramer framer(kMaxMessageSize, kMaxHeaders);
    bool failed = false;
    fuzz::for_each_chunk(std::span<const std::uint8_t>(data, size), [&](std::span<const std::uint8_t> chunk) {
        framer.feed(chunk);
        while (std::optional<proxy::SipFrame> frame = framer.next()) {
            if (frame->kind == proxy::SipFrame::Kind::error) {
                failed = true;  // the front closes the connection here; so do we
                break;
            }
            if (frame->kind == proxy::SipFrame::Kind::message && frame->message.start &&
                frame->message.start->is_request) {
                check_copy(frame->message);
            }
        }
        return !failed;
    });
    return 0;
}
