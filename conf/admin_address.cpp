#include "conf/admin_address.h"

#include <toml++/toml.h>

#include "conf/address.h"

namespace ocspgate::conf {

Result<std::optional<std::string>> read_admin_address(const std::filesystem::path& file) {
    toml::table root;
    try {
        root = toml::parse_file(file.string());
    } catch (const toml::parse_error& error) {
        return make_error(Errc::config, file.string() + ": " + std::string(error.description()));
    }
    const toml::node* admin = root.get("admin");
    if (admin == nullptr) return std::optional<std::string>{};
    if (!admin->is_table()) return make_error(Errc::config, file.string() + ": admin is not a table");
    const toml::node* listen = admin->as_table()->get("listen");
    if (listen == nullptr) return std::optional<std::string>{"127.0.0.1:9901"};
    const auto* text = listen->as_string();
    if (text == nullptr) return make_error(Errc::config, file.string() + ": admin.listen is not a string");
    if (auto parsed = parse_address(text->get()); !parsed)
        return make_error(Errc::config, file.string() + ": admin.listen: " + parsed.error().message);
    return std::optional<std::string>{text->get()};
}

}  // namespace ocspgate::conf
