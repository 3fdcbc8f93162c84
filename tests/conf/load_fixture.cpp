#include "load_fixture.h"

namespace ocspgate::conf::testing {

void expect_diagnostics(const LoadResult& result, const std::vector<Expected>& expected) {
    std::string actual;
    for (const Diagnostic& diagnostic : result.diagnostics) actual += format(diagnostic) + "\n";
    SCOPED_TRACE("diagnostics:\n" + actual);
    EXPECT_FALSE(result.ok());
    ASSERT_EQ(result.diagnostics.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const Diagnostic& diagnostic = result.diagnostics[i];
        EXPECT_EQ(diagnostic.line, expected[i].line) << "diagnostic " << i;
        EXPECT_EQ(diagnostic.column, expected[i].column) << "diagnostic " << i;
        EXPECT_NE(diagnostic.message.find(expected[i].message_part), std::string::npos)
            << "diagnostic " << i << " lacks: " << expected[i].message_part;
    }
}

LoadTest::LoadTest() {
    dir_.write("server.pem", certificate_pem(server_.certificate.get()));
    dir_.write("server.key", private_key_pem(server_.key.get()));
    dir_.write("ca.pem", certificate_pem(ca_.certificate.get()));
    dir_.write("other.pem", certificate_pem(other_.certificate.get()));
    dir_.write("other.key", private_key_pem(other_.key.get()));
}

LoadResult LoadTest::load(std::string_view toml_text) const {
    return load_string(toml_text, dir_.path() / "ocspgate.toml");
}

LoadResult LoadTest::load_with_listener(std::string_view more_toml) const {
    return load(std::string(minimal_listener) + std::string(more_toml));
}

}  // namespace ocspgate::conf::testing
