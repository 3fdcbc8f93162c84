#include "proxy/sip/message.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <functional>

namespace ocspgate::proxy::sip {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kSipVersion = "SIP/2.0";
constexpr std::size_t kMaxContentLengthDigits = 9;  // far above any max_message_size

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
// A table rather than std::isalnum: the locale-aware libc call per byte was an eighth of the
// framing time, and SIP tokens are ASCII whatever the locale.
constexpr std::array<bool, 256> kTokenChars = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[static_cast<std::size_t>(c)] = table[static_cast<std::size_t>(c - 32)] = true;
    for (char c : std::string_view("-.!%*_+`'~")) table[static_cast<unsigned char>(c)] = true;
    return table;
}();

bool is_token(std::string_view text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return kTokenChars[static_cast<unsigned char>(c)]; });
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
    return text;
}

SipHeadProblem malformed(std::string detail) { return {400, std::move(detail)}; }

// Request-Line = Method SP Request-URI SP SIP-Version
// Status-Line  = SIP-Version SP Status-Code SP Reason-Phrase
std::optional<SipStartLine> parse_start_line(std::string_view line) {
    std::size_t first_space = line.find(' ');
    if (first_space == std::string_view::npos) return std::nullopt;
    std::string_view first = line.substr(0, first_space);
    std::string_view rest = line.substr(first_space + 1);
    if (iequals(first, kSipVersion)) {
        bool has_code = rest.size() >= 4 && rest[3] == ' ' &&
                        std::all_of(rest.begin(), rest.begin() + 3,
                                    [](char c) { return c >= '0' && c <= '9'; }) &&
                        rest[0] != '0';
        if (!has_code) return std::nullopt;
        return SipStartLine{false, ""};
    }
    std::size_t second_space = rest.find(' ');
    if (second_space == std::string_view::npos) return std::nullopt;
    std::string_view uri = rest.substr(0, second_space);
    std::string_view version = rest.substr(second_space + 1);
    if (!is_token(first) || uri.empty() || !iequals(version, kSipVersion)) return std::nullopt;
    bool uri_is_clean = std::none_of(uri.begin(), uri.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
    });
    if (!uri_is_clean) return std::nullopt;
    return SipStartLine{true, std::string(first)};
}

// A new header field: `name HCOLON value`, HCOLON = *( SP / HTAB ) ":" SWS. An empty name
// when the line is not one. (Not a std::optional<SipHeader>: copying that into the vector went
// through the stack in pieces, a store-forwarding stall per header.)
struct FieldLine {
    std::string_view name;
    std::string_view value;
};

FieldLine parse_field_line(std::string_view line) {
    // Walking the name's token characters also finds the colon: the first ':' is where the
    // name and its trailing blanks end, or the line is not a field.
    std::size_t name_end = 0;
    while (name_end < line.size() && kTokenChars[static_cast<unsigned char>(line[name_end])]) ++name_end;
    std::size_t colon = name_end;
    while (colon < line.size() && is_blank(line[colon])) ++colon;
    if (name_end == 0 || colon == line.size() || line[colon] != ':') return {};
    return {line.substr(0, name_end), trim(line.substr(colon + 1))};
}

// Lines are found eight bytes at a time: most of a head is header text without CR, LF or NUL,
// and looking at it byte by byte (as a separate check of the whole head did) was half of the
// framing time. The word tricks below give byte positions in little-endian order only; other
// machines take the byte loop.
constexpr std::uint64_t repeated_byte(unsigned char c) { return 0x0101010101010101ULL * c; }
constexpr std::uint64_t kHighBits = repeated_byte(0x80);

// The high bit of each zero byte of `word` is set, and bits above the lowest zero byte may be
// set too (borrows): exact for "is there one" and for "which is the first".
constexpr std::uint64_t zero_bytes(std::uint64_t word) {
    return (word - repeated_byte(1)) & ~word & kHighBits;
}

// Nonzero when a byte of `word` is below `n` (at most 0x80); one test rules out all three
// control bytes for most words.
constexpr std::uint64_t bytes_below(std::uint64_t word, unsigned char n) {
    return (word - repeated_byte(n)) & ~word & kHighBits;
}

std::uint64_t control_bytes(std::uint64_t word) {
    return zero_bytes(word) | zero_bytes(word ^ repeated_byte('\r')) |
           zero_bytes(word ^ repeated_byte('\n'));
}

bool is_control(char c) { return c == '\r' || c == '\n' || c == '\0'; }

// The offset of the first CR, LF or NUL in text[from, ...), or npos.
std::size_t find_control_byte(std::string_view text, std::size_t from) {
    std::size_t at = from;
    if constexpr (std::endian::native == std::endian::little) {
        for (; at + sizeof(std::uint64_t) <= text.size(); at += sizeof(std::uint64_t)) {
            std::uint64_t word = 0;
            std::memcpy(&word, text.data() + at, sizeof word);
            if (bytes_below(word, '\r' + 1) == 0) continue;  // CR is the largest of the three
            if (std::uint64_t found = control_bytes(word)) return at + std::countr_zero(found) / 8;
        }
    }
    for (; at < text.size(); ++at) {
        if (is_control(text[at])) return at;
    }
    return std::string_view::npos;
}

// Where the line starting at `begin` ends (its CRLF; npos when the head holds no further
// complete line), and whether a CR, LF or NUL comes before that CRLF: the head must not hold
// any CR or LF outside a CRLF, nor any NUL.
struct NextLine {
    std::size_t end = std::string_view::npos;
    bool has_stray_control = false;
};

NextLine find_line_end(std::string_view head, std::size_t begin) {
    std::size_t control = find_control_byte(head, begin);
    if (control == std::string_view::npos) return {};
    if (head.substr(control, kCrlf.size()) == kCrlf) return {control, false};
    // A stray one, reported only in a complete line, as the line it belongs to.
    std::size_t crlf = head.find(kCrlf, control);
    return {crlf, crlf != std::string_view::npos};
}

// One line of a head, CRLF excluded: the start line, a continuation line or a new field.
// `begin` and `next` are the offsets of the line and of the one after it.
std::optional<SipHeadProblem> parse_head_line(SipMessage& message, std::string_view line,
                                              std::size_t begin, std::size_t next,
                                              std::size_t max_headers) {
    if (!message.start) {
        message.start = parse_start_line(line);
        if (!message.start) return malformed("malformed start line");
        message.start_line_end = next;
    } else if (!line.empty() && is_blank(line.front())) {
        if (message.headers.empty()) return malformed("continuation line before any header");
        SipHeader& folded = message.headers.back();
        message.fold_into(folded, trim(line));
        folded.end = next;
    } else {
        FieldLine field = parse_field_line(line);
        if (field.name.empty()) return malformed("malformed header line");
        if (message.headers.size() == max_headers) return SipHeadProblem{513, "too many headers"};
        message.headers.push_back({field.name, field.value, begin, next});
    }
    return std::nullopt;
}

// Parses the lines of `text` in order, up to the first problem, the end of its complete lines
// or, with `stop_at_empty_line`, the empty line after the header fields.
struct HeadWalk {
    std::optional<SipHeadProblem> problem;
    std::size_t empty_line = std::string_view::npos;  // the offset of the empty line, if one ended it
};

HeadWalk walk_head(SipMessage& message, std::string_view text, std::size_t max_headers,
                   bool stop_at_empty_line) {
    message.headers.reserve(16);
    std::size_t line_begin = 0;
    while (line_begin < text.size()) {
        NextLine line_end = find_line_end(text, line_begin);
        if (line_end.has_stray_control) return {malformed("bare CR, LF or NUL in the message head")};
        if (line_end.end == std::string_view::npos) break;  // an incomplete last line: not ours
        std::string_view line = text.substr(line_begin, line_end.end - line_begin);
        if (stop_at_empty_line && line.empty() && message.start) return {std::nullopt, line_begin};
        std::size_t next = line_end.end + kCrlf.size();
        if (auto problem = parse_head_line(message, line, line_begin, next, max_headers)) {
            return {problem};
        }
        line_begin = next;
    }
    return {};
}

}  // namespace

SipMessage::SipMessage(const SipMessage& other)
    : bytes(other.bytes),
      start_line_end(other.start_line_end),
      head_size(other.head_size),
      start(other.start),
      headers(other.headers),
      folded_values_(other.folded_values_) {
    repoint_views(other.bytes, other.folded_values_);
}

SipMessage::SipMessage(SipMessage&& other) noexcept { *this = std::move(other); }

SipMessage& SipMessage::operator=(const SipMessage& other) {
    if (this != &other) *this = SipMessage(other);
    return *this;
}

SipMessage& SipMessage::operator=(SipMessage&& other) noexcept {
    if (this == &other) return *this;
    // Where the bytes were: still readable for the comparisons, as `other` is alive.
    std::string_view old_bytes = other.bytes;
    bytes = std::move(other.bytes);
    start_line_end = other.start_line_end;
    head_size = other.head_size;
    start = std::move(other.start);
    headers = std::move(other.headers);
    folded_values_ = std::move(other.folded_values_);  // list nodes move as they are
    repoint_views(old_bytes, folded_values_);
    return *this;
}

void SipMessage::adopt_bytes(std::string received, const char* parsed_from) {
    bytes = std::move(received);
    repoint_views({parsed_from, bytes.size()}, folded_values_);
}

void SipMessage::fold_into(SipHeader& header, std::string_view more) {
    if (more.empty()) return;
    if (header.value.empty()) {  // the field's first text: a view of the parsed bytes will do
        header.value = more;
        return;
    }
    bool owned = !folded_values_.empty() && header.value.data() == folded_values_.back().data();
    if (!owned) folded_values_.emplace_back(header.value);  // only the last header can be folded
    std::string& joined = folded_values_.back();
    joined.append(" ").append(more);
    header.value = joined;
}

// A view of a folded value moves to the same position in our list as in `old_folded_values`; a
// view of `old_bytes` to the same offset in ours. Any other view is left alone: a head parsed in
// the framer's buffer and not adopted yet may be moved.
void SipMessage::repoint_views(std::string_view old_bytes,
                               const std::list<std::string>& old_folded_values) {
    // Most moves: the bytes are on the heap (or not adopted yet) and list nodes stay put.
    bool bytes_stayed = old_bytes.data() == bytes.data() || old_bytes.empty();
    bool folded_stayed = &old_folded_values == &folded_values_ || old_folded_values.empty();
    if (bytes_stayed && folded_stayed) return;
    std::less_equal<const char*> before_or_at;  // a total order, unlike <= on unrelated pointers
    auto repointed = [&](std::string_view view) -> std::string_view {
        auto ours = folded_values_.begin();
        for (const std::string& theirs : old_folded_values) {
            if (view.data() == theirs.data()) return *ours;
            ++ours;
        }
        bool in_old_bytes =
            before_or_at(old_bytes.data(), view.data()) &&
            before_or_at(view.data() + view.size(), old_bytes.data() + old_bytes.size());
        if (!in_old_bytes) return view;
        return {bytes.data() + (view.data() - old_bytes.data()), view.size()};
    };
    for (SipHeader& header : headers) {
        header.name = repointed(header.name);
        header.value = repointed(header.value);
    }
}

// ASCII case folding (header names, methods and URI schemes are ASCII): std::tolower goes
// through the locale for every byte.
bool iequals(std::string_view a, std::string_view b) {
    if (a == b) return true;  // names are mostly written as the RFC does: one memcmp
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

bool istarts_with(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool is_header(std::string_view name, std::string_view full, std::string_view compact) {
    // Sizes first: this runs for every header of every message, and most differ in size.
    if (name.size() != full.size() && name.size() != compact.size()) return false;
    return iequals(name, full) || (!compact.empty() && iequals(name, compact));
}

std::optional<SipHeadProblem> parse_sip_head(SipMessage& message, std::size_t head_end,
                                             std::size_t max_headers) {
    return parse_sip_head(message, std::string_view(message.bytes).substr(0, head_end), max_headers);
}

std::optional<SipHeadProblem> parse_sip_head(SipMessage& message, std::string_view head,
                                             std::size_t max_headers) {
    return walk_head(message, head, max_headers, false).problem;
}

std::optional<std::size_t> parse_whole_sip_head(SipMessage& message, std::string_view text,
                                                std::size_t max_headers) {
    HeadWalk walk = walk_head(message, text, max_headers, true);
    if (walk.problem || walk.empty_line == std::string_view::npos) return std::nullopt;
    return walk.empty_line + kCrlf.size();
}

ContentLength content_length_of(const SipMessage& message) {
    std::optional<std::size_t> found;
    for (const SipHeader& header : message.headers) {
        if (!is_header(header.name, "Content-Length", "l")) continue;
        std::string_view text = header.value;
        std::size_t value = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || text.size() > kMaxContentLengthDigits || error != std::errc{} ||
            end != text.data() + text.size()) {
            return {0, malformed("Content-Length is not a number")};
        }
        if (found && *found != value) return {0, malformed("conflicting Content-Length headers")};
        found = value;
    }
    if (!found) return {0, malformed("missing Content-Length (mandatory over TLS)")};
    return {*found, std::nullopt};
}

}  // namespace ocspgate::proxy::sip
