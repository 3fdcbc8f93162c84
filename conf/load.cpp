#include "conf/load.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>

#include "conf/context.h"
#include "conf/pem_files.h"
#include "conf/schema.h"

namespace ocspgate::conf {
namespace {

std::filesystem::path absolute_source(const std::filesystem::path& source) {
    std::error_code ignored;  // only fails if the current directory is gone; keep it relative
    std::filesystem::path absolute = std::filesystem::absolute(source, ignored);
    return (absolute.empty() ? source : absolute).lexically_normal();
}

Diagnostic syntax_error(const toml::parse_error& error, const std::string& file) {
    return Diagnostic{
        .file = file,
        .line = static_cast<int>(error.source().begin.line),
        .column = static_cast<int>(error.source().begin.column),
        .message = fmt::format("TOML syntax error: {}", error.description()),
    };
}

void sort_by_position(std::vector<Diagnostic>& diagnostics) {
    std::stable_sort(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                         return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
}

}  // namespace

std::string format(const Diagnostic& diagnostic) {
    std::string_view severity = diagnostic.severity == Severity::warning ? "warning: " : "";
    if (diagnostic.line == 0) {
        return fmt::format("{}: {}{}", diagnostic.file, severity, diagnostic.message);
    }
    return fmt::format("{}:{}:{}: {}{}", diagnostic.file, diagnostic.line, diagnostic.column,
                       severity, diagnostic.message);
}

LoadResult load_file(const std::filesystem::path& file) {
    Result<std::string> text = read_file(file);
    if (!text) {
        Diagnostic unreadable{.file = file.string(), .message = text.error().message};
        return LoadResult{.config = std::nullopt, .diagnostics = {unreadable}, .warnings = {}};
    }
    return load_string(*text, file);
}

LoadResult load_string(std::string_view toml_text, const std::filesystem::path& source) {
    const std::string file = source.string();
    toml::table root;
    try {
        root = toml::parse(toml_text, std::string_view(file));
    } catch (const toml::parse_error& error) {
        return LoadResult{
            .config = std::nullopt, .diagnostics = {syntax_error(error, file)}, .warnings = {}};
    }
    Config config;
    config.source = absolute_source(source);
    Context context(file, config.source.parent_path());
    root_section().parse(root, config, context);

    LoadResult result;
    result.diagnostics = context.take_diagnostics();
    sort_by_position(result.diagnostics);
    result.warnings = context.take_warnings();
    sort_by_position(result.warnings);
    if (result.diagnostics.empty()) result.config = std::move(config);
    return result;
}

std::string toml_library_version() {
    return std::to_string(TOML_LIB_MAJOR) + "." + std::to_string(TOML_LIB_MINOR) + "." + std::to_string(TOML_LIB_PATCH);
}

}  // namespace ocspgate::conf
