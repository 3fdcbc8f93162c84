// tls::Record13::open, the TLS 1.3 records a client sends after the handshake (tls/record13.h).
//
// A second Record13 with the keys swapped plays the client, so the input reaches past the
// tag check: each step seals application data, sends a KeyUpdate or an alert, or injects raw
// bytes (forged records, cut headers), and the protected stream reaches the server cut into
// pieces the input chooses. Whatever the input: no crash, no unbounded state, and as long as
// the server reported no failure, the plaintext it opened is exactly what the client sealed.
#include <openssl/ssl.h>

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "tls/record13.h"

namespace {

using ocspgate::tls::Record13;
using ocspgate::tls::TrafficSecret;

const SSL_CIPHER* suite_for(std::uint8_t selector) {
    static SSL_CTX* ctx = SSL_CTX_new(TLS_method());
    static SSL* ssl = SSL_new(ctx);
    static const unsigned char ids[3][2] = {{0x13, 0x01}, {0x13, 0x02}, {0x13, 0x03}};
    return SSL_CIPHER_find(ssl, ids[selector % 3]);
}

TrafficSecret secret(std::uint8_t fill, std::size_t size) {
    TrafficSecret s;
    s.size = size;
    for (std::size_t i = 0; i < size; ++i) s.bytes[i] = static_cast<std::uint8_t>(fill + i);
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const SSL_CIPHER* suite = suite_for(data[0]);
    const std::size_t hash = SSL_CIPHER_get_protocol_id(suite) == 0x1302 ? 48 : 32;
    const TrafficSecret client_secret = secret(0x11, hash);
    const TrafficSecret server_secret = secret(0x77, hash);
    auto server = Record13::create(suite, client_secret, server_secret);
    auto client = Record13::create(suite, server_secret, client_secret);
    if (!server || !client) std::abort();
    std::span<const std::uint8_t> in(data + 1, size - 1);
    std::string sealed;            // what the client protected, in order
    std::vector<std::uint8_t> opened;
    bool server_failed = false;
    bool forged = false;           // raw bytes went in: the stream may legitimately fail
    auto deliver = [&](std::vector<std::uint8_t> wire, std::uint8_t cut) {
        std::span<const std::uint8_t> rest(wire);
        while (!rest.empty() && !server_failed) {
            const std::size_t n = cut == 0 ? rest.size() : std::min<std::size_t>(cut, rest.size());
            Record13::Opened result = (*server)->open(rest.first(n), opened);
            server_failed = result.failure.has_value();
            rest = rest.subspan(n);
        }
        std::vector<std::uint8_t> back;  // the server's KeyUpdates, alerts: the client follows them
        (*server)->take_output(back);
        std::vector<std::uint8_t> ignored;
        (*client)->open(back, ignored);
    };
    while (in.size() >= 2 && !server_failed) {
        const std::uint8_t op = in[0] % 5;
        const std::uint8_t cut = in[1];
        in = in.subspan(2);
        std::vector<std::uint8_t> wire;
        switch (op) {
            case 0:
            case 1: {  // application data, up to 255 bytes (0: none, an empty record)
                const std::size_t n = in.empty() ? 0 : std::min<std::size_t>(in[0], in.size() - 1);
                std::span<const std::uint8_t> text = in.empty() ? in : in.subspan(1, n);
                (*client)->seal(text);
                if (!text.empty()) sealed.append(text.begin(), text.end());
                in = in.empty() ? in : in.subspan(1 + n);
                break;
            }
            case 2: (*client)->send_key_update(); break;
            case 3: (*client)->alert(cut); break;  // close_notify, user_canceled or fatal ones
            case 4: {  // raw bytes, as an attacker on the wire would send them
                const std::size_t n = in.empty() ? 0 : std::min<std::size_t>(in[0], in.size() - 1);
                if (!in.empty()) wire.assign(in.begin() + 1, in.begin() + 1 + static_cast<std::ptrdiff_t>(n));
                in = in.empty() ? in : in.subspan(1 + n);
                forged = forged || !wire.empty();
                break;
            }
        }
        (*client)->take_output(wire);
        deliver(std::move(wire), cut);
        if (op == 3) break;  // after an alert the client sends nothing more
    }
    // Nothing was opened that the client did not seal, and nothing sealed was lost, unless
    // the stream failed (a forged record, too many KeyUpdates, an alert).
    const std::string got(opened.begin(), opened.end());
    if (got.size() > sealed.size() || sealed.compare(0, got.size(), got) != 0) std::abort();
    if (!server_failed && !forged && (*server)->input_pending() == 0 && got != sealed) std::abort();
    return 0;
}
