#include "ocsp/shared_cache/shared_cache.h"

#include <unistd.h>

#include <array>

namespace ocspgate::ocsp {
namespace {

std::string this_instance() {
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
    return std::string(host.data()) + ":" + std::to_string(getpid());
}

}  // namespace

SharedCache::SharedCache(SharedCacheSettings settings)
    : settings_(std::move(settings)), instance_id_(this_instance()), registry_(std::make_shared<Registry>()) {}

SharedCache::~SharedCache() {
    // Each connection lives on its loop: shut it there. A Mailbox still in the registry has
    // not run its close hook (which takes the lock first), so it is alive while we post.
    std::lock_guard lock(registry_->mutex);
    for (auto& [home, connection] : registry_->connections)
        home->post([c = connection] { c->shutdown(); });  // clang 14 cannot capture a structured binding
    registry_->connections.clear();
}

std::shared_ptr<RedisConnection> SharedCache::connection_for(Mailbox& home) {
    if (home.closed()) {
        // The loop is ending (a write-back after the worker's last close): a connection made
        // now would never be shut down and would keep the loop alive. One already shut answers
        // every command "not connected" and goes with the caller's reference.
        auto gone = std::make_shared<RedisConnection>(home.loop(), settings_);
        gone->shutdown();
        return gone;
    }
    std::lock_guard lock(registry_->mutex);
    auto& slot = registry_->connections[&home];
    if (!slot) {
        slot = std::make_shared<RedisConnection>(home.loop(), settings_);
        slot->start();
        // The worker's loop ends: close its connection there, so the loop can finish.
        home.add_close_hook([registry = registry_, home = &home, connection = slot] {
            connection->shutdown();
            std::lock_guard inner(registry->mutex);
            registry->connections.erase(home);
        });
    }
    return slot;
}

void SharedCache::get(Mailbox& home, const std::string& key, RedisConnection::GetCallback done) {
    connection_for(home)->get(key, std::move(done));
}

void SharedCache::set_if_absent(Mailbox& home, const std::string& key, const std::string& value,
                                std::chrono::milliseconds ttl, RedisConnection::GetCallback done) {
    connection_for(home)->set_if_absent(key, value, ttl, std::move(done));
}

void SharedCache::get_after(Mailbox& home, std::chrono::milliseconds delay, const std::string& key,
                            RedisConnection::GetCallback done) {
    connection_for(home)->get_after(delay, key, std::move(done));
}

bool SharedCache::set(Mailbox& home, const std::string& key, const std::string& value, std::chrono::seconds ttl,
                      RedisConnection::SetCallback stored) {
    return connection_for(home)->set(key, value, ttl, std::move(stored));
}

}  // namespace ocspgate::ocsp
