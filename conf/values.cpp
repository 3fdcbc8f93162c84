#include "conf/values.h"

#include <grp.h>
#include <pwd.h>

#include "conf/address.h"
#include "conf/load.h"
#include "conf/pem_files.h"
#include "conf/section.h"
#include "ocsp/url.h"

namespace ocspgate::conf {

std::optional<std::string> expect_string(const toml::node& node, Context& context) {
    if (const auto* text = node.as_string()) return text->get();
    context.error(node, fmt::format("expected a string, got {}", describe_type(node)));
    return std::nullopt;
}

std::optional<bool> BoolValue::parse(const toml::node& node, Context& context) const {
    if (const auto* value = node.as_boolean()) return value->get();
    context.error(node, fmt::format("expected true or false, got {}", describe_type(node)));
    return std::nullopt;
}

std::optional<Duration> DurationValue::parse(const toml::node& node, Context& context) const {
    if (!node.is_string()) {
        context.error(node, fmt::format("expected a duration string such as \"10s\", got {}",
                                        describe_type(node)));
        return std::nullopt;
    }
    const std::string& text = node.as_string()->get();
    std::optional<Duration> value = parse_duration(text);
    if (!value) {
        context.error(node, fmt::format("{} is not a duration: write a whole number and one unit "
                                        "of ms, s, m, h or d, such as \"250ms\" or \"15m\"",
                                        quote(text)));
        return std::nullopt;
    }
    if (positive && value->count() == 0) {
        context.error(node, "must be longer than 0s");
        return std::nullopt;
    }
    return value;
}

std::string DurationValue::show(Duration value) const {
    return quote(format_duration(value));
}

std::optional<std::string> NameValue::parse(const toml::node& node, Context& context) const {
    std::optional<std::string> text = expect_string(node, context);
    if (!text || !check_name(*text, node, context)) return std::nullopt;
    return text;
}

std::optional<std::string> AccountValue::parse(const toml::node& node, Context& context) const {
    std::optional<std::string> name = expect_string(node, context);
    if (!name) return std::nullopt;
    const bool user = kind == Kind::user;
    const bool exists = !name->empty() && name->find('\0') == std::string::npos &&
                        (user ? getpwnam(name->c_str()) != nullptr : getgrnam(name->c_str()) != nullptr);
    if (!exists) {
        context.error(node, fmt::format("no {} named {} on this system", user ? "user" : "group", quote(*name)));
        return std::nullopt;
    }
    return name;
}

std::optional<Address> AddressValue::parse(const toml::node& node, Context& context) const {
    std::optional<std::string> text = expect_string(node, context);
    if (!text) return std::nullopt;
    Result<Address> address = allow_names ? parse_backend_address(*text) : parse_address(*text);
    if (!address) {
        context.error(node, address.error().message);
        return std::nullopt;
    }
    return std::move(address).value();
}

std::optional<std::string> UrlValue::parse(const toml::node& node, Context& context) const {
    std::optional<std::string> text = expect_string(node, context);
    if (!text) return std::nullopt;
    if (auto url = ocsp::parse_url(*text); !url) {
        context.error(node, url.error().message);
        return std::nullopt;
    }
    // The OCSP client drops a fragment (it is never sent); in a config file it is a mistake.
    if (text->find('#') != std::string::npos) {
        context.error(node, "\"" + *text + "\" is not a valid http:// or https:// URL: a fragment (\"#...\") is never sent to the server");
        return std::nullopt;
    }
    return text;
}

namespace {

Result<Ok> check_file(FileValue::Kind kind, const std::filesystem::path& path) {
    using Kind = FileValue::Kind;
    switch (kind) {
        case Kind::certificates: {
            auto certificates = read_certificates(path);
            if (!certificates) return std::move(certificates).error();
            return Ok{};
        }
        case Kind::certificate: {
            auto certificates = read_certificates(path);
            if (!certificates) return std::move(certificates).error();
            if (int count = sk_X509_num(certificates->get()); count != 1) {
                return make_error(Errc::config,
                                  fmt::format("\"{}\" holds {} certificates; expected "
                                              "exactly one",
                                              path.string(), count));
            }
            return Ok{};
        }
        case Kind::private_key: {
            auto key = read_private_key(path);
            if (!key) return std::move(key).error();
            return Ok{};
        }
        case Kind::crl: {
            auto crl = read_crl(path);
            if (!crl) return std::move(crl).error();
            return Ok{};
        }
    }
    return Ok{};
}

}  // namespace

std::optional<std::filesystem::path> FileValue::parse(const toml::node& node,
                                                      Context& context) const {
    std::optional<std::string> text = expect_string(node, context);
    if (!text) return std::nullopt;
    if (text->empty()) {
        if (may_be_empty) return std::filesystem::path();
        context.error(node, "must name a file");
        return std::nullopt;
    }
    std::filesystem::path path = context.resolve(*text);
    if (Result<Ok> checked = check_file(kind, path); !checked) {
        context.error(node, checked.error().message);
        return std::nullopt;
    }
    return path;
}

std::string FileValue::type() const {
    switch (kind) {
        case Kind::certificates: return "PEM certificates file";
        case Kind::certificate: return "PEM certificate file";
        case Kind::private_key: return "PEM private key file";
        case Kind::crl: return "CRL file";
    }
    return "path";
}

}  // namespace ocspgate::conf
