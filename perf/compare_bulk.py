"""The bulk-forwarding run of perf/compare (`--bulk`; see perf/README.md).

perf/compare imports this module and passes itself as `base`, for its servers, process, port and
CPU-time helpers. Each server under test forwards `ocspgate-load bulk` traffic (K long mTLS
connections, each writing 16 KiB plaintext chunks as fast as it can while reading back what the
echo backend returns) to `ocspgate-echo`. Same placement as the handshake comparison: the server
on CPU 1; load generator, echo backend and responder on CPU 0.

All servers run at once (idle when not under load) and the runs are interleaved: round i runs
every connection count against every server before round i + 1 starts, so that a change in the
machine's other load hits all servers alike. Figures per run:

- MB/s each way as the load generator counts them (MB = 1e6 bytes of plaintext);
- server CPU µs per MB: utime+stime of the server process (/proc/PID/stat, all threads) over
  the run ÷ MB forwarded each way, taken as the mean of the MB the client sent and the MB that
  came back (the server decrypted at most the first and encrypted at least the second; with 4
  connections tens of MB can be in flight in socket buffers at the end of a run). Each MB
  crosses the server twice (client → backend: decrypt; backend → client: encrypt), as in
  `ocspgate-engine-probe bulk`;
- the same split into user and kernel time (utime, stime): the kernel's share (loopback TCP, four
  socket operations per MB forwarded) is much the same for every server, the user share is where
  they differ; and the server's peak RSS (VmHWM) after all runs, which shows whether it bounded
  what it buffered;
- the CPUs kept busy (CPU seconds ÷ wall seconds) by the server and by the client side (load
  generator from getrusage(RUSAGE_CHILDREN) + echo backend from /proc), which tells which side
  limited the MB/s: on two cores the client side (its own TLS for both directions plus the echo
  backend's copies, on one core) usually saturates first, and then server CPU µs per MB is the
  comparison that holds.
"""
from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

import compare_modes as modes

BULK_SERVERS = ("ocspgate", "ocspgate-norev", "ocspgate-baseline", "ocspgate-opensslrec", "haproxy", "stunnel", "nginx")


def negotiated(base, ctx, port: int, tls: str) -> str:
    """Protocol and cipher suite the server picks for an OpenSSL client offering the defaults (as
    ocspgate-load does), so that a different record cipher cannot pass for a faster server."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief",
                          "-tls1_3" if tls == "1.3" else "-tls1_2",
                          "-cert", str(ctx.pki / "client-extra-01.pem"), "-key", str(ctx.pki / "client-extra-01.key"),
                          "-CAfile", str(ctx.pki / "clients-ca.pem")],
                         input="", capture_output=True, text=True, timeout=10)
    fields = {}
    for line in out.stderr.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return f"{fields.get('Protocol version', '?')} {fields.get('Ciphersuite', '?')}"


def user_sys(base, pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / base.CLK_TCK, int(fields[12]) / base.CLK_TCK


def cpu_ticks() -> dict[str, list[int]]:
    """Per-CPU tick counters from /proc/stat: user nice system idle iowait irq softirq steal ..."""
    return {line.split()[0]: [int(x) for x in line.split()[1:]]
            for line in Path("/proc/stat").read_text().splitlines() if re_cpu(line)}


def re_cpu(line: str) -> bool:
    return line.startswith("cpu") and line[3:4].isdigit()


def busy(before: dict, after: dict, cpu: str) -> tuple[float, float]:
    """(fraction of the CPU busy with anything, of which softirq) between two cpu_ticks()."""
    d = [a - b for a, b in zip(after[cpu], before[cpu])]
    total = sum(d[:8]) or 1
    return (total - d[3] - d[4]) / total, d[6] / total


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


def one_run(base, ctx, name: str, server, port: int, tls: str, connections: int) -> dict:
    a = ctx.args
    argv = modes.load_argv(ctx, "bulk", port, [*modes.warm_certs(ctx), "--tls", tls, "--connections", connections,
                                               "--duration", a.duration], base.CLIENT_CPU)
    server_0, backend_0, load_0 = user_sys(base, server.pid), base.cpu_seconds(ctx.backend.pid), modes.children_cpu()
    ticks_0, t0 = cpu_ticks(), time.monotonic()
    result = modes.run_json(argv, a.duration + 30)
    wall = time.monotonic() - t0
    ticks_1 = cpu_ticks()
    cpu0_busy, cpu0_softirq = busy(ticks_0, ticks_1, "cpu" + base.CLIENT_CPU)
    cpu1_busy, cpu1_softirq = busy(ticks_0, ticks_1, "cpu" + base.SERVER_CPU)
    server_1 = user_sys(base, server.pid)
    user_s, sys_s = server_1[0] - server_0[0], server_1[1] - server_0[1]
    server_s = user_s + sys_s
    backend_s = base.cpu_seconds(ctx.backend.pid) - backend_0
    load_s = modes.children_cpu() - load_0
    seconds = result["seconds"]
    forwarded_mb = (result["sent_mb_per_s_total"] + result["received_mb_per_s_total"]) / 2 * seconds
    run = {"connections": result["connections"], "failed": result["failed"], "failures": result["failures"],
           "seconds": seconds, "sent_mb_s": result["sent_mb_per_s_total"],
           "received_mb_s": result["received_mb_per_s_total"], "forwarded_mb": forwarded_mb,
           "server_us_per_mb": server_s * 1e6 / forwarded_mb if forwarded_mb > 0 else float("nan"),
           "server_user_us_per_mb": user_s * 1e6 / forwarded_mb if forwarded_mb > 0 else float("nan"),
           "server_sys_us_per_mb": sys_s * 1e6 / forwarded_mb if forwarded_mb > 0 else float("nan"),
           "load_us_per_mb": load_s * 1e6 / forwarded_mb if forwarded_mb > 0 else float("nan"),
           "backend_us_per_mb": backend_s * 1e6 / forwarded_mb if forwarded_mb > 0 else float("nan"),
           "server_cpus": server_s / wall, "client_side_cpus": (load_s + backend_s) / wall,
           "load_cpus": load_s / wall, "backend_cpus": backend_s / wall,
           # Whole-CPU view from /proc/stat: busy − our processes ≈ other processes. Softirq ticks
           # (loopback TCP receive work) are charged to the task they interrupted as well as to
           # the CPU's softirq column, so most of the server CPU's softirq is inside its stime.
           "client_cpu_busy": cpu0_busy, "server_cpu_busy": cpu1_busy, "server_cpu_softirq": cpu1_softirq,
           "client_cpu_softirq": cpu0_softirq,
           "server_softirq_us_per_mb": cpu1_softirq * wall * 1e6 / forwarded_mb if forwarded_mb > 0 else float("nan")}
    base.log(f"bulk {name} K={connections} TLS {tls}: sent {run['sent_mb_s']:.0f} MB/s, received "
             f"{run['received_mb_s']:.0f} MB/s, server {run['server_us_per_mb']:.0f} µs/MB "
             f"({run['server_cpus']:.2f} CPUs; CPU {base.SERVER_CPU} busy {run['server_cpu_busy']:.2f}, softirq "
             f"{run['server_cpu_softirq']:.2f}), client side {run['client_side_cpus']:.2f} CPUs (CPU {base.CLIENT_CPU} "
             f"busy {run['client_cpu_busy']:.2f}), "
             f"{run['failed']} failed {run['failures'] or ''}")
    return run


def run_bulk(base, ctx) -> dict:
    a = ctx.args
    names = [s for s in a.servers.split(",") if s]
    skipped = [s for s in names if s not in BULK_SERVERS]
    if skipped:
        base.log(f"bulk: skipping {skipped} (bulk runs {', '.join(BULK_SERVERS)})")
    names = [s for s in names if s in BULK_SERVERS]
    counts = [int(x) for x in a.bulk_connections.split(",") if x]
    results: dict = {}
    for tls in a.bulk_tls.split(","):
        running = {}
        try:
            for name in names:
                start, variant, _ = base.SERVERS[name]
                port = base.free_port()
                running[name] = (start(ctx, port, variant), port)
            ciphers = {}
            for name, (server, port) in running.items():
                base.wait_tcp(port)
                base.run_load(ctx, port, tls, 5, count=100)  # warm-up: OCSP cache, page faults
                modes.run_json(modes.load_argv(ctx, "bulk", port, [*modes.warm_certs(ctx), "--tls", tls,
                                                                   "--connections", max(counts), "--duration", 1],
                                               base.CLIENT_CPU), 40)  # buffers, allocator arenas
                ciphers[name] = negotiated(base, ctx, port, tls)
            per = {k: {name: [] for name in running} for k in counts}
            for i in range(a.runs):
                for k in counts:
                    for name, (server, port) in running.items():
                        try:
                            per[k][name].append(dict(one_run(base, ctx, name, server, port, tls, k), round=i))
                        except Exception as exc:  # one server failing must not lose the others' figures
                            base.log(f"bulk {name} K={k} run {i + 1}: {exc}")
            peak = {name: peak_rss_kib(server.pid) for name, (server, _) in running.items()}
            results[tls] = {"ciphers": ciphers, "peak_rss_kib": peak, "runs": {str(k): v for k, v in per.items()}}
        finally:
            for server, _ in running.values():
                server.stop()
    print_bulk(results, a)
    return results


def med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def limit_of(runs: list[dict]) -> str:
    server, client = med(runs, "server_cpus"), med(runs, "client_side_cpus")
    if client >= 0.85 and server >= 0.85:
        return "both sides"
    if client >= 0.85:
        return "client side (CPU 0)"
    if server >= 0.85:
        return "server (CPU 1)"
    return "neither ≥ 0.85 CPU: other load"


def paired_ratio(runs: list[dict], base_runs: list[dict], key: str) -> float:
    """Median over rounds of this server's figure ÷ ocspgate's in the same round (the runs of one
    round are seconds apart, so the machine's other load cancels better than in a ratio of medians)."""
    base = {b["round"]: b[key] for b in base_runs if b["forwarded_mb"] > 0}
    pairs = [r[key] / base[r["round"]] for r in runs if r["forwarded_mb"] > 0 and base.get(r["round"])]
    return statistics.median(pairs) if pairs else float("nan")


def print_bulk(results: dict, a) -> None:
    for tls, got in results.items():
        for k, per_server in got["runs"].items():
            base_runs = per_server.get("ocspgate", [])
            print(f"\nBulk forwarding, TLS {tls}, {k} connection(s) through the echo backend, 16 KiB writes, "
                  f"{a.runs} runs × {a.duration:g} s interleaved, medians (server on CPU 1; load, echo on CPU 0)")
            header = (f"{'server':<17} {'sent MB/s':>9} {'recv MB/s':>9} {'MB/s ÷ ocspgate':>15} "
                      f"{'server µs/MB':>12} {'× ocspgate':>10} {'user':>5} {'sys':>5} {'softirq':>7} {'server CPUs':>11} "
                      f"{'client CPUs':>11} {'CPU1 busy':>9} {'CPU0 busy':>9} {'load µs/MB':>10} {'failed':>6}  limit; cipher")
            print(header)
            print("-" * len(header))
            for name, runs in per_server.items():
                runs = [r for r in runs if r["forwarded_mb"] > 0]
                if not runs:
                    print(f"{name:<17} no data came back: see the log lines above")
                    continue
                us, mb = med(runs, "server_us_per_mb"), med(runs, "received_mb_s")
                print(f"{name:<17} {med(runs, 'sent_mb_s'):>9.0f} {mb:>9.0f} "
                      f"{paired_ratio(runs, base_runs, 'received_mb_s'):>15.2f} {us:>12.0f} "
                      f"{paired_ratio(runs, base_runs, 'server_us_per_mb'):>10.2f} {med(runs, 'server_user_us_per_mb'):>5.0f} "
                      f"{med(runs, 'server_sys_us_per_mb'):>5.0f} {med(runs, 'server_softirq_us_per_mb'):>7.0f} "
                      f"{med(runs, 'server_cpus'):>11.2f} "
                      f"{med(runs, 'client_side_cpus'):>11.2f} {med(runs, 'server_cpu_busy'):>9.2f} "
                      f"{med(runs, 'client_cpu_busy'):>9.2f} {med(runs, 'load_us_per_mb'):>10.0f} "
                      f"{sum(r['failed'] for r in runs):>6}  {limit_of(runs)}; {got['ciphers'].get(name, '?')}")
    for tls, got in results.items():
        print(f"\nTLS {tls}: peak RSS (VmHWM) of each server after all its runs: "
              + ", ".join(f"{n} {kib / 1024:.1f} MiB" for n, kib in got["peak_rss_kib"].items()))
    print("\nRatios to ocspgate: the median over the rounds of the ratio within each round.")
    print("MB = 1e6 bytes of plaintext. server µs/MB = server CPU ÷ MB forwarded each way (mean of sent and "
          "received; each MB crossed the server both ways), split into user and sys (kernel); softirq: CPU 1's softirq time per MB (loopback TCP "
          "receive work; mostly already inside sys, as the kernel also charges it to the task it interrupted). client CPUs = load "
          "generator + echo backend, both on CPU 0. Where the client side is at ≈ 1 CPU it limits MB/s, and server µs/MB is the fair comparison. CPUn busy: the whole CPU from /proc/stat "
          "(anything, including other processes and softirq); busy well above our processes' CPUs = other load.")
