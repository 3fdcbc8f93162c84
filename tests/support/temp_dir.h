// A throwaway folder for tests that must hand files to the code under test (PEM files for
// tls::make_server_context, documents for the config loader).
#pragma once

#include <filesystem>
#include <string_view>

namespace ocspgate::fixtures {

// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::filesystem::path& path() const { return path_; }
    // Writes `content` to path()/relative, creating folders; returns the absolute path.
    std::filesystem::path write(const std::filesystem::path& relative,
                                std::string_view content) const;

private:
    std::filesystem::path path_;
};

}  // namespace ocspgate::fixtures
