#include "proxy/log/log.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace ocspgate::proxy::log {
namespace {

constexpr std::size_t kQueueLines = 8192;

std::atomic<bool> g_json{false};
std::shared_ptr<spdlog::logger> g_logger;

spdlog::level::level_enum to_spdlog(conf::LogLevel level) {
    switch (level) {
        case conf::LogLevel::debug: return spdlog::level::debug;
        case conf::LogLevel::info: return spdlog::level::info;
        case conf::LogLevel::warn: return spdlog::level::warn;
        case conf::LogLevel::error: return spdlog::level::err;
    }
    return spdlog::level::info;
}

bool needs_quotes(std::string_view v) {
    if (v.empty()) return true;
    for (char c : v)
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
    return false;
}

// Escapes for both formats: JSON string rules, which also keep text values on one line.
void append_escaped(fmt::memory_buffer& out, std::string_view v) {
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (u < 0x20) {
            fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
        } else {
            out.push_back(c);
        }
    }
}

// True for the bytes that continue a UTF-8 sequence (10xxxxxx).
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::string capped(std::string_view value, std::size_t max_bytes) {
    if (value.size() <= max_bytes) return std::string(value);
    std::size_t cut = max_bytes;
    while (cut > 0 && is_continuation(value[cut])) --cut;  // value[cut] starts the first character left out
    return fmt::format("{}...[truncated, {} bytes]", value.substr(0, cut), value.size());
}

void init(conf::LogFormat format, conf::LogLevel level) {
    g_json = format == conf::LogFormat::json;
    if (!g_logger) {
        spdlog::init_thread_pool(kQueueLines, 1);
        g_logger = spdlog::create_async_nb<spdlog::sinks::stderr_sink_mt>("ocspgate");
    }
    // Timestamps in UTC with microseconds; JSON lines are completed by Record's fields.
    g_logger->set_pattern(g_json ? R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})" : "%Y-%m-%dT%H:%M:%S.%fZ %l %v",
                          spdlog::pattern_time_type::utc);
    g_logger->set_level(to_spdlog(level));
    g_logger->flush_on(spdlog::level::trace);
}

void shutdown() {
    if (g_logger) g_logger->flush();
    g_logger.reset();
    spdlog::shutdown();
}

std::uint64_t dropped_lines() {
    auto pool = spdlog::thread_pool();
    return pool ? pool->overrun_counter() : 0;
}

bool enabled(conf::LogLevel level) { return g_logger && g_logger->should_log(to_spdlog(level)); }

Record::Record(std::string_view event) { field("event", event); }

void Record::key(std::string_view k) {
    if (g_json) {
        if (line_.size() != 0) line_.push_back(',');
        line_.push_back('"');
        line_.append(k);
        line_.append(std::string_view("\":"));
    } else {
        if (line_.size() != 0) line_.push_back(' ');
        line_.append(k);
        line_.push_back('=');
    }
}

Record& Record::field(std::string_view k, std::string_view value) {
    key(k);
    bool quote = g_json || needs_quotes(value);
    if (quote) line_.push_back('"');
    append_escaped(line_, value);
    if (quote) line_.push_back('"');
    return *this;
}

Record& Record::field(std::string_view k, std::int64_t value) {
    key(k);
    fmt::format_to(std::back_inserter(line_), "{}", value);
    return *this;
}

Record& Record::field(std::string_view k, std::uint64_t value) {
    key(k);
    fmt::format_to(std::back_inserter(line_), "{}", value);
    return *this;
}

Record& Record::field(std::string_view k, double value) {
    key(k);
    fmt::format_to(std::back_inserter(line_), "{:.3f}", value);
    return *this;
}

void Record::emit(conf::LogLevel level) {
    if (g_logger) g_logger->log(to_spdlog(level), std::string_view(line_.data(), line_.size()));
}

void message(conf::LogLevel level, std::string_view text) { Record("message").field("text", text).emit(level); }

}  // namespace ocspgate::proxy::log
