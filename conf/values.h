// Internal to conf/: parsers for single TOML values, the "parser" column of the schema.
//
// Each parser turns a node into a typed value or reports why it cannot, at the node, and
// renders values back as TOML literals for the reference documentation.
#pragma once

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "conf/config.h"
#include "conf/context.h"
#include "conf/names.h"
#include "conf/quote.h"

namespace ocspgate::conf {

// The node as a string, or a reported type error and nullopt.
std::optional<std::string> expect_string(const toml::node& node, Context& context);

struct BoolValue {
    std::optional<bool> parse(const toml::node& node, Context& context) const;
    std::string type() const { return "boolean"; }
    std::string show(bool value) const { return value ? "true" : "false"; }
};

template <class Int>
struct IntegerValue {
    Int min = 0;
    Int max = std::numeric_limits<Int>::max();

    std::optional<Int> parse(const toml::node& node, Context& context) const {
        const auto* integer = node.as_integer();
        if (integer == nullptr) {
            context.error(node, fmt::format("expected an integer, got {}", describe_type(node)));
            return std::nullopt;
        }
        std::int64_t value = integer->get();
        if (std::cmp_less(value, min) || std::cmp_greater(value, max)) {
            context.error(node, fmt::format("must be between {} and {}, got {}", min, max, value));
            return std::nullopt;
        }
        return static_cast<Int>(value);
    }
    std::string type() const { return fmt::format("integer, {} to {}", min, max); }
    std::string show(Int value) const { return std::to_string(value); }
};

struct DurationValue {
    bool positive = false;  // reject "0s": for deadlines, where zero would mean "fail at once"

    std::optional<Duration> parse(const toml::node& node, Context& context) const;
    std::string type() const { return positive ? "duration, above 0s" : "duration"; }
    std::string show(Duration value) const;
};

template <class E>
struct EnumValue {
    std::optional<E> parse(const toml::node& node, Context& context) const {
        std::optional<std::string> text = expect_string(node, context);
        if (!text) return std::nullopt;
        for (const auto& entry : enum_names<E>()) {
            if (entry.name == *text) return entry.value;
        }
        context.error(node, fmt::format("{} is not one of {}", quote(*text), allowed(", ")));
        return std::nullopt;
    }
    std::string type() const { return allowed(" | "); }
    std::string show(E value) const { return quote(to_string(value)); }

private:
    static std::string allowed(std::string_view separator) {
        std::string out;
        for (const auto& entry : enum_names<E>()) {
            if (!out.empty()) out += separator;
            out += quote(entry.name);
        }
        return out;
    }
};

// "off" | "prefer" | "require". The boolean that nonce was before is still read, true as
// "prefer" and false as "off"; check_ocsp warns that it is the old spelling.
struct NonceModeValue {
    std::optional<NonceMode> parse(const toml::node& node, Context& context) const {
        if (const auto* flag = node.as_boolean()) return flag->get() ? NonceMode::prefer : NonceMode::off;
        return EnumValue<NonceMode>{}.parse(node, context);
    }
    std::string type() const { return EnumValue<NonceMode>{}.type(); }
    std::string show(NonceMode value) const { return EnumValue<NonceMode>{}.show(value); }
};

// A listener or profile name (see check_name in conf/section.h).
struct NameValue {
    std::optional<std::string> parse(const toml::node& node, Context& context) const;
    std::string type() const { return "name"; }
    std::string show(const std::string& value) const { return quote(value); }
};

// The name of a local user or group that exists now (getpwnam / getgrnam at load time).
struct AccountValue {
    enum class Kind { user, group };
    Kind kind;

    std::optional<std::string> parse(const toml::node& node, Context& context) const;
    std::string type() const { return kind == Kind::user ? "user name" : "group name"; }
    std::string show(const std::string& value) const { return quote(value); }
};

struct AddressValue {
    bool allow_names = false;  // "NAME:PORT" too (backends), resolved when connecting

    std::optional<Address> parse(const toml::node& node, Context& context) const;
    std::string type() const { return allow_names ? "address or host name" : "numeric address"; }
    std::string show(const Address& value) const { return quote(value.text); }
};

// An http:// or https:// URL, kept as written once it has been checked.
struct UrlValue {
    std::optional<std::string> parse(const toml::node& node, Context& context) const;
    std::string type() const { return "URL"; }
    std::string show(const std::string& value) const { return quote(value); }
};

// A file that must exist now and parse as `kind`; the value is its resolved absolute path.
struct FileValue {
    enum class Kind {
        certificates,  // PEM, one or more certificates
        certificate,   // PEM, exactly one certificate
        private_key,   // PEM, unencrypted
        crl,           // PEM or DER
    };
    Kind kind;
    bool may_be_empty = false;  // "" means "not configured" (the member stays empty)

    std::optional<std::filesystem::path> parse(const toml::node& node, Context& context) const;
    std::string type() const;
    std::string show(const std::filesystem::path& value) const { return quote(value.string()); }
};

template <class Inner>
struct OptionalValue {
    Inner inner;
    using T = typename decltype(inner.parse(std::declval<const toml::node&>(),
                                            std::declval<Context&>()))::value_type;

    std::optional<std::optional<T>> parse(const toml::node& node, Context& context) const {
        if (auto value = inner.parse(node, context)) return std::optional<T>(std::move(*value));
        return std::nullopt;
    }
    std::string type() const { return inner.type(); }
    std::string show(const std::optional<T>& value) const {
        return value ? inner.show(*value) : std::string("unset");
    }
};

template <class Element>
struct ListValue {
    Element element;
    bool non_empty = false;
    bool unique = true;
    using T = typename decltype(element.parse(std::declval<const toml::node&>(),
                                              std::declval<Context&>()))::value_type;

    // Reports every bad element; yields a value only when all of them are good.
    std::optional<std::vector<T>> parse(const toml::node& node, Context& context) const {
        const toml::array* array = node.as_array();
        if (array == nullptr) {
            context.error(node, fmt::format("expected an array, got {}", describe_type(node)));
            return std::nullopt;
        }
        if (non_empty && array->empty()) {
            context.error(node, "must not be empty");
            return std::nullopt;
        }
        std::vector<T> out;
        bool all_good = true;
        for (std::size_t i = 0; i < array->size(); ++i) {
            auto scope = context.enter_index(i);
            std::optional<T> value = element.parse((*array)[i], context);
            if (!value) {
                all_good = false;
            } else if (unique && std::find(out.begin(), out.end(), *value) != out.end()) {
                context.error((*array)[i], fmt::format("{} is listed twice", element.show(*value)));
                all_good = false;
            } else {
                out.push_back(std::move(*value));
            }
        }
        if (!all_good) return std::nullopt;
        return out;
    }
    std::string type() const { return "[" + element.type() + ", ...]"; }
    std::string show(const std::vector<T>& values) const {
        std::string out = "[";
        for (const auto& value : values) {
            if (out.size() > 1) out += ", ";
            out += element.show(value);
        }
        return out + "]";
    }
};

}  // namespace ocspgate::conf
