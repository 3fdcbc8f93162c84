"""The perf tools that perf/compare's SIP and cold-cache figures rest on, against the real
ocspgate binary and a real `openssl ocsp`: if one of them miscounted, the figures would be wrong.

ocspgate-load, ocspgate-echo and ocspgate-delay are built with the product, beside
OCSPGATE_BIN (BUILD/perf/).
"""
import json
import socket
import subprocess
import threading
import time
from pathlib import Path

from harness import Backend, Process, free_port, listener_config, ocspgate_binary, revocation_config, wait_until

PERF = Path(ocspgate_binary()).resolve().parents[1] / "perf"


def tool(name: str) -> str:
    path = PERF / name
    assert path.exists(), f"{path} not built (it is part of the default build)"
    return str(path)


def load(*args, timeout=60) -> dict:
    out = subprocess.run([tool("ocspgate-load"), *map(str, args), "--json"], capture_output=True, text=True,
                         timeout=timeout)
    assert_no_sanitizer_report(out.stderr)
    return json.loads(out.stdout)


def assert_no_sanitizer_report(text: str) -> None:
    """For the ASan+UBSan build, whose reports go to stderr without always failing the run."""
    assert "ERROR: AddressSanitizer" not in text and "runtime error:" not in text and "LeakSanitizer" not in text, text


def start_tool(tmp_path, name: str, *args) -> Process:
    return Process([tool(name), *args], tmp_path / f"{name}.log")


def sip_gate(peers, backend_port: int, responder) -> tuple:
    port = free_port()
    config = revocation_config(peers.pki, port, backend_port, responders=[responder.url],
                               extra_listener='protocol = "sip"')
    config = config.replace('protocol = "tcp"\n', "", 1)  # the listener's protocol is set above
    return peers.gate(config), port


def test_sip_mode_counts_transactions_answered_through_ocspgate(peers, tmp_path):
    backend_port = free_port()
    echo = start_tool(tmp_path, "ocspgate-echo", "--sip", backend_port)
    wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", backend_port)) == 0, 10, "ocspgate-echo --sip")
    gate, port = sip_gate(peers, backend_port, peers.responder())
    r = load("sip", "--port", port, "--certs", peers.pki / "client-good.pem", "--key", peers.pki / "client-good.key",
             "--connections", 4, "--duration", 1)
    echo.stop()
    assert_no_sanitizer_report(echo.output())
    assert r["failed"] == 0, r["failures"]
    assert r["completed"] == 4
    assert r["transactions"] > 50
    assert 0 < r["transaction_latency"]["p50_ms"] <= r["transaction_latency"]["max_ms"]
    assert len(gate.events("accept")) == 4


def test_sip_mode_fails_a_connection_whose_answer_is_not_a_sip_response(peers, tmp_path):
    # A plain echo backend sends the request itself back: not a response, so not a transaction.
    backend = Backend("echo")
    try:
        r = load("sip", "--plain", "--port", backend.port, "--connections", 2, "--duration", 1)
    finally:
        backend.close()
    assert r["transactions"] == 0
    assert r["failures"] == {"sip: not a response": 2}


def minted_pool(peers, tmp_path, count: int, *, valid: bool) -> tuple[Path, Path]:
    """`count` minted certificates, and an index that lists them as valid (or not at all)."""
    pool = tmp_path / "minted"
    pool.mkdir()
    subprocess.run([tool("ocspgate-load"), "mint", "--ca", peers.pki / "issuing-ca.pem", "--ca-key",
                    peers.pki / "issuing-ca.key", "--count", str(count), "--out", pool], check=True, timeout=60)
    index = tmp_path / "index.txt"
    rows = (pool / "minted-index.txt").read_text()
    assert len(rows.splitlines()) == count
    index.write_text((peers.pki / "index.txt").read_text() + (rows if valid else ""))
    (tmp_path / "index.txt.attr").write_text("unique_subject = no\n")
    return pool, index


def test_minted_pool_makes_every_handshake_a_new_responder_query(peers, tmp_path):
    pool, index = minted_pool(peers, tmp_path, 40, valid=True)
    responder = peers.responder(index=index)
    gate = peers.proxy(responders=[responder.url])
    r = load("handshake", "--port", gate.port, "--minted", pool, "--ca", peers.pki / "clients-ca.pem",
             "--count", 40, "--concurrency", 8)
    assert r["failed"] == 0, r["failures"]
    assert r["completed"] == 40
    assert responder.requests == 40
    subjects = {e["subject"] for e in gate.events("accept")}
    assert len(subjects) == 40 and all(s.startswith("CN=cold-") for s in subjects), subjects


def test_minted_certificate_absent_from_the_index_is_refused(peers, tmp_path):
    pool, index = minted_pool(peers, tmp_path, 3, valid=False)
    responder = peers.responder(index=index)
    gate = peers.proxy(responders=[responder.url])  # unknown = "revoked"
    r = load("handshake", "--port", gate.port, "--minted", pool, "--count", 3, "--concurrency", 1)
    assert r["completed"] == 0
    assert sum(r["failures"].values()) == 3, r["failures"]
    assert len(gate.events("close", decision="reject")) == 3


def test_delay_relay_delays_each_exchange_in_parallel(tmp_path):
    backend = Backend("echo")
    port = free_port()
    relay = start_tool(tmp_path, "ocspgate-delay", port, backend.port, 200)
    try:
        wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 10, "ocspgate-delay")
        elapsed = []

        def exchange():
            started = time.monotonic()
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"ping")
                assert s.recv(4) == b"ping"
            elapsed.append(time.monotonic() - started)

        started = time.monotonic()
        threads = [threading.Thread(target=exchange) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        total = time.monotonic() - started
    finally:
        relay.stop()
        backend.close()
    assert_no_sanitizer_report(relay.output())
    assert len(elapsed) == 10
    assert min(elapsed) >= 0.2  # nobody gets the answer before the delay
    assert total < 1.0          # ten exchanges wait together, not one after another (that would be 2 s)


def test_fleet_benchmark_counts_one_query_per_certificate_with_the_lease(tmp_path):
    """perf/fleet on a small fleet: its figures add up (every handshake done, the responder's
    own count equals the instances' metrics) and the lease brings the queries to one per
    certificate where, without a shared cache, every instance asks."""
    out = tmp_path / "fleet.json"
    run = subprocess.run(["/usr/bin/python3", str(Path(__file__).resolve().parents[2] / "perf/fleet"),
                          "--build", str(PERF.parent), "--instances", "3", "--certs", "40", "--max-seconds", "30",
                          "--modes", "none,shared+lease", "--json", str(out)],
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(out.read_text())
    rows = {r["mode"]: r for r in figures["rows"]}
    for r in rows.values():
        assert (r["completed"], r["failed"]) == (120, 0), r
        assert r["responder_requests"] == r["responder_queries_metric"], r
    assert rows["none"]["responder_requests"] == 120
    # One per certificate; a few more only if a lease command outlasted Redis's 100 ms timeout here.
    assert 40 <= rows["shared+lease"]["responder_requests"] <= 44, rows["shared+lease"]
    assert rows["shared+lease"]["leases_won"] >= 36, rows["shared+lease"]
    l2 = figures["l2"]
    assert l2["shared_hits"] == 40 and l2["l2"]["responder_requests"] == l2["memory"]["responder_requests"] == 0, l2
