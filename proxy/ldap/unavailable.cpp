#include "proxy/ldap/unavailable.h"

#include <string>

#include "proxy/ldap/ber.h"
#include "proxy/ldap/messages.h"

namespace ocspgate::proxy::ldap {
namespace {

constexpr std::string_view kUnavailable = "the directory server behind ocspgate is unavailable";

}  // namespace

void UnavailableAnswer::feed(std::span<const std::uint8_t> data, FrontOutput& out) {
    if (done_) return;
    pending_.insert(pending_.end(), data.begin(), data.end());
    std::size_t used = 0;
    while (!done_) {
        auto rest = std::span<const std::uint8_t>(pending_).subspan(used);
        Frame frame = frame_message(rest, max_message_size_);
        if (frame.status == FrameStatus::need_more) break;
        done_ = true;
        std::string error = frame.error;
        std::optional<MessageView> view;
        if (frame.status == FrameStatus::complete) view = parse_message(rest.first(frame.size), error);
        if (!view) {
            out.close_reason = "ldap: " + error;
            break;
        }
        used += frame.size;
        if (view->operation_tag == op::unbind_request) {
            out.close_reason = "ldap: client unbound";
            break;
        }
        std::optional<std::uint8_t> response_tag = response_tag_for(view->operation_tag);
        if (!response_tag) {  // abandon: no response; wait for the next operation
            done_ = false;
            continue;
        }
        auto response = encode_response(view->message_id, *response_tag, ResultCode::unavailable, kUnavailable);
        out.to_client.insert(out.to_client.end(), response.begin(), response.end());
        out.close_reason = "ldap: answered unavailable (52)";
    }
    if (done_) {
        pending_.clear();
    } else {
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(used));
    }
}

void LdapsFront::on_client_data(std::span<const std::uint8_t> data, FrontOutput& out) {
    if (unavailable_) return unavailable_->feed(data, out);
    out.to_backend.assign(data.begin(), data.end());
}

void LdapsFront::on_backend_data(std::span<const std::uint8_t> data, FrontOutput& out) {
    out.to_client.assign(data.begin(), data.end());
}

bool LdapsFront::on_backend_failed(std::span<const std::uint8_t> unsent, FrontOutput& out) {
    if (!settings_.answer_unavailable) return false;
    unavailable_.emplace(settings_.max_message_size);
    unavailable_->feed(unsent, out);
    return true;
}

}  // namespace ocspgate::proxy::ldap
