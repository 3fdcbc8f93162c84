#include "proxy/process/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "conf/config.h"
#include "proxy/log/log.h"

namespace ocspgate::proxy::process {
namespace {

struct Target {
    uid_t uid = 0;
    gid_t gid = 0;
};

Error failure(const std::string& what) {
    return make_error(Errc::config, "cannot drop privileges: " + what + ": " + std::strerror(errno));
}

// Start-up only (before the workers run), so the non-reentrant lookups are safe here.
Result<Target> resolve(const std::string& user_name, const std::string& group_name) {
    Target target{getuid(), getgid()};
    if (!user_name.empty()) {
        const passwd* entry = getpwnam(user_name.c_str());
        if (entry == nullptr) return make_error(Errc::config, "cannot drop privileges: no user named \"" + user_name + "\"");
        target.uid = entry->pw_uid;
        target.gid = entry->pw_gid;
    }
    if (!group_name.empty()) {
        const struct group* entry = getgrnam(group_name.c_str());
        if (entry == nullptr) return make_error(Errc::config, "cannot drop privileges: no group named \"" + group_name + "\"");
        target.gid = entry->gr_gid;
    }
    return target;
}

// Whether the supplementary groups are at most `gid` (what setgroups(1, &gid) leaves).
bool only_group(gid_t gid) {
    gid_t groups[64];
    int n = getgroups(64, groups);
    if (n < 0) return false;
    for (int i = 0; i < n; ++i)
        if (groups[i] != gid) return false;
    return true;
}

}  // namespace

Result<Ok> drop_privileges(const std::string& user, const std::string& group) {
    if (user.empty() && group.empty()) return Ok{};
    auto target = resolve(user, group);
    if (!target) return std::move(target).error();
    const auto [uid, gid] = *target;

    // Already there: the new process of a binary upgrade (upgrade.h) is started by the old
    // one after its drop, and may no longer call setgroups().
    if (geteuid() != 0 && getuid() == uid && getgid() == gid && getegid() == gid &&
        (user.empty() || geteuid() == uid) && only_group(gid)) {
        log::Record("privileges_dropped").field("user", user.empty() ? std::string("(unchanged)") : user)
            .field("uid", static_cast<std::uint64_t>(getuid())).field("gid", static_cast<std::uint64_t>(getgid()))
            .field("text", "already running as these ids").emit(conf::LogLevel::info);
        return Ok{};
    }
    // Groups first: once the uid is gone, changing them is no longer allowed.
    if (setgroups(1, &gid) != 0) return failure("setgroups(" + std::to_string(gid) + ")");
    if (setgid(gid) != 0) return failure("setgid(" + std::to_string(gid) + ")");
    if (!user.empty() && setuid(uid) != 0) return failure("setuid(" + std::to_string(uid) + ")");

    // Trust but verify: every id switched, and (for a non-root target) root is gone for good.
    if (getgid() != gid || getegid() != gid) return failure("the group id did not change");
    if (!user.empty() && (getuid() != uid || geteuid() != uid)) return failure("the user id did not change");
    if (!user.empty() && uid != 0 && setuid(0) == 0) {
        errno = EPERM;
        return failure("root could be regained after setuid(" + std::to_string(uid) + ")");
    }
    log::Record("privileges_dropped")
        .field("user", user.empty() ? std::string("(unchanged)") : user)
        .field("uid", static_cast<std::uint64_t>(getuid()))
        .field("gid", static_cast<std::uint64_t>(getgid()))
        .emit(conf::LogLevel::info);
    return Ok{};
}

}  // namespace ocspgate::proxy::process
