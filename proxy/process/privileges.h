// Dropping root after start-up: [server] user / group. ocspgate binds its listeners (ports
// below 1024 included) and reads its keys as whoever started it, then switches to an
// unprivileged account before any worker serves a byte, so a compromise of the traffic path
// does not hand out root.
#pragma once

#include <string>

#include "base/result.h"

namespace ocspgate::proxy::process {

// Switches the whole process (every thread: glibc applies set*id to all of them) to `user` and
// `group`: setgroups() to the one group, setgid(), setuid(), in that order. An empty `group`
// means the user's primary group; an empty `user` changes the groups only. Both empty: nothing
// happens. Afterwards it checks that the ids took effect and that root cannot be regained;
// any failure is an Errc::config error and the caller must not go on. A process already
// running as exactly these ids (not root; the new process of a binary upgrade) is left as it is.
Result<Ok> drop_privileges(const std::string& user, const std::string& group);

}  // namespace ocspgate::proxy::process
