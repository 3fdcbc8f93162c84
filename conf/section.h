// Internal to conf/: the machinery behind the schema table (conf/schema.h).
//
// A Section<Owner> is the table for one TOML table: one Field per key, each with its parser,
// the Owner member it fills, its documentation, and whether it is required. The defaults are
// the member initialisers in config.h; the documented default is rendered from a
// default-constructed Owner, so the reference can never disagree with the code. Parsing a
// table reports unknown keys, missing required keys and bad values, then runs the section's
// cross-key check.
#pragma once

#include <fmt/format.h>
#include <toml++/toml.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/context.h"

namespace ocspgate::conf {

// One row of the reference documentation.
struct KeyDoc {
    std::string key;
    std::string type;
    std::string default_text;  // a TOML literal, "required", or a sentence
    std::string doc;
};

struct SectionDoc {
    std::string title;  // "[listener.tls]"
    std::string doc;
    std::vector<KeyDoc> keys;
};

enum class Presence { optional, required };

template <class Owner>
struct Field {
    std::string key;
    std::string type;
    std::string default_text;
    std::string doc;
    Presence presence = Presence::optional;
    // Parses the key's value into the owner; reports its own diagnostics.
    std::function<void(const toml::node&, Owner&, Context&)> parse;

    // For defaults that depend on other keys ("required unless ...").
    Field with_default_text(std::string text) && {
        default_text = std::move(text);
        return std::move(*this);
    }
};

// Reports every key of `table` that is not in `known`, suggesting the closest known key.
void report_unknown_keys(const toml::table& table, const std::vector<std::string_view>& known,
                         Context& context);

template <class Owner>
struct Section {
    std::string title;
    std::string doc;
    std::vector<Field<Owner>> fields;
    // Rules across keys, run after every key was parsed; `table` is this section's table.
    std::function<void(const toml::table&, Owner&, Context&)> check;

    void parse(const toml::table& table, Owner& out, Context& context) const {
        std::vector<std::string_view> known;
        for (const auto& field : fields) known.push_back(field.key);
        report_unknown_keys(table, known, context);
        for (const auto& field : fields) {
            const toml::node* node = table.get(field.key);
            if (node == nullptr) {
                if (field.presence == Presence::required) {
                    context.error(table, "missing required key \"" + field.key + "\"");
                }
                continue;
            }
            auto scope = context.enter(field.key);
            field.parse(*node, out, context);
        }
        if (check) check(table, out, context);
    }

    SectionDoc describe() const {
        SectionDoc out{title, doc, {}};
        for (const auto& field : fields) {
            out.keys.push_back({field.key, field.type, field.default_text, field.doc});
        }
        return out;
    }
};

// A key holding one value, parsed by `parser` into `member`. A parser is any type with
//   std::optional<T> parse(const toml::node&, Context&) const;  // reports its own errors
//   std::string type() const;                                    // for the reference
//   std::string show(const T&) const;                            // a TOML literal
template <class Owner, class T, class Parser>
Field<Owner> value_key(std::string key, T Owner::*member, Parser parser, std::string doc,
                       Presence presence = Presence::optional) {
    Field<Owner> field;
    field.key = std::move(key);
    field.type = parser.type();
    field.default_text = presence == Presence::required ? "required" : parser.show(Owner{}.*member);
    field.doc = std::move(doc);
    field.presence = presence;
    field.parse = [member, parser](const toml::node& node, Owner& owner, Context& context) {
        if (auto value = parser.parse(node, context)) owner.*member = std::move(*value);
    };
    return field;
}

// A key holding a sub-table, described by its own section.
template <class Owner, class Sub>
Field<Owner> table_key(std::string key, Sub Owner::*member, const Section<Sub>& section,
                       std::string doc, Presence presence = Presence::optional) {
    Field<Owner> field;
    field.key = std::move(key);
    field.type = "table " + section.title;
    field.default_text = presence == Presence::required ? "required" : "all defaults";
    field.doc = std::move(doc);
    field.presence = presence;
    field.parse = [member, &section](const toml::node& node, Owner& owner, Context& context) {
        if (const toml::table* table = node.as_table()) {
            section.parse(*table, owner.*member, context);
        } else {
            context.error(node, fmt::format("expected a table {}, got {}", section.title,
                                            describe_type(node)));
        }
    };
    return field;
}

// A key holding an array of tables ([[key]]). Every array element yields one Sub, even one
// that is not a table, so element i of the result is always element i of the document.
template <class Owner, class Sub>
Field<Owner> tables_key(std::string key, std::vector<Sub> Owner::*member,
                        const Section<Sub>& section, std::string doc,
                        Presence presence = Presence::optional) {
    Field<Owner> field;
    field.key = std::move(key);
    field.type = "array of tables " + section.title;
    field.default_text = presence == Presence::required ? "required, at least one" : "none";
    field.doc = std::move(doc);
    field.presence = presence;
    field.parse = [member, &section, presence](const toml::node& node, Owner& owner,
                                               Context& context) {
        const toml::array* array = node.as_array();
        if (array == nullptr) {
            context.error(node, fmt::format("expected an array of tables {}, got {}", section.title,
                                            describe_type(node)));
            return;
        }
        if (array->empty() && presence == Presence::required) {
            context.error(node, "needs at least one entry");
        }
        for (std::size_t i = 0; i < array->size(); ++i) {
            auto scope = context.enter_index(i);
            Sub& sub = (owner.*member).emplace_back();
            if (const toml::table* table = (*array)[i].as_table()) {
                section.parse(*table, sub, context);
            } else {
                context.error((*array)[i], fmt::format("expected a table {}, got {}", section.title,
                                                       describe_type((*array)[i])));
            }
        }
    };
    return field;
}

// Reports whether `name` is fit to name a listener or profile in logs and references.
bool check_name(std::string_view name, const toml::node& node, Context& context);

// A key holding a table of named sub-tables ([key.NAME]); NAME is stored in Sub::*name too.
template <class Owner, class Sub>
Field<Owner> named_tables_key(std::string key, std::map<std::string, Sub> Owner::*member,
                              std::string Sub::*name, const Section<Sub>& section,
                              std::string doc) {
    Field<Owner> field;
    field.key = std::move(key);
    field.type = "tables " + section.title;
    field.default_text = "none";
    field.doc = std::move(doc);
    field.parse = [member, name, &section](const toml::node& node, Owner& owner, Context& context) {
        const toml::table* table = node.as_table();
        if (table == nullptr) {
            context.error(node, fmt::format("expected a table of {} tables, got {}", section.title,
                                            describe_type(node)));
            return;
        }
        for (auto&& [entry_key, entry] : *table) {
            auto scope = context.enter(std::string(entry_key.str()));
            const toml::table* entry_table = entry.as_table();
            if (entry_table == nullptr) {
                context.error(entry, fmt::format("expected a table {}, got {}", section.title,
                                                 describe_type(entry)));
                continue;
            }
            check_name(entry_key.str(), entry, context);
            Sub& sub = (owner.*member)[std::string(entry_key.str())];
            sub.*name = entry_key.str();
            section.parse(*entry_table, sub, context);
        }
    };
    return field;
}

}  // namespace ocspgate::conf
