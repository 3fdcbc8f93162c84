// Socket address formatting for logs ("127.0.0.1:5061", "[::1]:5061").
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <string>

namespace ocspgate::proxy {

std::string format_address(const sockaddr* addr);
// The numeric host alone ("127.0.0.1", "::1"), e.g. to check it in a certificate.
std::string format_host(const sockaddr* addr);
std::string peer_address(const uv_tcp_t& tcp);

}  // namespace ocspgate::proxy
