#include "conf/reference.h"

#include <fmt/format.h>

#include "conf/schema.h"

namespace ocspgate::conf {
namespace {

std::string table_cell(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '|') out += '\\';
        out += c;
    }
    return out;
}

// TOML literals in code font; prose ("required", "none") as it is.
std::string default_cell(std::string_view text) {
    bool literal = text.starts_with('"') || text.starts_with('[') || text == "true" ||
                   text == "false" || (!text.empty() && text.front() >= '0' && text.front() <= '9');
    return literal ? fmt::format("`{}`", text) : table_cell(text);
}

std::string section_markdown(const SectionDoc& section) {
    bool is_table = section.title.starts_with('[');
    std::string out = is_table ? fmt::format("### `{}`\n\n", section.title)
                               : fmt::format("### {}\n\n", section.title);
    out += section.doc + "\n\n";
    out += "| Key | Type | Default | Meaning |\n";
    out += "| --- | --- | --- | --- |\n";
    for (const KeyDoc& key : section.keys) {
        out += fmt::format("| `{}` | {} | {} | {} |\n", key.key, table_cell(key.type),
                           default_cell(key.default_text), table_cell(key.doc));
    }
    return out;
}

}  // namespace

std::string reference_markdown() {
    std::string out;
    for (const SectionDoc& section : reference_sections()) {
        if (!out.empty()) out += '\n';
        out += section_markdown(section);
    }
    return out;
}

}  // namespace ocspgate::conf
