// Internal to conf/: the state one load carries while it walks the document.
#pragma once

#include <toml++/toml.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "conf/load.h"

namespace ocspgate::conf {

// Collects diagnostics and knows where the walk is: the key path that prefixes every message
// ("listener[0].tls") and the folder relative paths resolve against.
class Context {
public:
    Context(std::string file, std::filesystem::path base_dir);

    // Reports `message` about the value at the current key path, located at `where`.
    void error(const toml::source_region& where, std::string_view message);
    void error(const toml::node& where, std::string_view message) {
        error(where.source(), message);
    }

    // Reports `message` about key `key` of `table` (the current path): at the key's value
    // when it is present, otherwise at the table itself.
    void error_at_key(const toml::table& table, std::string_view key, std::string_view message);

    // The same as a warning (see conf/load.h): reported, but the configuration still loads.
    void warning_at_key(const toml::table& table, std::string_view key, std::string_view message);

    // Pops its path segment on destruction.
    class [[nodiscard]] Scope {
    public:
        explicit Scope(Context& context) : context_(&context) {}
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;
        ~Scope() { context_->path_.pop_back(); }

    private:
        Context* context_;
    };

    // Descends into a key ("tls") or an array element ("[0]").
    Scope enter(std::string segment);
    Scope enter_index(std::size_t index) { return enter("[" + std::to_string(index) + "]"); }

    // "listener[0].tls"; empty at the top level.
    std::string path() const;

    // `text` as an absolute path: relative ones resolve against the configuration's folder.
    std::filesystem::path resolve(std::string_view text) const;

    std::size_t error_count() const { return diagnostics_.size(); }
    std::vector<Diagnostic> take_diagnostics() { return std::move(diagnostics_); }
    std::vector<Diagnostic> take_warnings() { return std::move(warnings_); }

private:
    Diagnostic located(const toml::source_region& where, std::string_view message,
                       Severity severity) const;

    std::string file_;
    std::filesystem::path base_dir_;
    std::vector<std::string> path_;
    std::vector<Diagnostic> diagnostics_;  // errors
    std::vector<Diagnostic> warnings_;
};

// The TOML name of a node's type, for "expected a string, got an integer".
std::string_view describe_type(const toml::node& node);

}  // namespace ocspgate::conf
