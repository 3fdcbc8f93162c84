// Structured logging: one line per event, as key=value text or as JSON.
//
// Lines are handed to spdlog's asynchronous logger, whose own thread writes them, so a slow
// stderr consumer never stalls an event loop. If its queue (kQueueLines) fills up, the oldest
// lines are dropped and counted (dropped_lines()) rather than blocking traffic.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string_view>

#include "conf/config.h"

namespace ocspgate::proxy::log {

void init(conf::LogFormat format, conf::LogLevel level);
void shutdown();  // flushes what is queued
std::uint64_t dropped_lines();
bool enabled(conf::LogLevel level);

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
    void emit(conf::LogLevel level);

private:
    void key(std::string_view k);
    fmt::memory_buffer line_;
};

// A plain message (start-up, errors that are not about one connection).
void message(conf::LogLevel level, std::string_view text);

}  // namespace ocspgate::proxy::log
