#include "tls/record13.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <string_view>
#include <utility>

namespace ocspgate::tls {
namespace {

constexpr std::size_t kHeaderSize = 5;
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kIvSize = 12;
constexpr std::size_t kMaxPlaintext = 16384;                      // 2^14 (§5.1)
constexpr std::size_t kMaxCiphertext = kMaxPlaintext + 256;      // §5.2
constexpr std::uint8_t kAlert = 21;
constexpr std::uint8_t kHandshake = 22;
constexpr std::uint8_t kApplicationData = 23;
constexpr std::uint8_t kKeyUpdate = 24;
constexpr std::uint8_t kUnexpectedMessage = 10;
constexpr std::uint8_t kBadRecordMac = 20;
constexpr std::uint8_t kRecordOverflow = 22;
constexpr std::uint8_t kIllegalParameter = 47;
constexpr std::uint8_t kDecodeError = 50;
constexpr std::uint8_t kInternalError = 80;
constexpr std::uint8_t kUserCanceled = 90;
// Records that carry no application data (KeyUpdate, user_canceled, empty data) accepted in a
// row, as OpenSSL 3.0 allows 32 KeyUpdates: beyond that a peer only makes us work.
constexpr int kMaxRecordsWithoutData = 32;
// Our own key is renewed after this many records, well inside AES-GCM's limit of 2^24.5
// records per key (§5.5).
constexpr std::uint64_t kRecordsPerWriteKey = std::uint64_t{1} << 23;

// The suite's AEAD and hash, fetched once per process (a fetch per connection would cost
// more than the key derivation itself).
struct Algorithms {
    EVP_CIPHER* cipher;
    const char* digest_name;
    std::size_t key_size;
    std::size_t hash_size;
};

const Algorithms* algorithms_of(const SSL_CIPHER* suite) {
    static const Algorithms aes128{EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr), "SHA256", 16, 32};
    static const Algorithms aes256{EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr), "SHA384", 32, 48};
    static const Algorithms chacha{EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr), "SHA256", 32, 32};
    const Algorithms* found = nullptr;
    switch (SSL_CIPHER_get_protocol_id(suite)) {
        case 0x1301: found = &aes128; break;  // TLS_AES_128_GCM_SHA256
        case 0x1302: found = &aes256; break;  // TLS_AES_256_GCM_SHA384
        case 0x1303: found = &chacha; break;  // TLS_CHACHA20_POLY1305_SHA256
        default: return nullptr;              // the CCM suites: OpenSSL keeps the connection
    }
    return found->cipher != nullptr ? found : nullptr;
}

// One HMAC context per thread and hash, its digest set once; EVP_MAC_init then only rekeys.
class Hmac {
public:
    explicit Hmac(const char* digest) {
        mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        ctx_ = mac_ != nullptr ? EVP_MAC_CTX_new(mac_) : nullptr;
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
                               OSSL_PARAM_construct_end()};
        if (ctx_ != nullptr && EVP_MAC_CTX_set_params(ctx_, params) != 1) {
            EVP_MAC_CTX_free(ctx_);
            ctx_ = nullptr;
        }
    }
    ~Hmac() {
        EVP_MAC_CTX_free(ctx_);
        EVP_MAC_free(mac_);
    }
    Hmac(const Hmac&) = delete;
    Hmac& operator=(const Hmac&) = delete;

    bool compute(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data, std::uint8_t* out,
                 std::size_t out_capacity) {
        std::size_t written = 0;
        bool ok = ctx_ != nullptr && EVP_MAC_init(ctx_, key.data(), key.size(), nullptr) == 1 &&
                  EVP_MAC_update(ctx_, data.data(), data.size()) == 1 &&
                  EVP_MAC_final(ctx_, out, &written, out_capacity) == 1;
        // The context keeps a copy of its key: overwrite the secret with a dummy one, so an
        // old traffic secret does not outlive the KeyUpdate that replaced it.
        static constexpr std::uint8_t kDummy[1] = {0};
        if (ctx_ != nullptr) EVP_MAC_init(ctx_, kDummy, sizeof kDummy, nullptr);
        return ok;
    }

private:
    EVP_MAC* mac_ = nullptr;
    EVP_MAC_CTX* ctx_ = nullptr;
};

Hmac& hmac_for(const Algorithms& algorithms) {
    thread_local Hmac sha256("SHA256");
    thread_local Hmac sha384("SHA384");
    return algorithms.hash_size == 48 ? sha384 : sha256;
}

// HKDF-Expand-Label(secret, label, "", out.size()) (§7.1). Every length needed here (a key,
// an IV, the next traffic secret) fits in one hash output: HKDF-Expand's first block,
// HMAC(secret, HkdfLabel || 0x01).
bool expand_label(const Algorithms& algorithms, std::span<const std::uint8_t> secret, std::string_view label,
                  std::span<std::uint8_t> out) {
    constexpr std::string_view kPrefix = "tls13 ";
    std::array<std::uint8_t, 64> info{};
    std::size_t n = 0;
    info[n++] = static_cast<std::uint8_t>(out.size() >> 8);
    info[n++] = static_cast<std::uint8_t>(out.size());
    info[n++] = static_cast<std::uint8_t>(kPrefix.size() + label.size());
    for (char c : kPrefix) info[n++] = static_cast<std::uint8_t>(c);
    for (char c : label) info[n++] = static_cast<std::uint8_t>(c);
    info[n++] = 0;     // empty context
    info[n++] = 0x01;  // HKDF-Expand's block counter
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> block{};
    if (out.size() > algorithms.hash_size ||
        !hmac_for(algorithms).compute(secret, std::span(info.data(), n), block.data(), block.size()))
        return false;
    std::copy_n(block.begin(), out.size(), out.begin());
    OPENSSL_cleanse(block.data(), block.size());
    return true;
}

}  // namespace

// One direction's keys: the traffic secret (kept for KeyUpdate), the AEAD context keyed from
// it, the IV, and the record sequence number.
struct Record13::Direction {
    const Algorithms* algorithms = nullptr;
    bool sealing = false;
    EVP_CIPHER_CTX* ctx = nullptr;
    TrafficSecret secret;
    std::array<std::uint8_t, kIvSize> iv{};
    std::uint64_t sequence = 0;

    ~Direction() {
        EVP_CIPHER_CTX_free(ctx);
        OPENSSL_cleanse(secret.bytes.data(), secret.bytes.size());
        OPENSSL_cleanse(iv.data(), iv.size());
    }

    // Keys this direction from `next` (§7.3): key and IV from the secret, sequence back to 0.
    bool install(const TrafficSecret& next) {
        secret = next;
        std::span<const std::uint8_t> s(secret.bytes.data(), secret.size);
        std::array<std::uint8_t, 32> key{};
        std::span<std::uint8_t> key_span(key.data(), algorithms->key_size);
        bool ok = expand_label(*algorithms, s, "key", key_span) && expand_label(*algorithms, s, "iv", iv) &&
                  EVP_CipherInit_ex2(ctx, algorithms->cipher, key.data(), nullptr, sealing ? 1 : 0, nullptr) == 1;
        OPENSSL_cleanse(key.data(), key.size());
        sequence = 0;
        return ok;
    }

    // KeyUpdate: application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length).
    bool update() {
        TrafficSecret next;
        next.size = secret.size;
        if (!expand_label(*algorithms, std::span(secret.bytes.data(), secret.size), "traffic upd",
                          std::span(next.bytes.data(), next.size)))
            return false;
        bool ok = install(next);
        OPENSSL_cleanse(next.bytes.data(), next.bytes.size());
        return ok;
    }

    // The per-record nonce (§5.3): the IV XOR the sequence number, left-padded to its length.
    bool start_record(std::span<const std::uint8_t> header) {
        std::array<std::uint8_t, kIvSize> nonce = iv;
        for (std::size_t i = 0; i < 8; ++i) nonce[kIvSize - 1 - i] ^= static_cast<std::uint8_t>(sequence >> (8 * i));
        int ignored = 0;
        return EVP_CipherInit_ex2(ctx, nullptr, nullptr, nonce.data(), sealing ? 1 : 0, nullptr) == 1 &&
               EVP_CipherUpdate(ctx, nullptr, &ignored, header.data(), static_cast<int>(header.size())) == 1;
    }
};

Result<std::unique_ptr<Record13>> Record13::create(const SSL_CIPHER* suite, const TrafficSecret& peer,
                                                   const TrafficSecret& own) {
    const Algorithms* algorithms = suite != nullptr ? algorithms_of(suite) : nullptr;
    if (algorithms == nullptr) return make_error(Errc::tls, "no own record layer for this cipher suite");
    if (peer.size != algorithms->hash_size || own.size != algorithms->hash_size)
        return make_error(Errc::tls, "traffic secrets missing");
    auto make = [&](const TrafficSecret& secret, bool sealing) -> std::unique_ptr<Direction> {
        auto d = std::make_unique<Direction>();
        d->algorithms = algorithms;
        d->sealing = sealing;
        d->ctx = EVP_CIPHER_CTX_new();
        if (d->ctx == nullptr || !d->install(secret)) return nullptr;
        return d;
    };
    auto read = make(peer, false);
    auto write = make(own, true);
    if (!read || !write) return make_error(Errc::tls, "cannot key the record layer");
    return std::unique_ptr<Record13>(new Record13(std::move(read), std::move(write)));
}

Record13::Record13(std::unique_ptr<Direction> read, std::unique_ptr<Direction> write)
    : read_(std::move(read)), write_(std::move(write)) {}

Record13::~Record13() = default;

std::string Record13::fail(std::uint8_t alert_description, std::string why) {
    if (!failed_) alert(alert_description);
    failed_ = true;
    std::vector<std::uint8_t>().swap(partial_);
    return "TLS error: " + why;
}

Record13::Opened Record13::open(std::span<const std::uint8_t> ciphertext, std::vector<std::uint8_t>& plaintext) {
    Opened result;
    auto open_next = [&](std::span<const std::uint8_t> record) {
        if (auto failure = open_one(record, plaintext, result.peer_closed)) result.failure = std::move(failure);
        return !result.failure && !result.peer_closed;  // nothing after close_notify counts
    };
    // A record begun in an earlier call is completed first; whole records are then opened
    // straight from `ciphertext`, and only a trailing partial one is copied.
    while (!failed_ && !partial_.empty() && !ciphertext.empty()) {
        auto take = [&](std::size_t want) {
            std::size_t n = std::min(want - partial_.size(), ciphertext.size());
            partial_.insert(partial_.end(), ciphertext.begin(), ciphertext.begin() + static_cast<std::ptrdiff_t>(n));
            ciphertext = ciphertext.subspan(n);
        };
        if (partial_.size() < kHeaderSize) {
            take(kHeaderSize);
            continue;
        }
        const std::size_t length = (std::size_t{partial_[3]} << 8) | partial_[4];
        if (length > kMaxCiphertext) return {false, fail(kRecordOverflow, "record too long")};
        take(kHeaderSize + length);
        if (partial_.size() < kHeaderSize + length) break;
        std::vector<std::uint8_t> record;
        record.swap(partial_);
        if (!open_next(record)) return result;
    }
    while (!failed_ && ciphertext.size() >= kHeaderSize) {
        std::size_t length = (std::size_t{ciphertext[3]} << 8) | ciphertext[4];
        if (length > kMaxCiphertext) return {false, fail(kRecordOverflow, "record too long")};
        if (ciphertext.size() < kHeaderSize + length) break;
        if (!open_next(ciphertext.first(kHeaderSize + length))) return result;
        ciphertext = ciphertext.subspan(kHeaderSize + length);
    }
    if (!failed_) partial_.insert(partial_.end(), ciphertext.begin(), ciphertext.end());
    return result;
}

std::optional<std::string> Record13::open_one(std::span<const std::uint8_t> record,
                                              std::vector<std::uint8_t>& plaintext, bool& peer_closed) {
    // The outer type of every protected record is application_data; legacy_record_version
    // is ignored (§5.1). Unprotected alerts or change_cipher_spec after the handshake are not
    // allowed (§5).
    if (record[0] != kApplicationData) return fail(kUnexpectedMessage, "unprotected record after the handshake");
    const std::size_t sealed = record.size() - kHeaderSize;
    if (sealed < kTagSize + 1) return fail(kBadRecordMac, "bad record mac");
    thread_local std::array<std::uint8_t, kMaxCiphertext> opened;
    const std::size_t length = sealed - kTagSize;
    struct Wipe {  // the last record's plaintext does not stay in the thread's buffer
        std::uint8_t* data;
        std::size_t size;
        ~Wipe() { OPENSSL_cleanse(data, size); }
    } wipe{opened.data(), length};
    int n = 0;
    int final_n = 0;
    Direction& d = *read_;
    bool ok = d.start_record(record.first(kHeaderSize)) &&
              EVP_CipherUpdate(d.ctx, opened.data(), &n, record.data() + kHeaderSize, static_cast<int>(length)) == 1 &&
              EVP_CIPHER_CTX_ctrl(d.ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize),
                                  const_cast<std::uint8_t*>(record.data() + kHeaderSize + length)) == 1 &&
              EVP_CipherFinal_ex(d.ctx, opened.data() + n, &final_n) == 1;
    if (!ok) return fail(kBadRecordMac, "bad record mac");
    if (++d.sequence == 0) return fail(kInternalError, "sequence number exhausted");
    // TLSInnerPlaintext: content, its real type, then zero padding (§5.2).
    std::size_t end = length;
    while (end > 0 && opened[end - 1] == 0) --end;
    if (end == 0) return fail(kUnexpectedMessage, "record without a content type");
    const std::uint8_t type = opened[end - 1];
    std::span<const std::uint8_t> content(opened.data(), end - 1);
    if (content.size() > kMaxPlaintext) return fail(kRecordOverflow, "record too long");
    if (type == kApplicationData && !content.empty()) records_without_data_ = 0;
    else if (++records_without_data_ > kMaxRecordsWithoutData)
        return fail(kUnexpectedMessage, "too many records without application data");
    switch (type) {
        case kApplicationData:
            plaintext.insert(plaintext.end(), content.begin(), content.end());
            return std::nullopt;
        case kAlert:
            if (content.size() != 2) return fail(kDecodeError, "malformed alert");
            if (content[1] == kCloseNotify) {
                peer_closed = true;
                return std::nullopt;
            }
            if (content[1] == kUserCanceled) return std::nullopt;  // a close_notify follows (§6.1)
            failed_ = true;  // a fatal alert from the peer is not answered
            return "TLS error: peer sent alert " + std::string(SSL_alert_desc_string_long(content[1]));
        case kHandshake: return on_handshake(content);
        default: return fail(kUnexpectedMessage, "unexpected record content type");
    }
}

// After the handshake a client may send only KeyUpdate (§4.6.3); no tickets were issued and
// post-handshake authentication was not offered. A KeyUpdate is a key change, so it must be
// the whole of its record (§5.1): nothing before or after it, not split.
std::optional<std::string> Record13::on_handshake(std::span<const std::uint8_t> message) {
    if (message.size() < 4) return fail(kUnexpectedMessage, "handshake message split across records");
    if (message[0] != kKeyUpdate) return fail(kUnexpectedMessage, "unexpected handshake message after the handshake");
    const std::size_t length = (std::size_t{message[1]} << 16) | (std::size_t{message[2]} << 8) | message[3];
    if (message.size() != 4 + length) return fail(kUnexpectedMessage, "KeyUpdate not alone in its record");
    if (length != 1) return fail(kDecodeError, "malformed KeyUpdate");
    const std::uint8_t request = message[4];
    if (request > 1) return fail(kIllegalParameter, "malformed KeyUpdate");
    if (!read_->update()) return fail(kInternalError, "KeyUpdate failed");
    if (request == 1) update_own_key();  // update_requested: ours follows, under the old key
    return failed_ ? std::optional<std::string>("TLS error: KeyUpdate failed") : std::nullopt;
}

// A failure here leaves no usable write key: the connection ends without an alert (one
// sealed under a key the peer has moved past could not be read anyway).
void Record13::update_own_key() {
    const std::uint8_t update_not_requested[] = {kKeyUpdate, 0, 0, 1, 0};
    seal_record(kHandshake, update_not_requested);
    if (!failed_ && !write_->update()) failed_ = true;
}

void Record13::seal(std::span<const std::uint8_t> plaintext) {
    while (!plaintext.empty() && !failed_ && !sent_close_) {
        if (write_->sequence >= kRecordsPerWriteKey) update_own_key();
        std::size_t n = std::min(plaintext.size(), kMaxPlaintext);
        seal_record(kApplicationData, plaintext.first(n));
        plaintext = plaintext.subspan(n);
    }
}

void Record13::alert(std::uint8_t description) {
    if (failed_ || sent_close_) return;  // nothing is sent after close_notify (§6.1)
    // TLS 1.3 ignores the level; close_notify and user_canceled are sent as warnings (§6).
    const std::uint8_t level = description == kCloseNotify || description == kUserCanceled ? 1 : 2;
    const std::uint8_t body[] = {level, description};
    seal_record(kAlert, body);
    if (level == 2) failed_ = true;
    if (description == kCloseNotify) sent_close_ = true;
}

void Record13::seal_record(std::uint8_t inner_type, std::span<const std::uint8_t> content) {
    Direction& d = *write_;
    const std::size_t inner = content.size() + 1;
    const std::size_t length = inner + kTagSize;
    const std::size_t at = output_.size();
    output_.resize(at + kHeaderSize + length);
    std::uint8_t* header = output_.data() + at;
    header[0] = kApplicationData;
    header[1] = 0x03;
    header[2] = 0x03;
    header[3] = static_cast<std::uint8_t>(length >> 8);
    header[4] = static_cast<std::uint8_t>(length);
    std::uint8_t* body = header + kHeaderSize;
    std::copy(content.begin(), content.end(), body);
    body[content.size()] = inner_type;
    int n = 0;
    int final_n = 0;
    bool ok = d.start_record(std::span(header, kHeaderSize)) &&
              EVP_CipherUpdate(d.ctx, body, &n, body, static_cast<int>(inner)) == 1 &&
              EVP_CipherFinal_ex(d.ctx, body + n, &final_n) == 1 &&
              EVP_CIPHER_CTX_ctrl(d.ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize), body + inner) == 1;
    if (!ok || ++d.sequence == 0) {  // nothing half-sealed goes out
        output_.resize(at);
        failed_ = true;
    }
}

std::size_t Record13::take_output(std::vector<std::uint8_t>& out) {
    const std::size_t n = output_.size();
    if (n == 0) return 0;
    if (out.empty()) out.swap(output_);
    else out.insert(out.end(), output_.begin(), output_.end());
    std::vector<std::uint8_t>().swap(output_);  // an idle connection holds no buffer
    return n;
}

}  // namespace ocspgate::tls
