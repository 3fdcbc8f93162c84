#include "conf/key_files.h"

#include <sys/stat.h>

namespace ocspgate::conf {
namespace {

void check(const std::string& key, const std::filesystem::path& path, std::vector<LooseKeyFile>& found) {
    struct stat info {};
    if (path.empty() || stat(path.c_str(), &info) != 0) return;
    const mode_t mode = info.st_mode & 0777;
    if ((mode & (S_IRGRP | S_IROTH)) != 0) found.push_back({key, path, mode});
}

}  // namespace

std::vector<LooseKeyFile> find_loose_key_files(const Config& config) {
    std::vector<LooseKeyFile> found;
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const std::string prefix = "listener[" + std::to_string(i) + "].tls.";
        check(prefix + "private_key", config.listeners[i].tls.private_key, found);
        check(prefix + "second_private_key", config.listeners[i].tls.second_private_key, found);
    }
    for (const auto& [name, profile] : config.revocation) {
        check("revocation." + name + ".ocsp.tls_private_key", profile.ocsp.tls_private_key, found);
    }
    return found;
}

}  // namespace ocspgate::conf
