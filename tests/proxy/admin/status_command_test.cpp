// `ocspgate status` formatting and its --admin parsing (the fetch is tested against the real
// binary in tests/integration/test_status_command.py).
#include "proxy/admin/status_command.h"

#include <gtest/gtest.h>

namespace ocspgate::proxy::admin {
namespace {

TEST(AdminTarget, ParsesHostPortAndBracketedIpv6) {
    auto v4 = parse_admin_target("127.0.0.1:9901");
    ASSERT_TRUE(v4.ok());
    EXPECT_EQ(v4->host, "127.0.0.1");
    EXPECT_EQ(v4->port, 9901);
    auto v6 = parse_admin_target("[::1]:80");
    ASSERT_TRUE(v6.ok());
    EXPECT_EQ(v6->host, "::1");
}

TEST(AdminTarget, RejectsMissingOrBadPorts) {
    EXPECT_FALSE(parse_admin_target("127.0.0.1").ok());
    EXPECT_FALSE(parse_admin_target("127.0.0.1:0").ok());
    EXPECT_FALSE(parse_admin_target("127.0.0.1:70000").ok());
    EXPECT_FALSE(parse_admin_target(":80").ok());
}

TEST(FormatStatus, NotJsonIsAParseError) {
    auto text = format_status("<html>");
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.error().code, Errc::parse);
}

TEST(FormatStatus, PrintsCertificatesByRoleSoonestFirstProfilesAndListeners) {
    auto text = format_status(R"({
      "active_connections": 2,
      "certificates": [
        {"role": "listener", "subject": "CN=far", "issuer": "CN=CA", "serial": "01", "not_after": "2027-01-01T00:00:00Z", "days_left": 400, "state": "fine"},
        {"role": "client_ca", "subject": "CN=CA", "issuer": "CN=CA", "serial": "02", "not_after": "2030-01-01T00:00:00Z", "days_left": 1500, "state": "fine"},
        {"role": "listener", "subject": "CN=soon", "issuer": "CN=CA", "serial": "03", "not_after": "2026-11-28T00:00:00Z", "days_left": 2, "state": "urgent"}
      ],
      "peer_certificates_tracked": 5,
      "revocation_profiles": [{"name": "corp", "cache_entries": 3, "responders": ["http://127.0.0.1:8888"],
        "counters": {"responder_queries": 4, "responder_errors": {"timeout": 1}, "cache_hits": 7, "cache_misses": 4,
                     "verdicts": {"revoked": 1}},
        "health": {"state": "degraded", "answered": 3, "failed": 0, "failures": {"timeout": 1}, "window_seconds": 300,
                   "responders": [{"responder": "http://127.0.0.1:8888", "state": "degraded", "answered": 3, "failed": 1,
                                   "failures": {"timeout": 1}, "last_age_seconds": 4, "last_result": "answered"}]}}],
      "listeners": [{"name": "sip", "address": "127.0.0.1:5061", "protocol": "sip", "revocation": "corp",
                     "active_connections": 2, "accepted": 10, "rejected": 1}]
    })");
    ASSERT_TRUE(text.ok()) << text.error().message;
    const std::string& out = *text;
    EXPECT_NE(out.find("client certificates tracked: 5"), std::string::npos) << out;
    EXPECT_LT(out.find("CN=soon"), out.find("CN=far")) << out;   // soonest first within a role
    EXPECT_LT(out.find("CN=far"), out.find("client_ca")) << out;  // roles in the server's order
    EXPECT_NE(out.find("degraded (timeout=1)"), std::string::npos) << out;
    EXPECT_NE(out.find("Responders (health over the last 300 s)"), std::string::npos) << out;
    EXPECT_NE(out.find("4 s ago (answered)"), std::string::npos) << out;
    EXPECT_NE(out.find("127.0.0.1:5061"), std::string::npos) << out;
    EXPECT_NE(out.find("urgent"), std::string::npos) << out;
}

TEST(FormatStatus, NamesRespondersAskedByPostOnlyAndThoseAnsweringWithoutNonce) {
    auto text = format_status(R"({
      "revocation_profiles": [{"name": "corp", "cache_entries": 0, "responders": [],
        "post_only_responders": ["http://ocsp.example/prefix"],
        "counters": {"by_responder": {"http://ocsp.example/prefix": {"nonce_missing": 0, "get_refused": 2},
                                      "http://presigned.example": {"nonce_missing": 7, "get_refused": 0}}}}],
      "listeners": []
    })");
    ASSERT_TRUE(text.ok()) << text.error().message;
    const std::string& out = *text;
    EXPECT_NE(out.find("  corp: http://ocsp.example/prefix refused GET; asked by POST only for now\n"),
              std::string::npos) << out;
    EXPECT_NE(out.find("  corp: http://presigned.example answered 7 time(s) without our nonce\n"), std::string::npos)
        << out;
    EXPECT_EQ(out.find("http://ocsp.example/prefix answered"), std::string::npos) << out;  // no nonce line at 0
}

// Health is the window's, not the counters' since start (#26 point 3): failures counted long
// ago do not make a profile whose recent exchanges all answered look degraded.
TEST(FormatStatus, HealthIsTheWindowsNotTheCountersSinceStart) {
    auto text = format_status(R"({
      "revocation_profiles": [{"name": "corp", "cache_entries": 1, "responders": ["http://ocsp.example"],
        "counters": {"responder_queries": 30, "responder_errors": {"timeout": 7, "transport": 3}},
        "health": {"state": "ok", "answered": 2, "failed": 0, "failures": {}, "window_seconds": 300, "responders": []}}],
      "listeners": []
    })");
    ASSERT_TRUE(text.ok()) << text.error().message;
    EXPECT_NE(text->find(" ok "), std::string::npos) << *text;
    EXPECT_EQ(text->find("degraded"), std::string::npos) << *text;
    EXPECT_EQ(text->find("timeout=7"), std::string::npos) << *text;
}

TEST(FormatStatus, ClientCertificatesShowTimeLeftAndTheirLastHandshake) {
    auto text = format_status(R"({
      "certificates": [
        {"role": "peer", "subject": "CN=later", "serial": "01", "days_left": 300, "seconds_left": 25920000,
         "left": "300d", "state": "fine", "decision": "accept"},
        {"role": "peer", "subject": "CN=gone", "serial": "02", "days_left": -1, "seconds_left": -18000,
         "left": "expired 0d 5h ago", "state": "expired", "decision": "reject", "reason": "certificate expired"},
        {"role": "peer", "subject": "CN=soon", "serial": "03", "days_left": 1, "seconds_left": 169200,
         "left": "1d 23h", "state": "urgent", "decision": "accept"}
      ],
      "listeners": []
    })");
    ASSERT_TRUE(text.ok()) << text.error().message;
    const std::string& out = *text;
    EXPECT_LT(out.find("CN=gone"), out.find("CN=soon")) << out;
    EXPECT_LT(out.find("CN=soon"), out.find("CN=later")) << out;
    EXPECT_NE(out.find("expired 0d 5h ago"), std::string::npos) << out;
    EXPECT_NE(out.find("reject (certificate expired)"), std::string::npos) << out;
    EXPECT_NE(out.find("1d 23h"), std::string::npos) << out;
}

}  // namespace
}  // namespace ocspgate::proxy::admin
