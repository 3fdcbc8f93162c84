// Work that may take the CPU only when nothing else wants it: a large CRL's parsing and freeing
// (0.5 s of CPU each for 500 000 entries) when no handshake waits for it.
#pragma once

#include <functional>

namespace ocspgate::ocsp {

// Runs `work` on the process's one low-priority thread ("ocspgate-crl", SCHED_IDLE, else nice
// 19) and waits for it; called from libuv's thread pool. Where the pool shares a core with an
// event loop (a server pinned to one CPU), the loop would otherwise get half of that core
// meanwhile; this way it keeps nearly all of it. A thread of its own because its priority
// cannot be raised again without privileges, and the pool serves other work too; one
// long-lived thread rather than one per job, so that a CRL is parsed into, and freed back to,
// the same malloc arena: the memory of the CRL a swap frees is what the next parse reuses,
// instead of a fresh arena's each time (perf/RESULTS.md: RSS after five swaps).
// Without a thread to be had, `work` runs here, at the caller's priority.
void run_at_low_priority(const std::function<void()>& work);

// Hands `work` to that thread and returns at once, for work nobody waits for (freeing a
// replaced CRL): no thread of libuv's pool is held meanwhile. Jobs run in the order given.
// False, and `work` not taken, when there is no thread to be had.
bool post_at_low_priority(std::function<void()> work);

}  // namespace ocspgate::ocsp
