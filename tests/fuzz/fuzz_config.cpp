// libFuzzer target: conf::load_string on arbitrary text. Certificate and key paths in the
// input are read relative to the working directory; a missing file is only a diagnostic.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "conf/load.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    ocspgate::conf::LoadResult result = ocspgate::conf::load_string(text, "fuzz.toml");
    for (const auto& diagnostic : result.diagnostics) (void)ocspgate::conf::format(diagnostic);
    for (const auto& warning : result.warnings) (void)ocspgate::conf::format(warning);
    return 0;
}
