#include "proxy/admin/request.h"

namespace ocspgate::proxy::admin {

AdminRequestParser::AdminRequestParser(std::size_t max_request_size) noexcept
    : max_request_size_(max_request_size) {
    llhttp_settings_init(&settings_);
    settings_.on_url = on_url;
    settings_.on_message_complete = on_message_complete;
    llhttp_init(&parser_, HTTP_REQUEST, &settings_);
    parser_.data = this;
}

AdminRequestParser::Outcome AdminRequestParser::feed(std::span<const char> bytes) noexcept {
    // Counted before parsing, so nothing beyond the limit is ever buffered.
    if (bytes.size() > max_request_size_ - received_) return Outcome::too_large;
    received_ += bytes.size();
    const llhttp_errno_t status = llhttp_execute(&parser_, bytes.data(), bytes.size());
    if (complete_) return Outcome::complete;
    return status == HPE_OK ? Outcome::need_more : Outcome::malformed;
}

std::string_view AdminRequestParser::method() const noexcept {
    return llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
}

std::string_view AdminRequestParser::path() const noexcept {
    std::string_view path(url_);
    if (auto query = path.find('?'); query != std::string_view::npos) path = path.substr(0, query);
    return path;
}

int AdminRequestParser::on_url(llhttp_t* parser, const char* at, std::size_t length) noexcept {
    static_cast<AdminRequestParser*>(parser->data)->url_.append(at, length);
    return HPE_OK;
}

// Pausing stops the parser at the end of the first request; anything after it is ignored.
int AdminRequestParser::on_message_complete(llhttp_t* parser) noexcept {
    static_cast<AdminRequestParser*>(parser->data)->complete_ = true;
    return HPE_PAUSED;
}

}  // namespace ocspgate::proxy::admin
