#include "proxy/sip/identity.h"

namespace ocspgate::proxy::sip {
namespace {

std::string sanitized(std::string_view value) {
    std::string out(value);
    for (char& c : out) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) c = '?';
    }
    return out;
}

void add_field(std::string& block, std::string_view prefix, std::string_view name,
               std::string_view value) {
    if (value.empty()) return;
    block.append(prefix).append(name).append(": ").append(sanitized(value)).append("\r\n");
}

}  // namespace

// Copies the head field by field, so that a removed header goes with its continuation lines;
// fields that follow each other in the message are copied in one piece.
void append_rewritten_message(const SipMessage& message, std::string_view prefix,
                              std::string_view block, std::vector<std::uint8_t>& out) {
    std::string_view bytes(message.bytes);
    std::size_t run_begin = 0;  // the kept bytes not yet copied are [run_begin, run_end)
    std::size_t run_end = message.start_line_end;
    for (const SipHeader& header : message.headers) {
        if (istarts_with(header.name, prefix)) continue;
        if (header.begin != run_end) {
            append_bytes(out, bytes.substr(run_begin, run_end - run_begin));
            run_begin = header.begin;
        }
        run_end = header.end;
    }
    append_bytes(out, bytes.substr(run_begin, run_end - run_begin));
    append_bytes(out, block);
    append_bytes(out, bytes.substr(message.head_size - 2));  // the empty line, then the body
}

std::string identity_header_block(const PeerIdentity& peer, std::string_view prefix) {
    std::string block;
    add_field(block, prefix, "Subject", peer.subject);
    add_field(block, prefix, "Issuer", peer.issuer);
    add_field(block, prefix, "Serial", peer.serial);
    add_field(block, prefix, "Fingerprint", peer.fingerprint_sha256);
    std::string revocation = peer.revocation;
    if (!revocation.empty() && !peer.revocation_source.empty()) {
        revocation += ";" + peer.revocation_source;
    }
    add_field(block, prefix, "Revocation", revocation);
    return block;
}

std::string rewrite_message(const SipMessage& message, std::string_view prefix,
                            std::string_view block) {
    std::vector<std::uint8_t> out;
    append_rewritten_message(message, prefix, block, out);
    return {out.begin(), out.end()};
}

}  // namespace ocspgate::proxy::sip
