"""The SIP, cold-cache and multi-worker runs of perf/compare (see perf/README.md).

perf/compare imports this module and passes itself as `base`, for its process, port and CPU-time
helpers; everything here is bounded in time and listens on 127.0.0.1 only. Each function returns
its runs (for --json) after printing one table of medians with ratios measured in the same run.
"""
from __future__ import annotations

import copy
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path


# ---- helpers -------------------------------------------------------------------------------

def gate_config(ctx, port: int, backend: int, responder: str | None, *, workers: int = 1, protocol: str = "tcp",
                admin_port: int | None = None, log_level: str = "warn") -> str:
    """An ocspgate configuration with one listener, like perf/compare's, plus what these runs vary."""
    text = f"""[server]
workers = {workers}
log_level = "{log_level}"
"""
    if admin_port:
        text += f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n'
    text += f"""
[[listener]]
name = "perf"
protocol = "{protocol}"
listen = "127.0.0.1:{port}"
backend = "127.0.0.1:{backend}"
{'revocation = "r"' if responder else ''}

[listener.tls]
certificate = "{ctx.pki}/server-chain.pem"
private_key = "{ctx.pki}/server.key"
client_ca = "{ctx.pki}/clients-ca.pem"
"""
    if responder:
        text += f'\n[revocation.r.ocsp]\nresponders = ["{responder}"]\nuse_aia = false\n'
    return text


def start_gate(base, ctx, name: str, config: str, cpu: str):
    path = ctx.work / f"{name}.toml"
    path.write_text(config)
    return base.Process(name, [str(ctx.bin / "proxy/ocspgate"), "--config", str(path)], ctx.work, cpu)


def load_argv(ctx, mode: str, port: int, extra: list, cpu: str) -> list[str]:
    return ["taskset", "-c", cpu, str(ctx.bin / "perf/ocspgate-load"), mode, "--port", str(port),
            *[str(x) for x in extra], "--json"]


def server_check(ctx) -> list[str]:
    """The load generator verifies the server's chain only with --client-verify: that work is the
    client's, the same for every server, and on two cores the load generator saturates first."""
    return ["--ca", str(ctx.pki / "clients-ca.pem")] if ctx.args.client_verify else []


def warm_certs(ctx) -> list[str]:
    return ["--certs", str(ctx.pki / "client-extra-*-chain.pem"), *server_check(ctx)]


def run_json(argv: list[str], timeout: float) -> dict:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"{' '.join(argv[3:5])} failed: {out.stderr.strip()}")


def children_cpu() -> float:
    """utime+stime of this process's waited-for children (the load generators run with subprocess.run)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def metrics(admin_port: int) -> dict[str, float]:
    """ocspgate's /metrics as {'name{labels}': value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            values[key] = float(value)
    return values


def revocation_counter(m: dict[str, float], name: str) -> float:
    return m.get(f'ocspgate_revocation_{name}_total{{profile="r"}}', 0.0)


def wait_responder_url(ctx, url: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    q = None
    while time.monotonic() < deadline:
        q = subprocess.run(["openssl", "ocsp", "-issuer", str(ctx.pki / "issuing-ca.pem"), "-cert",
                            str(ctx.pki / "client-extra-01.pem"), "-url", url, "-noverify"],
                           capture_output=True, text=True, timeout=5)
        if ": good" in q.stdout:
            return
        time.sleep(0.1)
    raise RuntimeError(f"OCSP responder at {url} not ready: {q.stdout.strip() if q else ''} {q.stderr.strip() if q else ''}")


def start_responder(base, ctx, name: str, port: int, extra: list[str]):
    """The real `openssl ocsp` over both CA levels and the minted pool (perf/compare's both-index)."""
    argv = ["openssl", "ocsp", "-index", str(ctx.work / "both-index.txt"), "-port", str(port), "-CA",
            str(ctx.work / "both-ca.pem"), "-rsigner", str(ctx.pki / "issuing-ca.pem"), "-rkey",
            str(ctx.pki / "issuing-ca.key"), "-nmin", "5", "-ignore_err", *extra]
    return ResponderProcess(base, name, argv, ctx.work, base.CLIENT_CPU)


class ResponderProcess:
    """Like base.Process, but in its own process group rather than its own session: `openssl
    ocsp -multi N` calls setpgid(0, 0), which fails for a session leader, and then exits (saying
    why only to syslog). Its parent does not pass SIGTERM on to the N children, so stop() signals
    the whole group."""

    def __init__(self, base, name: str, argv: list[str], workdir: Path, cpu: str):
        self.name = name
        self._log = open(workdir / f"{name}.log", "wb")
        self.proc = subprocess.Popen(["taskset", "-c", cpu, *argv], stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=workdir, process_group=0)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                continue
            if sig == signal.SIGTERM:
                time.sleep(0.2)  # children may outlive the parent by a moment: the SIGKILL pass catches them
        self._log.close()


def med(runs: list[dict], key: str) -> float:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def lat(result: dict, key: str, p: str) -> float:
    return result.get(key, {}).get(p, float("nan"))


# ---- SIP: transactions per second through a protocol = "sip" listener ----------------------

def run_sip(base, ctx) -> dict:
    """SIP REGISTER/OPTIONS over long-lived mTLS connections through ocspgate, and the same load
    in plain TCP straight to the backend (`ocspgate-echo --sip`, a 200 OK per request)."""
    a = ctx.args
    backend_port = base.free_port()
    backend = base.Process("echo-sip", [str(ctx.bin / "perf/ocspgate-echo"), "--sip", str(backend_port)],
                           ctx.work, base.CLIENT_CPU)
    results = {}
    try:
        base.wait_tcp(backend_port)
        targets = {"ocspgate": "sip", "direct": None}
        for name, protocol in targets.items():
            server, port, extra = None, backend_port, ["--plain"]
            if protocol:
                port = base.free_port()
                server = start_gate(base, ctx, "ocspgate-sip",
                                    gate_config(ctx, port, backend_port, ctx.responder_url, protocol=protocol),
                                    base.SERVER_CPU)
                extra = warm_certs(ctx)
            runs = []
            try:
                base.wait_tcp(port)
                common = [*extra, "--connections", a.sip_connections, "--method", "mixed"]
                run_json(load_argv(ctx, "sip", port, [*common, "--duration", 1], base.CLIENT_CPU), 60)  # warm-up
                for i in range(a.runs):
                    watched = {"backend": backend.pid, **({"server": server.pid} if server else {})}
                    before = {k: base.cpu_seconds(p) for k, p in watched.items()}
                    load0 = children_cpu()
                    r = run_json(load_argv(ctx, "sip", port, [*common, "--duration", a.duration], base.CLIENT_CPU),
                                 a.duration + 120)
                    after = {k: base.cpu_seconds(p) for k, p in watched.items()}
                    after["load"], before["load"] = children_cpu(), load0  # includes the unmeasured set-up
                    n = max(r["transactions"], 1)
                    run = {"transactions_per_s": r["transactions_per_s"], "transactions": r["transactions"],
                           "failed": r["failed"], "failures": r["failures"],
                           "p50_ms": lat(r, "transaction_latency", "p50_ms"),
                           "p90_ms": lat(r, "transaction_latency", "p90_ms"),
                           "p99_ms": lat(r, "transaction_latency", "p99_ms"),
                           "max_ms": lat(r, "transaction_latency", "max_ms")}
                    for k in after:
                        run[f"{k}_us_per_txn"] = (after[k] - before[k]) * 1e6 / n
                    if server:
                        run["server_cpus_busy"] = (after["server"] - before["server"]) / r["seconds"]
                    runs.append(run)
                    base.log(f"sip {name} run {i + 1}: {run['transactions_per_s']:.0f} txn/s, p99 "
                             f"{run['p99_ms']:.2f} ms, {run['failed']} failed {run['failures'] or ''}")
            finally:
                if server:
                    server.stop()
            results[name] = runs
    finally:
        backend.stop()
    print_sip(results, a)
    return results


def print_sip(results: dict, a) -> None:
    direct = results.get("direct") or []
    base_tps = med(direct, "transactions_per_s") if direct else None
    print(f"\nSIP over {a.sip_connections} long-lived connections, one transaction at a time each (REGISTER and "
          f"OPTIONS alternating, 200 OK from ocspgate-echo --sip), {a.runs} runs × {a.duration:g} s, medians")
    header = (f"{'path':<10} {'txn/s':>8} {'× direct':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} "
              f"{'server µs/txn':>13} {'server CPUs':>11} {'backend µs/txn':>14} {'load µs/txn':>11} {'failed':>6}")
    print(header)
    print("-" * len(header))
    for name, runs in results.items():
        if not runs:
            print(f"{name:<10} no run completed: see the log lines above")
            continue
        tps = med(runs, "transactions_per_s")
        ratio = f"{tps / base_tps:.2f}" if base_tps else "-"
        server = med(runs, "server_us_per_txn") if "server_us_per_txn" in runs[0] else float("nan")
        print(f"{name:<10} {tps:>8.0f} {ratio:>8} {med(runs, 'p50_ms'):>7.2f} {med(runs, 'p90_ms'):>7.2f} "
              f"{med(runs, 'p99_ms'):>7.2f} {med(runs, 'max_ms'):>7.1f} {server:>13.1f} "
              f"{med(runs, 'server_cpus_busy'):>11.2f} {med(runs, 'backend_us_per_txn'):>14.1f} "
              f"{med(runs, 'load_us_per_txn'):>11.1f} {sum(r['failed'] for r in runs):>6}")
    print("ocspgate: TLS 1.3 mTLS (warm revocation cache), SIP framing + identity headers; direct: plain TCP to "
          "the backend. Load generator and backend on CPU 0, ocspgate on CPU 1.")


# ---- cold cache: every handshake a new certificate, a 20 ms responder ----------------------

def mint_pool(base, ctx) -> None:
    """Signs --cold-pool client certificates and marks them valid in the responder's index.
    Called before the responders start (openssl ocsp reads the index at start)."""
    out = ctx.work / "minted"
    out.mkdir()
    started = time.monotonic()
    subprocess.run(["taskset", "-c", base.CLIENT_CPU, str(ctx.bin / "perf/ocspgate-load"), "mint", "--ca",
                    str(ctx.pki / "issuing-ca.pem"), "--ca-key", str(ctx.pki / "issuing-ca.key"), "--count",
                    str(ctx.args.cold_pool), "--out", str(out)], check=True, capture_output=True, timeout=600)
    with open(ctx.work / "both-index.txt", "a") as index:
        index.write((out / "minted-index.txt").read_text())
    ctx.minted = out
    base.log(f"minted {ctx.args.cold_pool} client certificates in {time.monotonic() - started:.1f} s")


def run_cold(base, ctx) -> dict:
    a = ctx.args
    responder_port, delay_port = base.free_port(), base.free_port()
    extra = ["-multi", str(a.cold_responders)] + (["-resp_no_certs"] if a.cold_no_certs else [])
    responder = start_responder(base, ctx, "responder-cold", responder_port, extra)
    delay = base.Process("delay", [str(ctx.bin / "perf/ocspgate-delay"), str(delay_port), str(responder_port),
                                   str(a.cold_delay_ms)], ctx.work, base.CLIENT_CPU)
    url = f"http://127.0.0.1:{delay_port}"
    results = {}
    try:
        wait_responder_url(ctx, url)
        for c in cold_concurrencies(a):
            for key in ("ocspgate-cold", "ocspgate-warm", "cache-hit probe", "stunnel-cold"):
                results[f"{key} c={c}"] = []
            for i in range(a.runs):
                cold_ocspgate(base, ctx, url, results, i, c)
                if "stunnel" in a.cold_servers:
                    cold_stunnel(base, ctx, url, results, i, c)
    finally:
        delay.stop()
        responder.stop()
    print_cold(results, a)
    return results


# Cache-hit probe connections started per second beside the cold load: enough to see a stall
# (a blocked loop would add the pending lookups' 20 ms to every one), few enough that their
# CPU is a small correction to the cold run's.
PROBE_RATE = 25


def cold_concurrencies(a) -> list[int]:
    return [int(c) for c in str(a.cold_concurrency).split(",") if c]


def cold_argv(ctx, concurrency: int) -> list:
    a = ctx.args
    return ["--minted", ctx.minted, *server_check(ctx), "--concurrency", concurrency,
            "--count", a.cold_pool, "--duration", a.duration]


def summarise(r: dict, cpu_s: float | None) -> dict:
    done = max(r["completed"], 1)
    return {"handshakes_per_s": r["handshakes_per_s"], "completed": r["completed"], "failed": r["failed"],
            "failures": r["failures"], "p50_ms": lat(r, "connection_latency", "p50_ms"),
            "p99_ms": lat(r, "connection_latency", "p99_ms"), "max_ms": lat(r, "connection_latency", "max_ms"),
            "server_us_per_conn": cpu_s * 1e6 / done if cpu_s is not None else None}


def cold_ocspgate(base, ctx, url: str, results: dict, i: int, c: int) -> None:
    """A fresh ocspgate (empty cache): warm the 20 probe certificates, then the cold load with the
    probe alongside, then a warm-cache load on the same process for the ratio."""
    a = ctx.args
    port, admin = base.free_port(), base.free_port()
    server = start_gate(base, ctx, "ocspgate-cold", gate_config(ctx, port, ctx.backend_port, url, admin_port=admin),
                        base.SERVER_CPU)
    try:
        base.wait_tcp(port)
        run_json(load_argv(ctx, "handshake", port, [*warm_certs(ctx), "--count", 100, "--concurrency", 4],
                           base.CLIENT_CPU), 60)
        m0, cpu0, wall0 = metrics(admin), base.cpu_seconds(server.pid), time.monotonic()
        # A light probe (--rate): its handshakes' CPU is charged to the cold run below.
        probe = subprocess.Popen(load_argv(ctx, "handshake", port, [*warm_certs(ctx), "--concurrency", 2, "--rate",
                                                                    PROBE_RATE, "--duration", a.duration],
                                           base.CLIENT_CPU),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cold = run_json(load_argv(ctx, "handshake", port, cold_argv(ctx, c), base.CLIENT_CPU), a.duration + 120)
        cpu1, m1, wall1 = base.cpu_seconds(server.pid), metrics(admin), time.monotonic()
        probe_out, probe_err = probe.communicate(timeout=a.duration + 60)
        run = summarise(cold, cpu1 - cpu0)
        probe_completed = 0
        run["server_cpus_busy"] = (cpu1 - cpu0) / (wall1 - wall0)
        queries = revocation_counter(m1, "responder_queries") - revocation_counter(m0, "responder_queries")
        run["responder_queries"] = queries
        run["queries_per_handshake"] = queries / max(cold["completed"], 1)
        results[f"ocspgate-cold c={c}"].append(run)
        try:
            probe_run = json.loads(probe_out)
            probe_completed = probe_run["completed"]
            results[f"cache-hit probe c={c}"].append(summarise(probe_run, None))
        except json.JSONDecodeError:
            base.log(f"cold probe failed: {probe_err.strip()}")
        cpu2, wall2 = base.cpu_seconds(server.pid), time.monotonic()
        warm = run_json(load_argv(ctx, "handshake", port, [*warm_certs(ctx), "--concurrency", c,
                                                           "--duration", a.duration], base.CLIENT_CPU), a.duration + 120)
        warm_run = summarise(warm, base.cpu_seconds(server.pid) - cpu2)
        warm_run["server_cpus_busy"] = (base.cpu_seconds(server.pid) - cpu2) / (time.monotonic() - wall2)
        results[f"ocspgate-warm c={c}"].append(warm_run)
        # The server CPU of the cold run, less the probe's handshakes at the warm cost.
        probe_cpu_s = probe_completed * warm_run["server_us_per_conn"] / 1e6
        run["server_us_per_conn"] = (cpu1 - cpu0 - probe_cpu_s) * 1e6 / max(cold["completed"], 1)
        base.log(f"cold c={c} run {i + 1}: ocspgate cold {run['handshakes_per_s']:.0f} hs/s p99 {run['p99_ms']:.0f} ms, "
                 f"{queries:.0f} queries for {cold['completed']} handshakes, {cold['failed']} failed "
                 f"{cold['failures'] or ''}; warm {warm['handshakes_per_s']:.0f} hs/s")
    finally:
        server.stop()


def cold_stunnel(base, ctx, url: str, results: dict, i: int, c: int) -> None:
    a = ctx.args
    port = base.free_port()
    slow = copy.copy(ctx)
    slow.slow_responder_url = url  # start_stunnel's "slow" variant asks this responder
    server = base.start_stunnel(slow, port, "slow")
    try:
        base.wait_tcp(port)
        cpu0, wall0 = base.cpu_seconds(server.pid), time.monotonic()
        cold = run_json(load_argv(ctx, "handshake", port, cold_argv(ctx, c), base.CLIENT_CPU), a.duration + 300)
        run = summarise(cold, base.cpu_seconds(server.pid) - cpu0)
        run["server_cpus_busy"] = (base.cpu_seconds(server.pid) - cpu0) / (time.monotonic() - wall0)
        results[f"stunnel-cold c={c}"].append(run)
        base.log(f"cold c={c} run {i + 1}: stunnel {run['handshakes_per_s']:.0f} hs/s p99 {run['p99_ms']:.0f} ms, "
                 f"{cold['failed']} failed {cold['failures'] or ''}")
    finally:
        server.stop()


def print_cold(results: dict, a) -> None:
    p99_target = a.cold_delay_ms + 10
    print(f"\nCold cache: every handshake a new client certificate (pool of {a.cold_pool}), responder `openssl ocsp "
          f"-multi {a.cold_responders}{' -resp_no_certs' if a.cold_no_certs else ''}` answering after "
          f"{a.cold_delay_ms} ms (ocspgate-delay); c = concurrent "
          f"handshakes; {a.runs} runs × {a.duration:g} s, medians; target = 0.9 × c / {a.cold_delay_ms} ms")
    header = (f"{'run':<22} {'hs/s':>7} {'× target':>8} {'× warm':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
              f"{'server µs/conn':>14} {'server CPUs':>11} {'queries/hs':>10} {'failed':>6}")
    print(header)
    print("-" * len(header))
    for c in cold_concurrencies(a):
        target = 0.9 * c / (a.cold_delay_ms / 1000)
        warm = results.get(f"ocspgate-warm c={c}") or []
        warm_tps = med(warm, "handshakes_per_s") if warm else None
        for name, runs in results.items():
            if not runs or not name.endswith(f" c={c}"):
                continue
            tps = med(runs, "handshakes_per_s")
            is_load = not name.startswith("cache-hit probe")
            print(f"{name:<22} {tps:>7.0f} {tps / target if is_load else float('nan'):>8.3f} "
                  f"{tps / warm_tps if warm_tps and is_load else float('nan'):>7.2f} {med(runs, 'p50_ms'):>7.1f} "
                  f"{med(runs, 'p99_ms'):>7.1f} {med(runs, 'max_ms'):>7.1f} {med(runs, 'server_us_per_conn'):>14.0f} "
                  f"{med(runs, 'server_cpus_busy'):>11.2f} {med(runs, 'queries_per_handshake'):>10.2f} "
                  f"{sum(r['failed'] for r in runs):>6}")
    print(f"Targets: throughput ≥ 0.9 × c/({a.cold_delay_ms} ms), p99 ≤ {p99_target} ms. × warm = cold throughput ÷ "
          f"ocspgate's warm-cache throughput at the same c on the same process (20 cached certificates), measured "
          f"right after the cold load. The cache-hit probe (2 connections, 20 cached certificates, at most "
          f"{PROBE_RATE} handshakes/s) runs alongside the cold load: its latency shows whether the loop stalls while "
          f"lookups are pending. ocspgate-cold server µs/conn: the server's CPU during the cold run, less the probe's "
          f"handshakes at the warm µs/conn, ÷ cold handshakes. server CPUs: over the whole window, including the "
          f"load generator's start (reading the minted pool), so below the CPU used while handshakes ran.")


# ---- several workers ----------------------------------------------------------------------

def run_workers(base, ctx) -> dict:
    """workers = 1 and 2 with the server allowed on both CPUs and the load generator competing
    for them; then the coalescing check across loops."""
    a = ctx.args
    both = f"{base.CLIENT_CPU},{base.SERVER_CPU}"
    results = {}
    for workers in (1, 2):
        port = base.free_port()
        server = start_gate(base, ctx, f"ocspgate-w{workers}",
                            gate_config(ctx, port, ctx.backend_port, ctx.responder_url, workers=workers), both)
        runs = []
        try:
            base.wait_tcp(port)
            argv = load_argv(ctx, "handshake", port, [*warm_certs(ctx), "--concurrency", a.concurrency * 2,
                                                      "--duration", a.duration], both)
            run_json(load_argv(ctx, "handshake", port, [*warm_certs(ctx), "--count", 200], both), 60)
            for i in range(a.runs):
                s0, c0, t0 = base.cpu_seconds(server.pid), children_cpu(), time.monotonic()
                r = run_json(argv, a.duration + 120)
                s1, c1, wall = base.cpu_seconds(server.pid), children_cpu(), time.monotonic() - t0
                run = summarise(r, s1 - s0)
                run["load_us_per_conn"] = (c1 - c0) * 1e6 / max(r["completed"], 1)
                run["server_cpus_busy"] = (s1 - s0) / wall
                run["load_cpus_busy"] = (c1 - c0) / wall
                runs.append(run)
                base.log(f"workers={workers} run {i + 1}: {run['handshakes_per_s']:.0f} hs/s, server "
                         f"{run['server_us_per_conn']:.0f} µs/conn ({run['server_cpus_busy']:.2f} CPUs), load "
                         f"{run['load_us_per_conn']:.0f} µs/conn ({run['load_cpus_busy']:.2f} CPUs)")
        finally:
            server.stop()
        results[f"workers={workers}"] = runs
    coalescing = check_coalescing(base, ctx)
    print_workers(results, coalescing, a)
    return {"runs": results, "coalescing": coalescing}


def check_coalescing(base, ctx) -> dict:
    """workers = 2, empty cache, 20 certificates, 64 handshakes at once through a responder that
    answers after 300 ms (long enough that later handshakes for a certificate arrive while its
    query is in flight) and prints every request (-text): one query per CertID whichever loop
    asked. The accept log lines say which worker took each handshake and whether its verdict came
    from the cache or from the responder (the querying handshake and every coalesced waiter)."""
    responder_port, delay_port, port, admin = (base.free_port() for _ in range(4))
    responder = start_responder(base, ctx, "responder-text", responder_port, ["-text"])
    delay = base.Process("delay-text", [str(ctx.bin / "perf/ocspgate-delay"), str(delay_port), str(responder_port),
                                        "300"], ctx.work, base.CLIENT_CPU)
    url = f"http://127.0.0.1:{delay_port}"
    server = None
    try:
        wait_responder_url(ctx, url)
        before = (ctx.work / "responder-text.log").read_text(errors="replace").count("OCSP Request Data")
        server = start_gate(base, ctx, "ocspgate-coalesce",
                            gate_config(ctx, port, ctx.backend_port, url, workers=2, admin_port=admin, log_level="info"),
                            f"{base.CLIENT_CPU},{base.SERVER_CPU}")
        base.wait_tcp(port)
        r = run_json(load_argv(ctx, "handshake", port, [*warm_certs(ctx), "--concurrency", 64, "--count", 640],
                               f"{base.CLIENT_CPU},{base.SERVER_CPU}"), 120)
        m = metrics(admin)
        time.sleep(0.5)  # the responder's and ocspgate's log lines
        requests = (ctx.work / "responder-text.log").read_text(errors="replace").count("OCSP Request Data") - before
        workers_by_serial: dict[str, set] = {}
        answered_by_serial: dict[str, set] = {}  # workers whose handshakes got the responder's answer
        for line in (ctx.work / "ocspgate-coalesce.log").read_text(errors="replace").splitlines():
            w, s = re.search(r" worker=(\d+)", line), re.search(r" serial=([0-9A-F]+)", line)
            if "event=accept" in line and w and s:
                workers_by_serial.setdefault(s.group(1), set()).add(w.group(1))
                if "revocation_source=http" in line:
                    answered_by_serial.setdefault(s.group(1), set()).add(w.group(1))
        result = {"handshakes": r["completed"], "failed": r["failed"],
                  "lookups": revocation_counter(m, "lookups"),
                  "responder_queries": revocation_counter(m, "responder_queries"),
                  "coalesced": revocation_counter(m, "coalesced"), "cache_hits": revocation_counter(m, "cache_hits"),
                  "responder_requests_logged": requests,
                  "one_answer_on_both_workers": sum(1 for v in answered_by_serial.values() if len(v) == 2),
                  "certificates": len(workers_by_serial),
                  "certificates_seen_by_both_workers": sum(1 for v in workers_by_serial.values() if len(v) == 2)}
        base.log(f"coalescing: {result}")
        return result
    finally:
        if server:
            server.stop()
        delay.stop()
        responder.stop()


def print_workers(results: dict, coalescing: dict, a) -> None:
    one = results.get("workers=1") or []
    base_tps = med(one, "handshakes_per_s") if one else None
    print(f"\nWorkers: ocspgate and the load generator both on CPUs 0-1 (competing), warm cache, TLS 1.3, "
          f"concurrency {a.concurrency * 2}, {a.runs} runs × {a.duration:g} s, medians")
    header = (f"{'config':<10} {'hs/s':>7} {'× w=1':>6} {'p99 ms':>7} {'server µs/conn':>14} {'server CPUs':>11} "
              f"{'load µs/conn':>12} {'load CPUs':>9} {'failed':>6}")
    print(header)
    print("-" * len(header))
    for name, runs in results.items():
        if not runs:
            continue
        tps = med(runs, "handshakes_per_s")
        print(f"{name:<10} {tps:>7.0f} {tps / base_tps if base_tps else float('nan'):>6.2f} {med(runs, 'p99_ms'):>7.1f} "
              f"{med(runs, 'server_us_per_conn'):>14.0f} {med(runs, 'server_cpus_busy'):>11.2f} "
              f"{med(runs, 'load_us_per_conn'):>12.0f} {med(runs, 'load_cpus_busy'):>9.2f} "
              f"{sum(r['failed'] for r in runs):>6}")
    c = coalescing
    print(f"Coalescing across loops (workers = 2, empty cache, 20 certificates, 64 concurrent, 300 ms responder): "
          f"{c.get('handshakes')} handshakes, {c.get('lookups', 0):.0f} lookups, "
          f"{c.get('responder_queries', 0):.0f} responder queries (metrics), {c.get('responder_requests_logged')} "
          f"requests in the responder's log, {c.get('coalesced', 0):.0f} coalesced, {c.get('cache_hits', 0):.0f} "
          f"cache hits; {c.get('certificates_seen_by_both_workers')} of {c.get('certificates')} certificates were "
          f"accepted on both workers, and for {c.get('one_answer_on_both_workers')} of them the one responder "
          f"answer decided handshakes on both workers (the query on one loop, coalesced waiters on the other).")
