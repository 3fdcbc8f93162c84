#include "proxy/admin/status_command.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "conf/admin_address.h"

namespace ocspgate::proxy::admin {
namespace {

constexpr std::size_t kMaxAnswerBytes = std::size_t{16} * 1024 * 1024;
constexpr std::size_t kMaxCellWidth = 56;  // longer subjects are cut, so a row fits a wide terminal

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// A member of a /status object, or null when absent: the page may come from an older or newer
// ocspgate, and operator[] on a const object asserts on a missing key.
Json field(const Json& object, const char* key) { return object.is_object() ? object.value(key, Json()) : Json(); }

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::max<long long>(left, 0));
}

// Waits for `events` on `fd` until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    pollfd p{fd, events, 0};
    int rc = 0;
    do rc = ::poll(&p, 1, remaining_ms(deadline));
    while (rc < 0 && errno == EINTR);
    return rc > 0;
}

Result<int> connect_to(const AdminTarget& target, Clock::time_point deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    std::string port = std::to_string(target.port);
    if (int rc = ::getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found); rc != 0)
        return make_error(Errc::unavailable, "cannot resolve " + target.host + ": " + gai_strerror(rc));
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(found, freeaddrinfo);
    std::string last_error = "no address";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        Fd guard{fd};
        if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            last_error = std::strerror(errno);
            continue;
        }
        if (!wait_for(fd, POLLOUT, deadline)) return make_error(Errc::timeout, "connecting timed out");
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
            last_error = std::strerror(error);
            continue;
        }
        guard.fd = -1;
        return fd;
    }
    return make_error(Errc::unavailable, "cannot connect: " + last_error);
}

Result<std::string> exchange(int fd, const std::string& request, Clock::time_point deadline) {
    for (std::size_t sent = 0; sent < request.size();) {
        if (!wait_for(fd, POLLOUT, deadline)) return make_error(Errc::timeout, "sending timed out");
        ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) return make_error(Errc::unavailable, std::strerror(errno));
        if (n > 0) sent += static_cast<std::size_t>(n);
    }
    std::string answer;
    char buffer[16384];
    while (true) {
        if (!wait_for(fd, POLLIN, deadline)) return make_error(Errc::timeout, "no complete answer in time");
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n == 0) return answer;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return make_error(Errc::unavailable, std::strerror(errno));
        }
        answer.append(buffer, static_cast<std::size_t>(n));
        if (answer.size() > kMaxAnswerBytes) return make_error(Errc::limit, "answer larger than 16 MiB");
    }
}

// The body of a complete HTTP/1.1 answer that closes its connection (our admin endpoint's).
Result<std::string> body_of(const std::string& answer) {
    std::size_t head_end = answer.find("\r\n\r\n");
    if (answer.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || answer.size() < 12)
        return make_error(Errc::parse, "the answer is not HTTP");
    int status = 0;
    std::from_chars(answer.data() + 9, answer.data() + 12, status);
    std::string body = answer.substr(head_end + 4);
    if (status != 200) {
        body.erase(std::remove(body.begin(), body.end(), '\n'), body.end());
        return make_error(Errc::unavailable, "HTTP " + std::to_string(status) + " " + body.substr(0, 200));
    }
    return body;
}

std::string cell(const Json& value) {
    std::string text = value.is_string() ? value.get<std::string>() : value.is_null() ? "-" : value.dump();
    if (text.empty()) text = "-";
    if (text.size() > kMaxCellWidth) text = text.substr(0, kMaxCellWidth - 3) + "...";
    return text;
}

// Left-aligned columns, two spaces apart; numbers right-aligned.
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& numeric) {
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
    }
    auto line = [&](const std::vector<std::string>& row) {
        std::string out;
        for (std::size_t c = 0; c < row.size(); ++c) {
            std::string pad(width[c] - row[c].size(), ' ');
            bool last = c + 1 == row.size();
            out += numeric[c] ? pad + row[c] : row[c] + (last ? "" : pad);
            if (!last) out += "  ";
        }
        return out + "\n";
    };
    std::string out = line(header);
    for (const auto& row : rows) out += line(row);
    if (rows.empty()) out += "(none)\n";
    return out;
}

// Client certificates: the decision of the last handshake, with the reason of a refusal
// ("reject (certificate expired)"); "-" for configured certificates.
std::string handshake_text(const Json& certificate) {
    if (!certificate.contains("decision")) return "-";
    std::string text = certificate.value("decision", "-");
    if (certificate.contains("reason")) text += " (" + certificate.value("reason", "") + ")";
    return text;
}

std::string certificates_table(const Json& status) {
    const Json& certificates = status.value("certificates", Json::array());
    std::vector<std::string> role_order;
    for (const Json& c : certificates) {
        std::string role = c.value("role", "");
        if (std::find(role_order.begin(), role_order.end(), role) == role_order.end()) role_order.push_back(role);
    }
    std::vector<std::vector<std::string>> rows;
    for (const std::string& role : role_order) {
        std::vector<const Json*> of_role;
        for (const Json& c : certificates)
            if (c.value("role", "") == role) of_role.push_back(&c);
        // Soonest first: by seconds left, or whole days from a server that gives only those.
        auto left = [](const Json* c) {
            return c->value("seconds_left", c->value("days_left", std::int64_t{0}) * std::int64_t{86400});
        };
        std::stable_sort(of_role.begin(), of_role.end(), [&](const Json* a, const Json* b) { return left(a) < left(b); });
        for (const Json* c : of_role)
            rows.push_back({role, cell(field((*c), "subject")), cell(field((*c), "issuer")), cell(field((*c), "serial")),
                            cell(field((*c), "not_after")), cell(c->value("left", Json())), cell(field((*c), "state")),
                            handshake_text(*c)});
    }
    std::string out = "Certificates (" + std::to_string(certificates.size()) + " shown";
    if (status.contains("peer_certificates_tracked"))
        out += "; client certificates tracked: " + field(status, "peer_certificates_tracked").dump();
    out += ")\n";
    return out + table({"ROLE", "SUBJECT", "ISSUER", "SERIAL", "NOT AFTER", "LEFT", "STATE", "HANDSHAKE"}, rows,
                       {false, false, false, false, false, true, false, false});
}

// Health over the server's window ([admin] health_window), not since start: the state, with
// the failure kinds behind it ("degraded (timeout=2,transport=1)").
std::string health_text(const Json& health) {
    if (!health.is_object()) return "-";
    std::string state = health.value("state", "-");
    std::string kinds;
    const Json failures = health.value("failures", Json::object());
    for (const auto& [kind, count] : failures.items()) kinds += (kinds.empty() ? "" : ",") + kind + "=" + count.dump();
    return kinds.empty() ? state : state + " (" + kinds + ")";
}

std::string window_text(const Json& status) {
    for (const Json& p : status.value("revocation_profiles", Json::array()))
        if (p.contains("health")) return std::to_string(field(p, "health").value("window_seconds", 0)) + " s";
    return "-";
}

// "12 s ago (answered)", or "-" with nothing inside the window.
std::string last_exchange(const Json& health) {
    if (!health.contains("last_age_seconds")) return "-";
    return field(health, "last_age_seconds").dump() + " s ago (" + health.value("last_result", "?") + ")";
}

std::string responders_table(const Json& status) {
    std::vector<std::vector<std::string>> rows;
    for (const Json& p : status.value("revocation_profiles", Json::array())) {
        const Json health = p.value("health", Json::object());
        for (const Json& r : health.value("responders", Json::array()))
            rows.push_back({cell(field(p, "name")), cell(field(r, "responder")), health_text(r), cell(r.value("answered", Json(0))),
                            cell(r.value("failed", Json(0))), last_exchange(r)});
    }
    std::string window = window_text(status);
    return (window == "-" ? std::string("Responders\n") : "Responders (health over the last " + window + ")\n") +
           table({"PROFILE", "RESPONDER", "HEALTH", "ANSWERED", "FAILED", "LAST"}, rows,
                 {false, false, false, true, true, false});
}

// One line per responder that needs the operator's eye: asked by POST only since it refused
// GET, or answering without the request's nonce (accepted under nonce = "prefer").
std::string responder_quirks(const Json& status) {
    std::string out;
    for (const Json& p : status.value("revocation_profiles", Json::array())) {
        const std::string name = cell(field(p, "name"));
        for (const Json& url : p.value("post_only_responders", Json::array()))
            out += "  " + name + ": " + (url.is_string() ? url.get<std::string>() : url.dump()) +
                   " refused GET; asked by POST only for now\n";
        const Json counters = p.value("counters", Json::object());
        // A named copy: items() of the temporary that value() returns would dangle.
        const Json by_responder = counters.value("by_responder", Json::object());
        for (const auto& [url, counts] : by_responder.items()) {
            const auto missing = counts.value("nonce_missing", std::uint64_t{0});
            if (missing > 0) out += "  " + name + ": " + url + " answered " + std::to_string(missing) + " time(s) without our nonce\n";
        }
    }
    return out;
}

std::string profiles_table(const Json& status) {
    std::vector<std::vector<std::string>> rows;
    for (const Json& p : status.value("revocation_profiles", Json::array())) {
        const Json& counters = p.value("counters", Json::object());
        std::string responders;
        for (const Json& r : p.value("responders", Json::array())) responders += (responders.empty() ? "" : " ") + cell(r);
        rows.push_back({cell(field(p, "name")), responders.empty() ? "(AIA/CRL only)" : responders, health_text(p.value("health", Json())),
                        cell(counters.value("responder_queries", Json(0))), cell(p.value("cache_entries", Json(0))),
                        cell(counters.value("cache_hits", Json(0))), cell(counters.value("cache_misses", Json(0))),
                        cell(counters.value("verdicts", Json::object()).value("revoked", Json(0)))});
    }
    return "Revocation profiles\n" + table({"PROFILE", "RESPONDERS", "HEALTH", "QUERIES", "CACHED", "HITS", "MISSES",
                                            "REVOKED"},
                                           rows, {false, false, false, true, true, true, true, true}) +
           responder_quirks(status);
}

std::string listeners_table(const Json& status) {
    std::vector<std::vector<std::string>> rows;
    for (const Json& l : status.value("listeners", Json::array()))
        rows.push_back({cell(field(l, "name")), cell(field(l, "address")), cell(field(l, "protocol")), cell(field(l, "revocation")),
                        cell(field(l, "active_connections")), cell(field(l, "accepted")), cell(field(l, "rejected")),
                        cell(l.value("backend_failed", Json(0)))});
    return "Listeners (active connections: " + status.value("active_connections", Json(0)).dump() + ")\n" +
           table({"LISTENER", "ADDRESS", "PROTOCOL", "REVOCATION", "ACTIVE", "ACCEPTED", "REJECTED", "BACKEND FAILED"},
                 rows, {false, false, false, false, true, true, true, true});
}

// Each CRL held, with how old it is and when the next one is due ("overdue" once nextUpdate
// has passed); nothing when no profile holds a CRL.
std::string held_crls_table(const Json& status) {
    const Json& held = status.value("held_crls", Json::array());
    if (held.empty()) return "";
    std::vector<std::vector<std::string>> rows;
    for (const Json& c : held) {
        const Json& due_in = c.value("next_update_in_seconds", Json());
        std::string due = due_in.is_number() ? (due_in.get<std::int64_t>() < 0 ? "overdue" : "in " + due_in.dump() + " s") : "-";
        rows.push_back({cell(field(c, "profile")), cell(field(c, "crl")), cell(field(c, "this_update")), cell(field(c, "age_seconds")),
                        cell(c.value("next_update", Json())), due});
    }
    return "\nCRLs held\n" + table({"PROFILE", "CRL", "THIS_UPDATE", "AGE_S", "NEXT_UPDATE", "NEXT_DUE"}, rows,
                                   {false, false, false, true, false, false});
}

Result<std::string> admin_address_from_config(const std::string& config_path) {
    auto address = conf::read_admin_address(config_path);
    if (!address) return std::move(address).error();
    if (!address->has_value())
        return make_error(Errc::config, config_path + " has no [admin] table, so its ocspgate serves no /status");
    return **address;
}

}  // namespace

Result<AdminTarget> parse_admin_target(std::string_view text) {
    std::size_t colon = text.rfind(':');
    auto bad = [&] { return make_error(Errc::invalid_argument, "--admin wants HOST:PORT, got \"" + std::string(text) + "\""); };
    if (colon == std::string_view::npos || colon == 0) return bad();
    std::string_view host = text.substr(0, colon), port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535 || host.empty())
        return bad();
    return AdminTarget{std::string(host), static_cast<std::uint16_t>(port)};
}

Result<std::string> fetch_status(const AdminTarget& target, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    auto fd = connect_to(target, deadline);
    if (!fd) return std::move(fd).error();
    Fd guard{*fd};
    bool v6 = target.host.find(':') != std::string::npos;
    std::string host = (v6 ? "[" + target.host + "]" : target.host) + ":" + std::to_string(target.port);
    auto answer = exchange(*fd, "GET /status HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n", deadline);
    if (!answer) return std::move(answer).error();
    return body_of(*answer);
}

Result<std::string> format_status(std::string_view json) {
    Json status = Json::parse(json, nullptr, false);
    if (status.is_discarded() || !status.is_object()) return make_error(Errc::parse, "/status did not return a JSON object");
    try {
        return certificates_table(status) + "\n" + profiles_table(status) + "\n" + responders_table(status) + "\n" +
               listeners_table(status) + held_crls_table(status);
    } catch (const Json::exception& e) {
        return make_error(Errc::parse, std::string("/status has an unexpected shape: ") + e.what());
    }
}

int run_status_command(const std::string& admin, const std::string& config_path, bool raw_json) {
    std::string address = admin;
    if (address.empty() && !config_path.empty()) {
        auto from_config = admin_address_from_config(config_path);
        if (!from_config) {
            std::cerr << "ocspgate status: " << from_config.error().message << '\n';
            return 2;
        }
        address = *from_config;
    }
    if (address.empty()) address = kDefaultAdminAddress;
    auto target = parse_admin_target(address);
    if (!target) {
        std::cerr << "ocspgate status: " << target.error().message << '\n';
        return 2;
    }
    auto body = fetch_status(*target, std::chrono::seconds(5));
    if (!body) {
        std::cerr << "ocspgate status: " << address << ": " << body.error().message << '\n';
        return 1;
    }
    if (raw_json) {
        std::cout << *body;
        return 0;
    }
    auto text = format_status(*body);
    if (!text) {
        std::cerr << "ocspgate status: " << address << ": " << text.error().message << '\n';
        return 1;
    }
    std::cout << *text;
    return 0;
}

}  // namespace ocspgate::proxy::admin
