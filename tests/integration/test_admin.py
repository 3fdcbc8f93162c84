"""The admin endpoint ([admin]) on the main loop: health, readiness, Prometheus metrics that
move with real traffic, HTTP error answers, and no effect on traffic from a stuck admin client."""
import json
import socket
import ssl
import time

from harness import expect_accept, free_port, revocation_config, tls_connect, wait_until
from prometheus import parse_metrics, value


def admin_gate(peers, responders=()):
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    config = revocation_config(peers.pki, port, backend.port, responders=responders)
    gate = peers.gate(config + f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\nmax_request_size = 1024\n')
    gate.port, gate.backend, gate.pki, gate.admin_port = port, backend, peers.pki, admin_port
    return gate


def http(port: int, raw: bytes, timeout: float = 5) -> tuple[int, dict, bytes]:
    """Sends `raw` and reads the whole answer (the server closes after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert int(headers["content-length"]) == len(body)
    return status, headers, body


def get(port: int, path: str) -> tuple[int, dict, bytes]:
    return http(port, f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())


def metrics(gate) -> dict:
    status, headers, body = get(gate.admin_port, "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse_metrics(body.decode())


def test_healthz_and_readyz_answer_200(peers):
    gate = admin_gate(peers)
    assert get(gate.admin_port, "/healthz")[::2] == (200, b"ok\n")
    assert get(gate.admin_port, "/readyz")[0] == 200
    gate.stop_cleanly()


def test_metrics_parse_and_count_accepted_and_rejected_connections(peers):
    ocsp = peers.responder()
    gate = admin_gate(peers, responders=[ocsp.url])
    before = metrics(gate)
    for name in ("ocspgate_connections_active", "ocspgate_log_lines_dropped_total"):
        assert (name, frozenset()) in before
    assert value(before, "ocspgate_connections_total", listener="test", decision="accept") == 0
    expect_accept(gate, "client-good")
    try:
        with tls_connect(gate.pki, gate.port, cert="client-untrusted") as c:
            c.recv(1)
    except (ssl.SSLError, ConnectionError):
        pass
    wait_until(lambda: value(metrics(gate), "ocspgate_connections_total", listener="test", decision="reject",
                             reason="untrusted") == 1, 5, "the rejected connection to be counted")
    after = metrics(gate)
    assert value(after, "ocspgate_connections_total", listener="test", decision="accept") == 1
    assert value(after, "ocspgate_connections_active") == 0
    gate.stop_cleanly()


def test_revocation_counters_move_and_second_connection_hits_the_cache(peers):
    ocsp = peers.responder()
    gate = admin_gate(peers, responders=[ocsp.url])
    expect_accept(gate, "client-good")
    first = metrics(gate)
    assert value(first, "ocspgate_revocation_responder_queries_total", profile="r") == 1
    assert value(first, "ocspgate_revocation_cache_misses_total", profile="r") == 1  # once per handshake
    assert value(first, "ocspgate_revocation_lookups_total", profile="r") == 1
    assert value(first, "ocspgate_revocation_verdicts_total", profile="r", verdict="accept") == 1
    assert value(first, "ocspgate_cache_entries", profile="r") == 1
    hits = value(first, "ocspgate_revocation_cache_hits_total", profile="r")
    expect_accept(gate, "client-good")
    second = metrics(gate)
    assert value(second, "ocspgate_revocation_cache_hits_total", profile="r") == hits + 1
    assert value(second, "ocspgate_revocation_responder_queries_total", profile="r") == 1
    assert value(second, "ocspgate_revocation_cache_misses_total", profile="r") == 1
    assert value(second, "ocspgate_revocation_lookups_total", profile="r") == 2
    gate.stop_cleanly()


def test_latency_histograms_and_forwarded_bytes_move_with_traffic(peers):
    ocsp = peers.responder()
    gate = admin_gate(peers, responders=[ocsp.url])
    before = metrics(gate)
    assert value(before, "ocspgate_handshake_duration_seconds_count", listener="test") == 0
    expect_accept(gate, "client-good", payload=b"x" * 1000)  # a responder query
    expect_accept(gate, "client-good", payload=b"y" * 500)   # from the cache
    wait_until(lambda: value(metrics(gate), "ocspgate_forwarded_bytes_total", listener="test",
                             direction="client_to_backend") == 1500, 5, "both connections to be counted")
    after = metrics(gate)
    assert value(after, "ocspgate_forwarded_bytes_total", listener="test", direction="backend_to_client") == 1500
    assert value(after, "ocspgate_handshake_duration_seconds_count", listener="test") == 2
    assert value(after, "ocspgate_handshake_duration_seconds_bucket", listener="test", le="+Inf") == 2
    assert 0 < value(after, "ocspgate_handshake_duration_seconds_sum", listener="test") < 10
    assert value(after, "ocspgate_revocation_responder_duration_seconds_count", profile="r") == 1
    assert value(after, "ocspgate_revocation_responder_duration_seconds_bucket", profile="r", le="5") == 1
    gate.stop_cleanly()


def test_status_is_json_with_listeners_and_profiles(peers):
    ocsp = peers.responder()
    gate = admin_gate(peers, responders=[ocsp.url])
    status, headers, body = get(gate.admin_port, "/status")
    doc = json.loads(body)
    assert status == 200 and headers["content-type"] == "application/json"
    assert doc["listeners"][0]["name"] == "test" and doc["listeners"][0]["protocol"] == "tcp"
    assert doc["listeners"][0]["address"] == f"127.0.0.1:{gate.port}"
    assert doc["revocation_profiles"][0]["name"] == "r"
    assert doc["revocation_profiles"][0]["responders"] == [ocsp.url]
    gate.stop_cleanly()


def test_oversized_request_gets_413(peers):
    gate = admin_gate(peers)
    raw = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 2000 + b"\r\n\r\n"
    assert http(gate.admin_port, raw)[0] == 413
    gate.stop_cleanly()


def test_garbage_gets_400(peers):
    gate = admin_gate(peers)
    assert http(gate.admin_port, b"\x16\x03\x01 not http at all\r\n\r\n")[0] == 400
    gate.stop_cleanly()


def test_unknown_path_gets_404_and_wrong_method_405(peers):
    gate = admin_gate(peers)
    assert get(gate.admin_port, "/nope")[0] == 404
    status, headers, _ = http(gate.admin_port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert status == 405 and headers["allow"] == "GET"
    gate.stop_cleanly()


def test_traffic_flows_while_a_slow_admin_client_holds_a_connection(peers):
    ocsp = peers.responder()
    gate = admin_gate(peers, responders=[ocsp.url])
    slow = socket.create_connection(("127.0.0.1", gate.admin_port))
    slow.sendall(b"GET /metr")
    started = time.monotonic()
    expect_accept(gate, "client-good")
    assert get(gate.admin_port, "/healthz")[0] == 200
    assert time.monotonic() - started < 3
    slow.settimeout(10)
    assert slow.recv(1) == b""  # dropped at the read deadline
    slow.close()
    gate.stop_cleanly()


def test_without_admin_table_nothing_listens_on_the_default_port(peers):
    backend = peers.backend()
    gate = peers.gate(revocation_config(peers.pki, free_port(), backend.port))
    assert not gate.events("admin listening")
    gate.stop_cleanly()


def test_client_that_half_closes_after_its_request_still_gets_the_answer(peers):
    gate = admin_gate(peers)
    with socket.create_connection(("127.0.0.1", gate.admin_port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\nok\n")
    gate.stop_cleanly()


def test_readyz_answers_503_while_draining(peers):
    ocsp = peers.responder()
    gate = admin_gate(peers, responders=[ocsp.url])
    with tls_connect(gate.pki, gate.port, cert="client-good") as c:
        c.sendall(b"ping")
        c.recv(4)
        gate.proc.send_signal(15)
        gate.wait_event("signal")
        assert get(gate.admin_port, "/readyz")[0] == 503
        assert get(gate.admin_port, "/healthz")[0] == 200
    assert gate.proc.wait(10) == 0
    gate.stop_cleanly()
