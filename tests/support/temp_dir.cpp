#include "support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>

#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace ocspgate::fixtures {

TempDir::TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "ocspgate-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path TempDir::write(const std::filesystem::path& relative,
                                     std::string_view content) const {
    std::filesystem::path file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out.good()) throw std::runtime_error("writing test file " + file.string());
    return file;
}

}  // namespace ocspgate::fixtures
