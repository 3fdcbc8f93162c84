// What a reload changed, as the reload_listener / reload_profile lines name it (#26 point 7).
// Runtimes are built by hand: only the listener settings and the checkers' names matter here.
#include "proxy/process/reload_changes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ocspgate::proxy::process {
namespace {

class FakeChecker final : public ocsp::Checker {
public:
    explicit FakeChecker(bool kept) : kept_(kept) {}
    std::optional<ocsp::Decision> decide_cached(STACK_OF(X509) *) override { return std::nullopt; }
    std::unique_ptr<ocsp::CheckHandle> check(ocsp::Mailbox&, STACK_OF(X509) *, ocsp::Deadline, Callback) override {
        return nullptr;
    }
    void refresh_local_files() override {}
    bool kept_cache() const override { return kept_; }

private:
    bool kept_;
};

ListenerSettings& add_listener(Runtime& runtime, const std::string& name, const std::string& address) {
    auto settings = std::make_shared<ListenerSettings>(std::make_shared<ListenerCounters>());
    settings->conf.name = name;
    settings->conf.listen.text = address;
    runtime.listeners.push_back(settings);
    return *settings;
}

void add_profile(Runtime& runtime, const std::string& name, bool kept, std::chrono::milliseconds timeout) {
    runtime.checkers[name] = std::make_shared<FakeChecker>(kept);
    runtime.config.revocation[name].ocsp.timeout = timeout;
}

std::string describe(const ReloadChange& c) {
    return c.what + " " + c.name + " " + c.change + " " + c.address + " " + c.settings + " " + c.cache;
}

TEST(ReloadChanges, NamesListenersAddedRemovedChangedAndEveryProfilesCache) {
    Runtime running, next;
    add_listener(running, "same", "127.0.0.1:1");
    add_listener(running, "moved", "127.0.0.1:2");
    add_listener(running, "gone", "127.0.0.1:3");
    add_listener(next, "same", "127.0.0.1:1");
    add_listener(next, "moved", "127.0.0.1:22").conf.connect_timeout = std::chrono::seconds(9);
    add_listener(next, "new", "127.0.0.1:4");
    add_profile(running, "kept", false, std::chrono::seconds(1));
    add_profile(running, "retimed", false, std::chrono::seconds(1));
    add_profile(running, "old", false, std::chrono::seconds(1));
    add_profile(next, "kept", true, std::chrono::seconds(1));
    add_profile(next, "retimed", false, std::chrono::seconds(2));
    add_profile(next, "fresh", false, std::chrono::seconds(1));

    std::vector<std::string> described;
    for (const ReloadChange& c : reload_changes(running, next)) described.push_back(describe(c));
    EXPECT_EQ(described, (std::vector<std::string>{
                             "listener moved changed 127.0.0.1:22 listen,connect_timeout ",
                             "listener new added 127.0.0.1:4  ",
                             "listener gone removed 127.0.0.1:3  ",
                             "profile fresh added   new",
                             "profile kept unchanged   kept",
                             "profile retimed changed   dropped",
                             "profile old removed   gone",
                         }));
}

}  // namespace
}  // namespace ocspgate::proxy::process
