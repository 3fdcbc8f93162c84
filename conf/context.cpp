#include "conf/context.h"

#include <fmt/format.h>

namespace ocspgate::conf {

Context::Context(std::string file, std::filesystem::path base_dir)
    : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

Diagnostic Context::located(const toml::source_region& where, std::string_view message,
                            Severity severity) const {
    std::string prefix = path();
    return Diagnostic{
        .file = file_,
        .line = static_cast<int>(where.begin.line),
        .column = static_cast<int>(where.begin.column),
        .message = prefix.empty() ? std::string(message) : fmt::format("{}: {}", prefix, message),
        .severity = severity,
    };
}

void Context::error(const toml::source_region& where, std::string_view message) {
    diagnostics_.push_back(located(where, message, Severity::error));
}

void Context::error_at_key(const toml::table& table, std::string_view key,
                           std::string_view message) {
    const toml::node* node = table.get(key);
    auto scope = enter(std::string(key));
    error(node ? node->source() : table.source(), message);
}

void Context::warning_at_key(const toml::table& table, std::string_view key,
                             std::string_view message) {
    const toml::node* node = table.get(key);
    auto scope = enter(std::string(key));
    warnings_.push_back(located(node ? node->source() : table.source(), message, Severity::warning));
}

Context::Scope Context::enter(std::string segment) {
    path_.push_back(std::move(segment));
    return Scope(*this);
}

std::string Context::path() const {
    std::string out;
    for (const auto& segment : path_) {
        if (!out.empty() && segment.front() != '[') out += '.';
        out += segment;
    }
    return out;
}

std::filesystem::path Context::resolve(std::string_view text) const {
    return (base_dir_ / std::filesystem::path(text)).lexically_normal();
}

std::string_view describe_type(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        case toml::node_type::none: break;
    }
    return "nothing";
}

}  // namespace ocspgate::conf
