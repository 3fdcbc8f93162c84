#include "proxy/sip_message.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace ocspgate::proxy {
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

// A new header field: `name HCOLON value`, HCOLON = *( SP / HTAB ) ":" SWS.
std::optional<SipHeader> parse_field_line(std::string_view line) {
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && is_blank(name.back())) name.remove_suffix(1);
    if (!is_token(name)) return std::nullopt;
    return SipHeader{std::string(name), std::string(trim(line.substr(colon + 1))), 0, 0};
}

bool has_control_bytes(std::string_view line) {
    for (char c : {'\r', '\n', '\0'})
        if (std::memchr(line.data(), c, line.size()) != nullptr) return true;
    return false;
}

// The whole head in one pass: CR only as part of CRLF, no bare LF, no NUL. When it holds (the
// usual case), no line needs its own check, which cost three scans per header line.
bool head_is_clean(std::string_view head) {
    for (std::size_t i = 0; i < head.size(); ++i) {
        char c = head[i];
        if (c == '\r') {
            if (i + 1 == head.size() || head[i + 1] != '\n') return false;
            ++i;
        } else if (c == '\n' || c == '\0') {
            return false;
        }
    }
    return true;
}

}  // namespace

// ASCII case folding (header names, methods and URI schemes are ASCII): std::tolower goes
// through the locale for every byte.
bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

bool istarts_with(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

bool is_header(std::string_view name, std::string_view full, std::string_view compact) {
    return iequals(name, full) || (!compact.empty() && iequals(name, compact));
}

std::optional<SipHeadProblem> parse_sip_head(SipMessage& message, std::size_t head_end,
                                             std::size_t max_headers) {
    std::string_view head = std::string_view(message.bytes).substr(0, head_end);
    const bool check_each_line = !head_is_clean(head);  // then the first bad line is reported
    message.headers.reserve(16);
    std::size_t line_begin = 0;
    while (line_begin < head.size()) {
        std::size_t line_end = head.find(kCrlf, line_begin);
        if (line_end == std::string_view::npos) break;  // an incomplete last line: not ours
        std::string_view line = head.substr(line_begin, line_end - line_begin);
        std::size_t next = line_end + kCrlf.size();
        if (check_each_line && has_control_bytes(line)) return malformed("bare CR, LF or NUL in the message head");
        if (!message.start) {
            message.start = parse_start_line(line);
            if (!message.start) return malformed("malformed start line");
            message.start_line_end = next;
        } else if (!line.empty() && is_blank(line.front())) {
            if (message.headers.empty()) return malformed("continuation line before any header");
            SipHeader& folded = message.headers.back();
            std::string_view more = trim(line);
            if (!more.empty()) folded.value += (folded.value.empty() ? "" : " ") + std::string(more);
            folded.end = next;
        } else {
            std::optional<SipHeader> field = parse_field_line(line);
            if (!field) return malformed("malformed header line");
            if (message.headers.size() == max_headers) return SipHeadProblem{513, "too many headers"};
            field->begin = line_begin;
            field->end = next;
            message.headers.push_back(std::move(*field));
        }
        line_begin = next;
    }
    return std::nullopt;
}

ContentLength content_length_of(const SipMessage& message) {
    std::optional<std::size_t> found;
    for (const SipHeader& header : message.headers) {
        if (!is_header(header.name, "Content-Length", "l")) continue;
        const std::string& text = header.value;
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

}  // namespace ocspgate::proxy
