// libFuzzer target: the OCSP/CRL client's HTTP response parser (ocsp::ResponseParser, the code
// http_fetch runs on every byte a responder sends) over arbitrary chunks (split by the first
// byte, see fuzz_chunks.h), then the end of the stream, as when the responder closes.

#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_chunks.h"
#include "ocsp/http_response.h"

using namespace ocspgate;

namespace {

// Small, so the body and header limits are reached too.
constexpr std::size_t kMaxBody = 4096;
constexpr std::size_t kMaxHeaderBytes = 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ocsp::ResponseParser parser(kMaxBody, kMaxHeaderBytes);
    bool done = false;
    fuzz::for_each_chunk(std::span<const std::uint8_t>(data, size), [&](std::span<const std::uint8_t> chunk) {
        auto progress = parser.feed(chunk);
        done = !progress || *progress == ocsp::ResponseParser::Progress::complete;
        return !done;  // the client feeds no more after an outcome
    });
    if (!done) (void)parser.finish_at_eof();
    const ocsp::HttpResponse response = parser.take();
    // The client's bound, whatever the server sent.
    if (response.body.size() > kMaxBody) __builtin_trap();
    return 0;
}
