// Microbenchmarks of the protocol fronts' framing (see perf/README.md). Target (issue #7):
// >= 1 GB/s of client stream, so framing is never what limits a SIP or LDAP listener next to
// TLS (AES-GCM runs at a few GB/s per core).
//
// Bytes counted are the client's plaintext. SIP: the framer alone, and the whole front
// (framing plus identity headers: forged copies removed, ours inserted into each request).
// LDAP: frame_message() walking a stream of LDAPMessages, what the StartTLS front does before
// TLS.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/ldap/ber.h"
#include "proxy/sip/framer.h"
#include "proxy/sip/front.h"

namespace {

using namespace ocspgate;

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// A REGISTER as phones send it (about 500 bytes), with a small SDP-less body.
std::string sip_request(int i) {
    std::string n = std::to_string(i);
    return "REGISTER sip:example.com SIP/2.0\r\n"
           "Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-" + n + ";rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:alice@example.com>;tag=" + n + "\r\n"
           "To: <sip:alice@example.com>\r\n"
           "Call-ID: " + n + "-call@192.0.2.10\r\n"
           "CSeq: " + n + " REGISTER\r\n"
           "Contact: <sip:alice@192.0.2.10:5061;transport=tls>;expires=3600\r\n"
           "User-Agent: ocspgate-micro\r\n"
           "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER\r\n"
           "Supported: path, outbound, gruu\r\n"
           "Content-Length: 0\r\n\r\n";
}

std::string sip_stream(int messages) {
    std::string s;
    for (int i = 0; i < messages; ++i) s += sip_request(i);
    return s;
}

void BM_SipFramer(benchmark::State& state) {
    const std::string stream = sip_stream(64);
    for (auto _ : state) {
        proxy::sip::SipFramer framer(64 * 1024, 100);
        framer.feed(bytes(stream));
        while (auto frame = framer.next()) benchmark::DoNotOptimize(frame);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_SipFramer);

// Reads of 16 KiB, as a TLS record at a time arrives.
void BM_SipFrontWithIdentityHeaders(benchmark::State& state) {
    const std::string stream = sip_stream(64);
    conf::SipSettings settings;
    proxy::sip::SipFront front(settings);
    proxy::PeerIdentity peer{"CN=alice,O=Example", "CN=Example Issuing CA,O=Example", "5A3F9C0D12E4B7A1",
                             std::string(64, 'a'), "good", "cache"};
    front.on_handshake_done(peer);
    proxy::FrontOutput out;
    for (auto _ : state) {
        for (std::size_t at = 0; at < stream.size(); at += 16384) {
            std::size_t n = std::min<std::size_t>(16384, stream.size() - at);
            front.on_client_data(bytes(stream).subspan(at, n), out);
        }
        benchmark::DoNotOptimize(out.to_backend.data());
        out.to_backend.clear();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_SipFrontWithIdentityHeaders);

// A searchRequest (about 80 bytes): messageID, baseObject, scope, filter (present), attributes.
std::string ldap_search(int id) {
    auto str = [](const std::string& s) { return std::span<const std::uint8_t>(bytes(s)); };
    std::vector<std::uint8_t> fields;
    proxy::ldap::append_tlv(fields, proxy::ldap::kTagOctetString, str("ou=people,dc=example,dc=org"));
    proxy::ldap::append_tlv(fields, proxy::ldap::kTagEnumerated, std::vector<std::uint8_t>{2});
    proxy::ldap::append_tlv(fields, proxy::ldap::kTagEnumerated, std::vector<std::uint8_t>{0});
    proxy::ldap::append_tlv(fields, proxy::ldap::kTagInteger, std::vector<std::uint8_t>{0});
    proxy::ldap::append_tlv(fields, proxy::ldap::kTagInteger, std::vector<std::uint8_t>{0});
    fields.push_back(0x01), fields.push_back(0x01), fields.push_back(0x00);  // typesOnly FALSE
    proxy::ldap::append_tlv(fields, 0x87, str("objectClass"));                 // present filter
    std::vector<std::uint8_t> attrs;
    proxy::ldap::append_tlv(attrs, proxy::ldap::kTagOctetString, str("cn"));
    proxy::ldap::append_tlv(fields, proxy::ldap::kTagSequence, attrs);
    std::vector<std::uint8_t> body;
    proxy::ldap::append_tlv(body, proxy::ldap::kTagInteger, std::vector<std::uint8_t>{static_cast<std::uint8_t>(id & 0x7f)});
    proxy::ldap::append_tlv(body, 0x63, fields);  // [APPLICATION 3] searchRequest
    std::vector<std::uint8_t> message;
    proxy::ldap::append_tlv(message, proxy::ldap::kTagSequence, body);
    return std::string(message.begin(), message.end());
}

void BM_LdapFrameMessages(benchmark::State& state) {
    std::string stream;
    for (int i = 0; i < 128; ++i) stream += ldap_search(i);
    for (auto _ : state) {
        std::span<const std::uint8_t> rest = bytes(stream);
        while (!rest.empty()) {
            proxy::ldap::Frame frame = proxy::ldap::frame_message(rest, 1024 * 1024);
            if (frame.status != proxy::ldap::FrameStatus::complete) state.SkipWithError("not framed");
            rest = rest.subspan(frame.size);
        }
        benchmark::DoNotOptimize(rest.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * stream.size()));
}
BENCHMARK(BM_LdapFrameMessages);

}  // namespace
