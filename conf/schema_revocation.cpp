// The schema for [revocation.NAME] and its [.ocsp], [[.ocsp.issuer]] and [.crl] tables.
#include "conf/schema.h"
#include "conf/validate.h"
#include "conf/values.h"
#include "ocsp/url.h"

namespace ocspgate::conf {
namespace {

constexpr auto required = Presence::required;
using Kind = FileValue::Kind;

// Bounds that catch a misplaced digit; far above anything a deployment needs.
constexpr std::size_t most_cache_entries = 10'000'000;
constexpr std::size_t largest_ocsp_response = std::size_t{16} * 1024 * 1024;
constexpr std::size_t largest_crl = std::size_t{1024} * 1024 * 1024;

// "http://HOST:PORT" of an HTTP proxy: no https (the proxy hop itself is plain, as with curl's
// http:// proxies), no path.
struct HttpProxyValue {
    std::optional<std::string> parse(const toml::node& node, Context& context) const {
        std::optional<std::string> text = UrlValue{}.parse(node, context);
        if (!text) return std::nullopt;
        auto url = ocsp::parse_url(*text);
        if (url && url->scheme == "http" && url->path == "/") return text;
        context.error(node, quote(*text) + " is not an HTTP proxy: write \"http://HOST:PORT\", without a path");
        return std::nullopt;
    }
    std::string type() const { return "http:// URL"; }
    std::string show(const std::string& value) const { return quote(value); }
};

Section<RevocationProfile> make_profile_section() {
    return {
        .title = "[revocation.NAME]",
        .doc = "How a listener checks the revocation status of client certificates. NAME is "
               "what a listener's revocation key refers to.",
        .fields = {
            value_key("methods", &RevocationProfile::methods,
                      ListValue<EnumValue<RevocationMethod>>{.element = {}, .non_empty = true},
                      "Sources of revocation status, tried in order until one gives an answer. "
                      "\"none\" may only come last: reaching it accepts the certificate without "
                      "an answer (soft-fail), so [\"none\"] alone disables checking."),
            value_key("check", &RevocationProfile::check, EnumValue<CheckScope>{},
                      "\"leaf\": only the client certificate. \"chain\": every certificate of "
                      "the client's chain below the trust anchor."),
            value_key("unknown", &RevocationProfile::unknown, EnumValue<UnknownPolicy>{},
                      "What an OCSP \"unknown\" status means: \"revoked\" refuses the "
                      "certificate, \"good\" accepts it, \"next\" asks the next method."),
            value_key("recheck_interval", &RevocationProfile::recheck_interval, DurationValue{},
                      "How often the status of certificates on open connections is checked "
                      "again (\"Check Every\"), through the cache like a handshake; a connection "
                      "whose certificate is now refused (revoked, or unknown/error under this "
                      "profile's policy) is closed. Each connection is rechecked after a random "
                      "0.8-1.0 of the interval, so connections opened together do not query "
                      "together. Entries stay cached up to ocsp.max_cache_ttl: keep it at or below "
                      "the interval for a fresh answer each time. \"0s\": only during the handshake."),
            value_key("http_proxy", &RevocationProfile::http_proxy, HttpProxyValue{},
                      "An HTTP proxy (\"http://proxy.corp:3128\") that OCSP requests and CRL "
                      "downloads of this profile go through, for networks where only a proxy "
                      "reaches the responders: http:// requests are sent to it in absolute form, "
                      "https:// responders through a CONNECT tunnel (TLS and its checks run end "
                      "to end inside it). The proxy's host name is resolved off the event loop. "
                      "No proxy authentication.")
                .with_default_text("unset: direct"),
            table_key("ocsp", &RevocationProfile::ocsp, ocsp_section(), "OCSP settings."),
            table_key("crl", &RevocationProfile::crl, crl_section(), "CRL settings."),
        },
        .check = check_profile,
    };
}

std::vector<Field<OcspSettings>> ocsp_source_fields() {
    return {
        value_key("responders", &OcspSettings::responders, ListValue<UrlValue>{},
                  "Responder URLs (http:// or https://), tried in order."),
        value_key("use_aia", &OcspSettings::use_aia, BoolValue{},
                  "Also ask the responders named in the certificate's Authority Information "
                  "Access extension."),
        value_key("prefer", &OcspSettings::prefer, EnumValue<ResponderPreference>{},
                  "Which responders are asked first when there are both: \"configured\" "
                  "(responders) or \"aia\" (from the certificate; needs use_aia = true)."),
        value_key("nonce", &OcspSettings::nonce, NonceModeValue{},
                  "Nonces in requests (RFC 8954), which tie a response to its request so that "
                  "a replayed one is detected. A response with a different nonce is always "
                  "refused. \"prefer\": send one; a response without any (responders that "
                  "pre-sign responses ignore it, as RFC 8954 allows) is accepted only while "
                  "current (thisUpdate <= now <= nextUpdate, within clock_skew) and no older "
                  "than max_response_age if set. \"require\": such a response is no answer. "
                  "\"off\": send none. The booleans of earlier versions still load, true as "
                  "\"prefer\" and false as \"off\", with a warning."),
        value_key("max_response_age", &OcspSettings::max_response_age,
                  OptionalValue<DurationValue>{.inner = {true}},
                  "When set, a response that does not echo our nonce (nonce = \"off\", or a "
                  "responder that ignores it) is refused once its thisUpdate is older than "
                  "this (plus clock_skew), even if still current: a bound on how old a replayed "
                  "response can be. Unset: current is enough; pre-signed responses are "
                  "typically hours old."),
        value_key("request", &OcspSettings::request, EnumValue<OcspRequestMethod>{},
                  "The HTTP method: \"post\", or \"get\" (RFC 6960 appendix A.1), which HTTP "
                  "caches can serve; requests over 255 bytes as GET are POSTed (RFC 5019). A "
                  "responder that answers a GET with HTTP 4xx or malformedRequest is asked "
                  "again by POST at once, then by POST only for an hour before GET is tried "
                  "there again (counted per responder in metrics)."),
        value_key("timeout", &OcspSettings::timeout, DurationValue{true},
                  "Longest wait for one responder before the next is asked."),
        value_key("responder_trust", &OcspSettings::responder_trust,
                  ListValue<FileValue>{.element = {Kind::certificates}},
                  "PEM files of certificates trusted to sign responses directly (RFC 6960 "
                  "4.2.2.2, local configuration), besides the issuing CA and the responders it "
                  "delegates to."),
        value_key("tls_ca", &OcspSettings::tls_ca, FileValue{Kind::certificates, true},
                  "PEM file: the CA certificates that https:// responders' server certificates "
                  "are verified against (with the URL's host name or IP address). \"\": the "
                  "system's trust store."),
        value_key("tls_certificate", &OcspSettings::tls_certificate,
                  FileValue{Kind::certificates, true},
                  "PEM file: the client certificate presented to https:// responders. \"\": "
                  "none. Needs tls_private_key."),
        value_key("tls_private_key", &OcspSettings::tls_private_key,
                  FileValue{Kind::private_key, true},
                  "PEM file: the unencrypted private key of tls_certificate."),
    };
}

std::vector<Field<OcspSettings>> ocsp_cache_fields() {
    return {
        value_key("cache_entries", &OcspSettings::cache_entries,
                  IntegerValue<std::size_t>{1, most_cache_entries},
                  "Most responses kept in memory; the least recently used go first."),
        value_key("max_cache_ttl", &OcspSettings::max_cache_ttl, DurationValue{},
                  "A response is cached until its nextUpdate (without one: its thisUpdate + "
                  "max_age), and no longer than the max-age of the responder's HTTP Cache-Control "
                  "header (no-cache, no-store: not kept), but never longer than this."),
        value_key("error_cache_ttl", &OcspSettings::error_cache_ttl, DurationValue{},
                  "How long a failure to get a response is remembered before the responders are "
                  "asked again."),
        value_key("clock_skew", &OcspSettings::clock_skew, DurationValue{},
                  "Tolerance between our clock and the signer's when checking thisUpdate and "
                  "nextUpdate of responses, and of this profile's CRLs."),
        value_key("max_age", &OcspSettings::max_age, DurationValue{true},
                  "A response without nextUpdate is accepted, and cached, only while its "
                  "thisUpdate is younger than this."),
        value_key("stale_if_error", &OcspSettings::stale_if_error, DurationValue{},
                  "When no responder answers, a cached good response may still be used for "
                  "this long after it stopped being fresh. \"0s\": never."),
        value_key("max_response_size", &OcspSettings::max_response_size,
                  IntegerValue<std::size_t>{1, largest_ocsp_response},
                  "Largest response accepted, in bytes."),
        tables_key("issuer", &OcspSettings::issuers, issuer_section(),
                   "Responders for the certificates of particular issuing CAs."),
    };
}

Section<OcspSettings> make_ocsp_section() {
    Section<OcspSettings> section{
        .title = "[revocation.NAME.ocsp]",
        .doc = "How OCSP responders are found, asked and trusted, and how long answers are "
               "kept. Optional.",
        .fields = ocsp_source_fields(),
        .check = check_ocsp,
    };
    for (auto& field : ocsp_cache_fields()) section.fields.push_back(std::move(field));
    return section;
}

Section<OcspIssuer> make_issuer_section() {
    return {
        .title = "[[revocation.NAME.ocsp.issuer]]",
        .doc = "Responders for the certificates one CA issued; for those certificates they "
               "replace ocsp.responders. Optional, any number.",
        .fields = {
            value_key("certificate", &OcspIssuer::certificate, FileValue{Kind::certificate},
                      "PEM file with the one issuing CA certificate this entry applies to.",
                      required),
            value_key("responders", &OcspIssuer::responders,
                      ListValue<UrlValue>{.element = {}, .non_empty = true},
                      "Responder URLs (http:// or https://) for certificates that CA issued, "
                      "tried in order.",
                      required),
        },
        .check = {},
    };
}

Section<CrlSettings> make_crl_section() {
    return {
        .title = "[revocation.NAME.crl]",
        .doc = "Where CRLs come from. Optional.",
        .fields = {
            value_key("urls", &CrlSettings::urls, ListValue<UrlValue>{},
                      "CRL URLs (http:// or https://) to download. []: the certificate's CRL "
                      "distribution points."),
            value_key("files", &CrlSettings::files, ListValue<FileValue>{.element = {Kind::crl}},
                      "Local CRL files (PEM or DER), read again when they change."),
            value_key("timeout", &CrlSettings::timeout, DurationValue{true},
                      "Longest wait for one CRL download."),
            value_key("max_size", &CrlSettings::max_size, IntegerValue<std::size_t>{1, largest_crl},
                      "Largest CRL accepted, in bytes."),
            value_key("signers", &CrlSettings::signers,
                      ListValue<FileValue>{.element = {Kind::certificates}},
                      "PEM files of separate CRL-signing certificates: the CA's name, their own "
                      "key with cRLSign, certified under the same trust anchor as the client's "
                      "chain (plus any intermediates that path needs). A CRL that the issuing "
                      "CA's own key did not sign is used when one of them signed it, its path "
                      "validates to the client chain's anchor and the CRLs of its own issuer "
                      "(crl.files or crl.urls, signed by that issuer's key) say it is good."),
            value_key("grace", &CrlSettings::grace, DurationValue{},
                      "How long after its nextUpdate a CRL is still used (on top of "
                      "ocsp.clock_skew), when no newer one can be had. \"0s\": never."),
            value_key("delta_required", &CrlSettings::delta_required, BoolValue{},
                      "When a complete CRL names delta CRLs (freshestCRL) and no delta CRL that "
                      "applies to it is held (in crl.files or crl.urls), true gives no answer "
                      "from the CRL method (the next method, or the policy, decides); false lets "
                      "the complete CRL answer alone. A certificate it lists is revoked either way."),
        },
        .check = {},
    };
}

}  // namespace

const Section<RevocationProfile>& profile_section() {
    static const Section<RevocationProfile> section = make_profile_section();
    return section;
}

const Section<OcspSettings>& ocsp_section() {
    static const Section<OcspSettings> section = make_ocsp_section();
    return section;
}

const Section<OcspIssuer>& issuer_section() {
    static const Section<OcspIssuer> section = make_issuer_section();
    return section;
}

const Section<CrlSettings>& crl_section() {
    static const Section<CrlSettings> section = make_crl_section();
    return section;
}

}  // namespace ocspgate::conf
