"""perf/compare --idle K --idle-processes P: K idle mTLS connections held by P ocspgate processes.

Why several processes: the open-file limit is per process, and where its hard limit cannot be
raised (no CAP_SYS_RESOURCE, e.g. 20 000 in an unprivileged container) one ocspgate holds at most
≈ limit / 2 connections (a client and a backend socket each). P processes, each with its own port
and its own `ocspgate-echo` backend (which has the same limit), split K evenly; one load
generator per process opens its share from its own 127.1.x.y source addresses. The figure is the
same as the single-process idle run's: (Σ server RSS with all K up − Σ RSS before) ÷ K, client and
backend sides together, after a warm-up round per process.

"All up" is read from the servers themselves: a connection that is up holds two descriptors in
its ocspgate (client + backend), so (descriptors now − descriptors after warm-up) ÷ 2 summed over
the processes reaches K. Everything listens on 127.0.0.1 and every wait is bounded.
"""
from __future__ import annotations

import json
import os
import subprocess
import time

import compare_modes


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Instance:
    """One ocspgate process with its own echo backend and port."""

    def __init__(self, base, ctx, index: int):
        self.port = base.free_port()
        self.backend_port = base.free_port()
        self.echo = base.Process(f"echo-{index}", [str(ctx.bin / "perf/ocspgate-echo"), str(self.backend_port)],
                                 ctx.work, base.CLIENT_CPU)
        config = compare_modes.gate_config(ctx, self.port, self.backend_port, ctx.responder_url)
        self.gate = compare_modes.start_gate(base, ctx, f"ocspgate-{index}", config, base.SERVER_CPU)

    def stop(self) -> None:
        self.gate.stop()
        self.echo.stop()


def wait_all_up(instances, fds_before, wanted: int, loads, timeout: float) -> int:
    """Waits until the servers hold `wanted` connections (or a load generator ended); returns how many."""
    deadline = time.monotonic() + timeout
    up = 0
    while time.monotonic() < deadline:
        up = sum((fd_count(i.gate.pid) - fds_before[n]) // 2 for n, i in enumerate(instances))
        if up >= wanted or any(p.poll() is not None for p in loads):
            return up
        time.sleep(1)
    return up


def run_idle_many(base, ctx) -> dict:
    a = ctx.args
    count, processes = a.idle, a.idle_processes
    share = [count // processes + (1 if n < count % processes else 0) for n in range(processes)]
    instances = []
    loads = []
    try:
        for n in range(processes):
            instances.append(Instance(base, ctx, n))
        for i in instances:
            base.wait_tcp(i.port)
            base.wait_tcp(i.backend_port)
            base.run_load(ctx, i.port, "1.3", 5, count=100)  # warm-up: caches, page faults, OCSP answers
        rss_before = [rss_kib(i.gate.pid) for i in instances]
        fds_before = [fd_count(i.gate.pid) for i in instances]
        started = time.monotonic()
        for n, i in enumerate(instances):
            # Every load generator binds the same 127.1.x.y sources: 64 of them × 28 000
            # ephemeral ports is far more than K.
            argv = compare_modes.load_argv(ctx, "idle", i.port, [
                *compare_modes.warm_certs(ctx), "--tls", "1.3", "--connections", share[n],
                "--sources", a.idle_sources, "--concurrency", 16,
                "--duration", a.idle_hold, "--open-timeout", a.idle_open_timeout], base.CLIENT_CPU)
            loads.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        up = wait_all_up(instances, fds_before, count, loads, a.idle_open_timeout)
        all_up_s = time.monotonic() - started
        rss_up = [rss_kib(i.gate.pid) for i in instances]
        base.log(f"idle x{processes}: {up} of {count} up after {all_up_s:.0f} s; server RSS "
                 f"{sum(rss_before)} -> {sum(rss_up)} KiB")
        reports = []
        for p in loads:
            out, err = p.communicate(timeout=a.idle_open_timeout + a.idle_hold + 60)
            try:
                reports.append(json.loads(out))
            except json.JSONDecodeError:
                raise RuntimeError(f"ocspgate-load idle failed: {err.strip()}")
        held = sum(r.get("held", 0) for r in reports)
        failed = sum(r.get("failed", 0) for r in reports)
        alive = all(i.gate.proc.poll() is None for i in instances)
        result = {"connections": count, "processes": processes, "up_seen_by_servers": up, "held": held,
                  "failed": failed, "all_up_s": round(all_up_s, 1), "servers_alive": alive,
                  "rss_before_kib": sum(rss_before), "rss_up_kib": sum(rss_up),
                  "kib_per_conn": (sum(rss_up) - sum(rss_before)) / up if up else 0,
                  "per_process": [{"connections": share[n], "rss_before_kib": rss_before[n], "rss_up_kib": rss_up[n]}
                                  for n in range(processes)]}
        print_idle_many(result)
        return result
    finally:
        for p in loads:
            if p.poll() is None:
                p.kill()
                p.wait()
        for i in instances:
            i.stop()


def print_idle_many(r: dict) -> None:
    print(f"\nIdle mTLS 1.3 connections held by {r['processes']} ocspgate processes "
          f"(one port, one echo backend and one load generator each)")
    print(f"  wanted {r['connections']}, up at once (servers' descriptors) {r['up_seen_by_servers']}, "
          f"held to the end of the hold (load generators) {r['held']}, failed {r['failed']}, "
          f"servers alive {r['servers_alive']}, all up after {r['all_up_s']} s")
    print(f"  server RSS {r['rss_before_kib']} -> {r['rss_up_kib']} KiB: "
          f"{r['kib_per_conn']:.1f} KiB per connection (client + backend side)")
