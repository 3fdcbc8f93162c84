// The schema for [expiry] (the certificate expiry monitor) and [expiry.email].
#include <algorithm>
#include <cctype>
#include <charconv>

#include "conf/schema.h"
#include "conf/values.h"

namespace ocspgate::conf {
namespace {

constexpr auto required = Presence::required;

// A warning more often than this is noise, and a tick faster than it would be busy work.
constexpr Duration shortest_frequency{1000};

// "host:port" or "[v6]:port". The host may be a DNS name: it is resolved when mail is sent,
// with uv_getaddrinfo on libuv's threadpool, never on a loop.
struct HostPortValue {
    std::optional<HostPort> parse(const toml::node& node, Context& context) const {
        std::optional<std::string> text = expect_string(node, context);
        if (!text) return std::nullopt;
        std::optional<HostPort> value = split(*text);
        if (!value) {
            context.error(node, fmt::format("{} is not HOST:PORT (a DNS name or IP address, and a port "
                                            "from 1 to 65535; IPv6 in brackets)", quote(*text)));
        }
        return value;
    }
    std::string type() const { return "HOST:PORT"; }
    std::string show(const HostPort& value) const { return quote(value.text); }

private:
    static bool plausible_host(std::string_view host, bool bracketed) {
        if (host.empty() || host.size() > 253) return false;
        return std::all_of(host.begin(), host.end(), [bracketed](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' ||
                   (bracketed && c == ':');
        });
    }
    static std::optional<HostPort> split(const std::string& text) {
        std::size_t colon = text.rfind(':');
        if (colon == std::string::npos) return std::nullopt;
        std::string_view host(text.data(), colon);
        std::string_view port_text(text.data() + colon + 1, text.size() - colon - 1);
        bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
        if (bracketed) host = host.substr(1, host.size() - 2);
        unsigned port = 0;
        auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
            return std::nullopt;
        if (!plausible_host(host, bracketed)) return std::nullopt;
        return HostPort{std::string(host), static_cast<std::uint16_t>(port), text};
    }
};

// An envelope address (RFC 5321 Mailbox), kept simple and strict: one '@', printable ASCII,
// no spaces, angle brackets or control characters. It goes verbatim into MAIL FROM / RCPT TO
// and the headers, so this check is also what keeps a CR LF out of the SMTP dialogue.
struct EmailAddressValue {
    std::optional<std::string> parse(const toml::node& node, Context& context) const {
        std::optional<std::string> text = expect_string(node, context);
        if (!text) return std::nullopt;
        std::size_t at = text->find('@');
        bool printable = std::all_of(text->begin(), text->end(), [](char c) {
            return c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"' && c != ',' && c != ';';
        });
        if (!printable || text->size() > 254 || at == std::string::npos || at == 0 ||
            at + 1 == text->size() || text->find('@', at + 1) != std::string::npos) {
            context.error(node, fmt::format("{} is not an email address such as \"noc@example.com\"",
                                            quote(*text)));
            return std::nullopt;
        }
        return text;
    }
    std::string type() const { return "email address"; }
    std::string show(const std::string& value) const { return quote(value); }
};

void check_email(const toml::table&, ExpiryEmail& email, Context&) { email.enabled = true; }

// The urgent phase sits inside the notification window and repeats at least as often.
void check_expiry(const toml::table& table, Expiry& expiry, Context& context) {
    if (table.get("urgent_days") != nullptr || table.get("notify_days") != nullptr) {
        if (expiry.urgent_days >= expiry.notify_days)
            context.error_at_key(table, "urgent_days",
                                 fmt::format("urgent_days ({}) must be less than notify_days ({})",
                                             expiry.urgent_days, expiry.notify_days));
    }
    for (auto [key, value] : {std::pair{"frequency", expiry.frequency},
                              std::pair{"urgent_frequency", expiry.urgent_frequency}}) {
        if (table.get(key) != nullptr && value < shortest_frequency)
            context.error_at_key(table, key, fmt::format("{} must be at least 1s", key));
    }
    if (expiry.urgent_frequency > expiry.frequency)
        context.error_at_key(table, "urgent_frequency",
                             fmt::format("urgent_frequency ({}) must not be longer than frequency ({})",
                                         format_duration(expiry.urgent_frequency),
                                         format_duration(expiry.frequency)));
}

Section<Expiry> make_expiry_section() {
    return {
        .title = "[expiry]",
        .doc = "The certificate expiry monitor, run by the main thread (never a worker). It "
               "watches the listeners' certificates and chains, client_ca anchors and "
               "intermediates, backend_ca, the revocation profiles' responder trust "
               "(responder_trust, issuer certificates, tls_ca, tls_certificate) and, when "
               "enabled, client certificates seen recently. A certificate within notify_days of "
               "its notAfter is reported once per frequency (once per urgent_frequency within "
               "urgent_days, or once expired): a log line (event=certificate_expiring, or "
               "certificate_expired), an email when [expiry.email] is set, and always the "
               "gauges ocspgate_certificate_not_after_seconds and "
               "ocspgate_certificate_days_left on /metrics. Optional; on by default.",
        .fields = {
            value_key("enabled", &Expiry::enabled, BoolValue{},
                      "false turns the monitor off: no warnings, no gauges, no peer registry."),
            value_key("notify_days", &Expiry::notify_days, IntegerValue<std::uint32_t>{1, 36500},
                      "Start warning this many days before a certificate's notAfter."),
            value_key("frequency", &Expiry::frequency, DurationValue{true},
                      "How often the warning for one certificate is repeated (at least 1s)."),
            value_key("urgent_days", &Expiry::urgent_days, IntegerValue<std::uint32_t>{0, 36499},
                      "Within this many days of notAfter (less than notify_days) the warning "
                      "repeats every urgent_frequency instead. Expired certificates are always "
                      "urgent."),
            value_key("urgent_frequency", &Expiry::urgent_frequency, DurationValue{true},
                      "How often an urgent warning is repeated (at least 1s, at most frequency)."),
            value_key("include_peer_certificates", &Expiry::include_peer_certificates, BoolValue{},
                      "Also watch the client certificates of successful handshakes, and of "
                      "handshakes refused only because the client certificate has expired (subject, "
                      "issuer, serial and notAfter are kept, never the certificate; forgotten "
                      "after 7 days unseen). `ocspgate status` lists them from their first handshake."),
            value_key("max_peer_certificates", &Expiry::max_peer_certificates,
                      IntegerValue<std::uint32_t>{1, 1000000},
                      "Most client certificates remembered; beyond it the least recently seen "
                      "is forgotten. Bounds memory and the number of gauges."),
            table_key("email", &Expiry::email, expiry_email_section(),
                      "Warnings by email. Absent: no email.")
                .with_default_text("none (no email)"),
        },
        .check = check_expiry,
    };
}

Section<ExpiryEmail> make_expiry_email_section() {
    using Kind = FileValue::Kind;
    return {
        .title = "[expiry.email]",
        .doc = "Expiry warnings by email, sent by an asynchronous SMTP client on the main loop "
               "(never delaying traffic). Each monitor run that finds certificates due sends one "
               "email listing them all; a failed delivery is retried after 1 s, 2 s, 4 s ... "
               "(at most 5 min apart, 8 attempts), and at most 16 emails wait at once (the "
               "oldest is dropped with a log line).",
        .fields = {
            value_key("smtp", &ExpiryEmail::smtp, HostPortValue{},
                      "The SMTP relay, e.g. \"127.0.0.1:25\" or \"mail.example.com:587\" (a name "
                      "is resolved off the loop when sending).",
                      required),
            value_key("from", &ExpiryEmail::from, EmailAddressValue{},
                      "Envelope sender and From: header.", required),
            value_key("to", &ExpiryEmail::to,
                      ListValue<EmailAddressValue>{.element = {}, .non_empty = true},
                      "Recipients; each gets the same email.", required),
            value_key("starttls", &ExpiryEmail::starttls, BoolValue{},
                      "Upgrade the SMTP session with STARTTLS before the envelope; the relay's "
                      "certificate is verified against tls_ca and its name against the smtp host. "
                      "A relay that does not offer STARTTLS is an error, never a fallback to "
                      "plain text."),
            value_key("tls_ca", &ExpiryEmail::tls_ca, FileValue{Kind::certificates, true},
                      "PEM file: CAs for the relay's certificate with starttls.")
                .with_default_text("the system trust store"),
            value_key("timeout", &ExpiryEmail::timeout, DurationValue{true},
                      "Longest wait for each SMTP step: connecting, and each reply."),
        },
        .check = check_email,
    };
}

}  // namespace

const Section<Expiry>& expiry_section() {
    static const Section<Expiry> section = make_expiry_section();
    return section;
}

const Section<ExpiryEmail>& expiry_email_section() {
    static const Section<ExpiryEmail> section = make_expiry_email_section();
    return section;
}

}  // namespace ocspgate::conf
