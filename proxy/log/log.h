// Structured logging: one line per event, as key=value text or as JSON.
//
// Lines are handed to spdlog's asynchronous logger, whose own thread writes them, so a slow
// stderr consumer never stalls an event loop. If its queue (kQueueLines) fills up, the oldest
// lines are dropped and counted (dropped_lines()) rather than blocking traffic.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace ocspgate::proxy::log {

void init(conf::LogFormat format, conf::LogLevel level);
void shutdown();  // flushes what is queued
std::uint64_t dropped_lines();
bool enabled(conf::LogLevel level);

// Text a peer chose (certificate subject, issuer, SAN) reaches a line with at most this many of
// its bytes: a client with a 70 KB CN must not make 70 KB log lines.
inline constexpr std::size_t kMaxPeerFieldBytes = 256;

// `value` whole when it fits in `max_bytes`; otherwise its first bytes, cut before a UTF-8
// character that would not fit whole, then "...[truncated, N bytes]" with the full length.
// Escaping (Record::field) runs afterwards, on the cut text, so it can never be split.
std::string capped(std::string_view value, std::size_t max_bytes = kMaxPeerFieldBytes);

// Builds one structured line: Record("connection").field("peer", p).emit(LogLevel::info).
class Record {
public:
    explicit Record(std::string_view event);
    Record& field(std::string_view key, std::string_view value);
    Record& field(std::string_view key, const char* value) { return field(key, std::string_view(value ? value : "")); }
    Record& field(std::string_view key, std::int64_t value);
    Record& field(std::string_view key, std::uint64_t value);
    Record& field(std::string_view key, int value) { return field(key, static_cast<std::int64_t>(value)); }
    Record& field(std::string_view key, unsigned value) { return field(key, static_cast<std::uint64_t>(value)); }
    Record& field(std::string_view key, double value);
    // A field whose value comes from a peer's certificate: capped() first.
    Record& peer_field(std::string_view key, std::string_view value) { return field(key, capped(value)); }
    void emit(conf::LogLevel level);

private:
    void key(std::string_view k);
    fmt::memory_buffer line_;
};

// A plain message (start-up, errors that are not about one connection).
void message(conf::LogLevel level, std::string_view text);

}  // namespace ocspgate::proxy::log
