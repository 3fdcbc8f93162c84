// The shipped documentation and example configuration agree with the schema.
#include "conf/reference.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "conf/load.h"
#include "load_fixture.h"

namespace ocspgate::conf::testing {
namespace {

const std::filesystem::path source_dir = OCSPGATE_SOURCE_DIR;
constexpr std::string_view begin_marker = "<!-- BEGIN GENERATED REFERENCE -->\n";
constexpr std::string_view end_marker = "<!-- END GENERATED REFERENCE -->\n";

std::string read_text(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The README's generated part, or "" when the markers are missing.
std::string generated_part(const std::string& readme) {
    std::size_t begin = readme.find(begin_marker);
    std::size_t end = readme.find(end_marker);
    if (begin == std::string::npos || end == std::string::npos || end < begin) return "";
    begin += begin_marker.size();
    return readme.substr(begin, end - begin);
}

// With OCSPGATE_UPDATE_README=1 in the environment, rewrites the generated part of
// conf/README.md instead of failing (then review and commit the diff).
TEST(ConfReadme, ReferenceMatchesTheSchema) {
    std::filesystem::path readme_path = source_dir / "conf" / "README.md";
    std::string readme = read_text(readme_path);
    std::string expected = "\n" + reference_markdown() + "\n";
    std::string actual = generated_part(readme);
    if (actual != expected && std::getenv("OCSPGATE_UPDATE_README") != nullptr) {
        std::size_t begin = readme.find(begin_marker);
        std::size_t end = readme.find(end_marker);
        ASSERT_NE(begin, std::string::npos) << "add the markers to conf/README.md first";
        readme.replace(begin + begin_marker.size(), end - begin - begin_marker.size(), expected);
        std::ofstream(readme_path, std::ios::binary | std::ios::trunc) << readme;
        GTEST_SKIP() << "rewrote " << readme_path;
    }
    EXPECT_EQ(actual, expected)
        << "conf/README.md is out of date with the schema; rerun this test with "
           "OCSPGATE_UPDATE_README=1 to regenerate it";
}

// Belt and braces for the test above: a reader scanning the README finds every key.
TEST(ConfReadme, MentionsEveryKeyOfTheSchema) {
    std::string readme = read_text(source_dir / "conf" / "README.md");
    std::string reference = reference_markdown();
    std::size_t rows = 0;
    for (std::size_t at = reference.find("\n| `"); at != std::string::npos;
         at = reference.find("\n| `", at + 1)) {
        std::size_t end = reference.find('`', at + 4);
        std::string key = reference.substr(at + 3, end - at - 2);  // "`key`"
        EXPECT_NE(readme.find(key), std::string::npos) << key << " is not documented";
        ++rows;
    }
    EXPECT_GT(rows, 40u);
}

class ShippedConfig : public ::testing::Test {
protected:
    ShippedConfig() {
        dir_.write("ocspgate.toml", read_text(source_dir / "conf" / "ocspgate.toml"));
    }

    void write_pki() {
        Identity server = make_identity("demo server");
        Identity clients_ca = make_identity("clients CA");
        dir_.write("pki/server-chain.pem", certificate_pem(server.certificate.get()));
        dir_.write("pki/server.key", private_key_pem(server.key.get()));
        dir_.write("pki/clients-ca.pem", certificate_pem(clients_ca.certificate.get()));
    }

    TempDir dir_;
};

TEST_F(ShippedConfig, LoadsOnceItsPkiExists) {
    write_pki();
    LoadResult result = load_file(dir_.path() / "ocspgate.toml");
    ASSERT_TRUE(result.ok()) << format(result.diagnostics.at(0));
    const Config& config = *result.config;
    ASSERT_EQ(config.listeners.size(), 1u);
    const Listener& demo = config.listeners[0];
    EXPECT_EQ(demo.name, "demo");
    EXPECT_EQ(demo.protocol, Protocol::tcp);
    EXPECT_EQ(demo.listen.text, "127.0.0.1:5061");
    EXPECT_EQ(demo.backend.text, "127.0.0.1:5060");
    EXPECT_EQ(demo.tls.certificate, dir_.path() / "pki/server-chain.pem");
    EXPECT_EQ(demo.tls.verify_client, VerifyClient::required);
    EXPECT_EQ(demo.revocation, "corp");
    const RevocationProfile& corp = config.revocation.at("corp");
    EXPECT_EQ(corp.methods, std::vector{RevocationMethod::ocsp});
    EXPECT_EQ(corp.unknown, UnknownPolicy::revoked);
    EXPECT_EQ(corp.ocsp.responders, std::vector<std::string>{"http://127.0.0.1:8888"});
}

TEST_F(ShippedConfig, WithoutPkiOnlyTheThreeFilesAreMissing) {
    LoadResult result = load_file(dir_.path() / "ocspgate.toml");
    ASSERT_EQ(result.diagnostics.size(), 3u);
    for (const Diagnostic& diagnostic : result.diagnostics) {
        EXPECT_NE(diagnostic.message.find("No such file or directory"), std::string::npos)
            << format(diagnostic);
    }
}

}  // namespace
}  // namespace ocspgate::conf::testing
