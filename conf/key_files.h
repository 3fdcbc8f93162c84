// Private key files that others can read: a secure-defaults check run at start-up. A key that
// the group or everyone may read is not an error (deployments differ), but it deserves a
// warning in the logs, the way ssh refuses "UNPROTECTED PRIVATE KEY FILE!".
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "conf/config.h"

namespace ocspgate::conf {

struct LooseKeyFile {
    std::string key;              // where the config names it, e.g. "listener[0].tls.private_key"
    std::filesystem::path path;
    mode_t mode = 0;              // permission bits (st_mode & 0777)
};

// Every configured private key file (listeners' TLS keys, OCSP clients' tls_private_key) whose
// permission bits let the group or others read it. Files that cannot be stat()ed are skipped:
// loading the config already reported them. Reads file metadata: start-up only.
std::vector<LooseKeyFile> find_loose_key_files(const Config& config);

}  // namespace ocspgate::conf
