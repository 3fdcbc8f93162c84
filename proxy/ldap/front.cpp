#include "proxy/ldap/front.h"

#include <string>

#include "proxy/ldap/messages.h"

namespace ocspgate::proxy::ldap {
namespace {

constexpr std::string_view kConfidentialityRequired = "StartTLS is required before this operation";

}  // namespace

std::size_t LdapStartTlsFront::on_plaintext(std::span<const std::uint8_t> data, FrontOutput& out) {
    pending_.insert(pending_.end(), data.begin(), data.end());
    std::size_t used = 0;
    for (;;) {
        std::span<const std::uint8_t> rest = std::span<const std::uint8_t>(pending_).subspan(used);
        ldap::Frame frame = ldap::frame_message(rest, max_message_size_);
        if (frame.status == ldap::FrameStatus::need_more) break;
        if (frame.status != ldap::FrameStatus::complete) {
            disconnect(frame.error, out);
            break;
        }
        bool keep_going = on_message(rest.first(frame.size), out);
        used += frame.size;
        if (!keep_going) break;
    }
    if (out.close_reason) {
        pending_.clear();
        return data.size();
    }
    std::size_t left = pending_.size() - used;
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(used));
    if (!out.start_tls) return data.size();
    // The StartTLS request completed inside `data` (an earlier call would have acted on it),
    // so whatever follows it came in this call: the client's first TLS bytes.
    pending_.clear();
    return data.size() - left;
}

bool LdapStartTlsFront::on_message(std::span<const std::uint8_t> message, FrontOutput& out) {
    std::string error;
    std::optional<ldap::MessageView> view = ldap::parse_message(message, error);
    if (!view) {
        disconnect(error, out);
        return false;
    }
    if (view->operation_tag == ldap::op::unbind_request) {
        out.close_reason = "client unbound before StartTLS";
        return false;
    }
    if (view->operation_tag == ldap::op::abandon_request) return true;
    if (view->operation_tag == ldap::op::extended_request && view->extended_oid == ldap::kStartTlsOid) {
        auto response = ldap::encode_response(view->message_id, ldap::op::extended_response, ldap::ResultCode::success,
                                              "", ldap::kStartTlsOid);
        out.to_client.insert(out.to_client.end(), response.begin(), response.end());
        out.start_tls = true;
        return false;
    }
    std::optional<std::uint8_t> response_tag = ldap::response_tag_for(view->operation_tag);
    if (!response_tag) {
        disconnect("unknown LDAP operation before StartTLS", out);
        return false;
    }
    auto response = ldap::encode_response(view->message_id, *response_tag, ldap::ResultCode::confidentiality_required,
                                          kConfidentialityRequired);
    out.to_client.insert(out.to_client.end(), response.begin(), response.end());
    return true;
}

void LdapStartTlsFront::disconnect(const std::string& reason, FrontOutput& out) {
    auto notice = ldap::encode_notice_of_disconnection(reason);
    out.to_client.insert(out.to_client.end(), notice.begin(), notice.end());
    out.close_reason = "LDAP protocol error before StartTLS: " + reason;
    pending_.clear();
}

void LdapStartTlsFront::on_client_data(std::span<const std::uint8_t> data, FrontOutput& out) {
    if (unavailable_) return unavailable_->feed(data, out);
    out.to_backend.assign(data.begin(), data.end());
}

bool LdapStartTlsFront::on_backend_failed(std::span<const std::uint8_t> unsent, FrontOutput& out) {
    if (!answer_unavailable_) return false;
    unavailable_.emplace(max_message_size_);
    unavailable_->feed(unsent, out);
    return true;
}

void LdapStartTlsFront::on_backend_data(std::span<const std::uint8_t> data, FrontOutput& out) {
    // Through the client's TLS engine, like protocol "tcp".
    out.to_client.assign(data.begin(), data.end());
}

}  // namespace ocspgate::proxy::ldap
