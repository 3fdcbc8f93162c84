// TLS 1.3 record protection after the handshake (RFC 8446 §5.2, §7.1–7.3), so that a server
// Engine can free OpenSSL's per-connection state once the handshake is done.
//
// Why: OpenSSL 3.0 keeps ≈ 21 KiB per connection after the handshake (the SSL object, its
// session, the peer's parsed chain, record buffers; docs/CONNECTION_COST.md) with no API to
// release any of it, while the connection then only needs two AEAD keys, their IVs and
// sequence numbers. This is what the kernel's TLS offload holds; that offload is not
// available where ocspgate runs here, so the same state lives in user space. The ciphers are
// OpenSSL's (EVP); this file only frames records, builds nonces, and handles the three
// post-handshake messages a client may send: alerts, KeyUpdate, and application data.
//
// Only what a server needs after a TLS 1.3 handshake without tickets: both sequence numbers
// start at 0, no early data, no post-handshake authentication. Anything else the peer sends
// (a protected record of another outer type, a handshake message but KeyUpdate, a KeyUpdate
// split across records) ends the connection with an alert: fail closed.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace ocspgate::tls {

// One direction's traffic secret, as the keylog callback hands it out.
struct TrafficSecret {
    std::array<std::uint8_t, 48> bytes{};  // SHA-256 or SHA-384 sized
    std::size_t size = 0;
};

class Record13 {
public:
    // The negotiated suite must be TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 or
    // TLS_CHACHA20_POLY1305_SHA256; any other is an error (the caller keeps OpenSSL then).
    static Result<std::unique_ptr<Record13>> create(const SSL_CIPHER* suite, const TrafficSecret& peer,
                                                    const TrafficSecret& own);
    ~Record13();
    Record13(const Record13&) = delete;
    Record13& operator=(const Record13&) = delete;

    struct Opened {
        bool peer_closed = false;            // close_notify received
        std::optional<std::string> failure;  // fatal; our alert is already in the output
    };
    // Takes ciphertext from the network; opens every complete record, appending application
    // data to `plaintext`. A KeyUpdate with update_requested queues our own KeyUpdate.
    Opened open(std::span<const std::uint8_t> ciphertext, std::vector<std::uint8_t>& plaintext);
    // Protects `plaintext` as application data records of at most 16 KiB each.
    void seal(std::span<const std::uint8_t> plaintext);
    // Queues an alert (close_notify, or a fatal one: certificate_revoked, ...).
    void alert(std::uint8_t description);
    // Our KeyUpdate (update_not_requested) under the current key, then the next key (§4.6.3).
    void send_key_update() { update_own_key(); }
    // Bytes OpenSSL protected before the hand-over (its last handshake bytes), sent first.
    void pass_through(std::span<const std::uint8_t> protected_bytes) {
        output_.insert(output_.end(), protected_bytes.begin(), protected_bytes.end());
    }

    std::size_t take_output(std::vector<std::uint8_t>& out);
    std::size_t output_pending() const { return output_.size(); }
    std::size_t input_pending() const { return partial_.size(); }

    static constexpr std::uint8_t kCloseNotify = 0;

private:
    struct Direction;
    Record13(std::unique_ptr<Direction> read, std::unique_ptr<Direction> write);
    std::optional<std::string> open_one(std::span<const std::uint8_t> record, std::vector<std::uint8_t>& plaintext,
                                        bool& peer_closed);
    std::optional<std::string> on_handshake(std::span<const std::uint8_t> message);
    void update_own_key();  // our KeyUpdate under the old key, then the new key (§4.6.3)
    void seal_record(std::uint8_t inner_type, std::span<const std::uint8_t> content);
    std::string fail(std::uint8_t alert, std::string why);

    std::unique_ptr<Direction> read_;
    std::unique_ptr<Direction> write_;
    std::vector<std::uint8_t> partial_;  // the start of a record not complete yet
    std::vector<std::uint8_t> output_;   // protected records not taken yet
    bool failed_ = false;
    bool sent_close_ = false;        // our close_notify is out: nothing follows it
    int records_without_data_ = 0;   // in a row; see kMaxRecordsWithoutData
};

}  // namespace ocspgate::tls
