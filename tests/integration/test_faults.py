"""Fault injection (issue #8): responders, backends and clients that misbehave in the ways the
other integration files do not cover. Each test asserts the configured verdict for the faulty
exchange and that ocspgate keeps serving other clients meanwhile (a client whose answer is
cached completes while the faulty lookup is still pending: the loop is not blocked).
Responders that hang, answer garbage, HTTP 500 or tryLater, backends that refuse, and clients
that stall or exceed max_connections are in test_revocation_failures.py and
test_connection_limits.py."""
import socket
import ssl
import struct
import subprocess
import threading
import time

import pytest

from harness import (Backend, client_context, client_hello, expect_accept, fetch_ocsp_response, free_port, listener_config,
                     tls_connect, wait_until)

UNKNOWN = "SSLV3_ALERT_CERTIFICATE_UNKNOWN"
CACHED = "client-extra-01"  # primed before the fault starts; answered from the cache afterwards


def reset(sock: socket.socket):
    """Closes with a TCP RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def read_http_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class RawResponder:
    """An HTTP server on loopback written with raw sockets, so it can misbehave below HTTP.
    `mode` may change while it runs:

    - "relay":   forwards the request to `upstream` (a real `openssl ocsp`), after `delay` s;
    - "reset":   sends the headers and part of the body, then a TCP RST;
    - "trickle": sends a response one byte every `interval` s (for up to 30 s);
    - "huge":    a 200 with Content-Length 10 MiB and the 10 MiB (as far as the client reads);
    - "endless": a 200 without length, body delimited by close, 10 MiB of it;
    - "replay":  answers 200 with `body` (a genuine response, but for another certificate).
    """

    HUGE = 10 * 1024 * 1024

    def __init__(self, upstream: str | None = None, mode: str = "relay"):
        self.mode, self.upstream, self.delay, self.interval, self.body = mode, upstream, 0.0, 0.2, b""
        self.requests = 0
        self.answered = 0     # relayed answers sent back completely
        self.body_bytes_sent = 0
        self._stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket):
        try:
            request = read_http_request(conn)
            self.requests += 1
            getattr(self, "_" + self.mode)(conn, request)
        except OSError:
            pass  # the client gave up: that is the point of most modes
        finally:
            conn.close()

    def _relay(self, conn, request):
        if self._stop.wait(self.delay):
            return
        host, port = self.upstream.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as up:
            up.sendall(request)
            answer = b""
            while chunk := up.recv(65536):
                answer += chunk
        conn.sendall(answer)
        self.answered += 1

    def _reset(self, conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\n"
                     b"Content-Length: 1000\r\n\r\n" + b"\x30\x82\x03\xe4" + b"\x00" * 96)
        time.sleep(0.1)
        reset(conn)

    def _trickle(self, conn, request):
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: 5\r\n\r\n0\x03\n\x01\x03"
        deadline = time.monotonic() + 30
        for byte in answer * 100:
            if self._stop.wait(self.interval) or time.monotonic() > deadline:
                return
            conn.sendall(bytes([byte]))

    def _send_body(self, conn, head: bytes):
        conn.sendall(head)
        chunk = b"\x30" * 65536
        conn.settimeout(5)
        while self.body_bytes_sent < self.HUGE and not self._stop.is_set():
            conn.sendall(chunk)
            self.body_bytes_sent += len(chunk)

    def _huge(self, conn, request):
        self._send_body(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\n"
                              b"Content-Length: %d\r\n\r\n" % self.HUGE)

    def _endless(self, conn, request):
        self._send_body(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\n\r\n")

    def _replay(self, conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: %d\r\n\r\n"
                     % len(self.body) + self.body)

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def raw_responder(peers):
    real = peers.responder()
    raw = RawResponder(upstream=real.url)
    raw.real = real
    yield raw
    raw.close()


def in_background(fn, *args, **kw):
    """Runs fn in a thread; returns (thread, outcome dict with 'value' or 'error')."""
    outcome = {}

    def run():
        try:
            outcome["value"] = fn(*args, **kw)
        except BaseException as e:  # recorded, asserted by the test after join
            outcome["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def assert_served_while_pending(gate, pending: threading.Thread):
    """A client with a cached answer gets through at once while `pending` still waits."""
    began = time.monotonic()
    close = expect_accept(gate, CACHED)
    assert close["revocation_source"] == "cache", close
    assert time.monotonic() - began < 1.0
    assert pending.is_alive(), "the faulty exchange ended before the other client was served"


def expect_refusal(gate, cert: str) -> dict:
    """Like harness.expect_reject, minus its backend check, which other clients running at the
    same time would trip: the test checks the backend once, at the end (finish_fault)."""
    raw = socket.create_connection(("127.0.0.1", gate.port), timeout=10)
    peer = f"127.0.0.1:{raw.getsockname()[1]}"
    try:
        with client_context(gate.pki, cert).wrap_socket(raw, server_hostname="127.0.0.1") as c:
            data = c.recv(1)
        raise AssertionError(f"{cert} was not refused with an alert (read {data!r})")
    except ssl.SSLError as e:
        assert e.reason == UNKNOWN, f"{cert}: expected alert {UNKNOWN}, got {e!r}"
    finally:
        raw.close()
    return gate.wait_event("close", peer=peer)[0]


def responder_fault(peers, raw, mode, *, timeout="1500ms", **gate_kw):
    """ocspgate in front of `raw` (relaying to a real responder); CACHED primed; then `mode`.
    Returns (gate, background thread expecting client-good's rejection, its outcome)."""
    gate = peers.proxy(responders=[raw.url], methods=["ocsp"], timeout=timeout, **gate_kw)
    expect_accept(gate, CACHED)
    raw.mode = mode
    seen = raw.requests
    thread, outcome = in_background(expect_refusal, gate, "client-good")
    wait_until(lambda: raw.requests > seen, 5, "the faulty request to reach the responder")
    return gate, thread, outcome


def finish_fault(gate, thread, outcome, says: str):
    thread.join(15)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    close = outcome["value"]
    assert close["reason"] == "revocation status could not be determined", close
    assert (close["revocation"], close["revocation_method"]) == ("undetermined", "ocsp"), close
    assert says.lower() in close["revocation_detail"].lower(), close
    accepted = len(gate.events("close", decision="accept"))
    assert gate.backend.connections == accepted, "a refused client reached the backend"
    return close


# ---- responders ----------------------------------------------------------------------------

def test_responder_resetting_mid_response_fails_closed_and_others_are_served(peers, raw_responder):
    gate, thread, outcome = responder_fault(peers, raw_responder, "reset")
    expect_accept(gate, CACHED)  # the reset comes 0.1 s after the partial answer: no race to win here
    close = finish_fault(gate, thread, outcome, "ECONNRESET")
    assert close["duration_ms"] < 1400, close  # the reset ends the attempt, not the 1.5 s deadline
    gate.stop_cleanly()


def test_responder_answering_byte_by_byte_slower_than_the_timeout_times_out(peers, raw_responder):
    gate, thread, outcome = responder_fault(peers, raw_responder, "trickle", timeout="1s")
    assert_served_while_pending(gate, thread)
    close = finish_fault(gate, thread, outcome, "no response within 1000 ms (awaiting the response)")
    assert 900 <= close["duration_ms"] <= 2500, close  # one deadline for the whole exchange
    gate.stop_cleanly()


@pytest.mark.parametrize("mode", ["huge", "endless"])
def test_responder_sending_a_10_mib_body_is_cut_at_max_response_size(peers, raw_responder, mode):
    gate, thread, outcome = responder_fault(peers, raw_responder, mode)
    rss_before = gate.rss_kib()
    close = finish_fault(gate, thread, outcome, "exceeds 65536 bytes")
    # Declared: refused before a byte of the body is read; streamed: cut at the limit.
    assert raw_responder.body_bytes_sent < RawResponder.HUGE, raw_responder.body_bytes_sent
    if not gate.sanitized():
        assert gate.rss_kib() - rss_before < 4 * 1024, "the body was buffered"
    assert close["duration_ms"] < 1400, close
    expect_accept(gate, CACHED)
    gate.stop_cleanly()


def test_response_for_another_serial_fails_closed(peers, raw_responder):
    other = fetch_ocsp_response(peers.pki, raw_responder.real.url, peers.workdir / "other.der",
                                cert="client-extra-02", nonce=False)
    raw_responder.body = other
    gate, thread, outcome = responder_fault(peers, raw_responder, "replay", nonce=False)
    finish_fault(gate, thread, outcome, "no SingleResponse for serial")
    expect_accept(gate, CACHED)
    gate.stop_cleanly()


# ---- backends ------------------------------------------------------------------------------

class ResettingBackend:
    """Accepts and answers every connection with a TCP RST."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            reset(conn)

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_backend_resetting_closes_that_client_and_others_are_served(peers):
    backend = ResettingBackend()
    try:
        port = free_port()
        gate = peers.gate(listener_config(peers.pki, port, backend.port))
        gate.port, gate.pki = port, peers.pki
        for _ in range(3):  # each one is cut; none takes the process down
            with tls_connect(peers.pki, port) as c:
                c.settimeout(5)
                c.sendall(b"hello")
                try:
                    assert c.recv(100) == b""
                except (ConnectionResetError, ssl.SSLError):
                    pass
        closes = gate.wait_event("close", count=3)
        for close in closes:
            # The reset may come before or after libuv reports the connect as done.
            assert close["reason"] in ("backend unreachable: ECONNRESET", "backend read error: ECONNRESET",
                                       "backend write error: ECONNRESET", "backend write error: EPIPE"), close
        assert backend.connections == 3
    finally:
        backend.close()
    gate.stop_cleanly()


def test_backend_that_never_reads_does_not_hold_up_other_clients(peers):
    sink = Backend("sink")
    try:
        port = free_port()
        gate = peers.gate(listener_config(peers.pki, port, sink.port))
        stuck = tls_connect(peers.pki, port)
        stuck.settimeout(0.5)
        try:
            for _ in range(2048):  # at most 128 MiB; the proxy stops reading long before
                stuck.sendall(b"y" * 65536)
        except (socket.timeout, ssl.SSLWantWriteError):
            pass
        wait_until(lambda: sink.connections == 1, 5, "the stuck connection's backend")
        began = time.monotonic()
        other = tls_connect(peers.pki, port)  # a full handshake while the first is stuck
        other.sendall(b"x")
        gate.wait_event("accept", count=2, timeout=5)
        assert time.monotonic() - began < 2
        other.close()
        stuck.close()
    finally:
        sink.close()
    gate.stop_cleanly()


# ---- clients -------------------------------------------------------------------------------

def test_slowloris_handshake_one_byte_per_second_is_cut_at_the_handshake_timeout(peers):
    gate = peers.proxy(responders=[peers.responder().url], handshake_timeout="2s")
    expect_accept(gate, CACHED)
    hello = client_hello()

    def trickle():
        with socket.create_connection(("127.0.0.1", gate.port)) as s:
            peer = f"127.0.0.1:{s.getsockname()[1]}"
            began = time.monotonic()
            try:
                for byte in hello[:10]:
                    s.sendall(bytes([byte]))
                    time.sleep(1)
            except OSError:
                pass  # cut by the server: expected
            return peer, time.monotonic() - began

    thread, outcome = in_background(trickle)
    time.sleep(0.5)
    assert_served_while_pending(gate, thread)
    thread.join(15)
    peer, _ = outcome["value"]
    close = gate.wait_event("close", peer=peer)[0]
    assert close["reason"] == "handshake timeout", close
    assert 1900 <= close["duration_ms"] <= 3000, close
    gate.stop_cleanly()


def test_client_reset_mid_handshake_is_closed_and_others_are_served(peers):
    gate = peers.proxy(responders=[peers.responder().url])
    hello = client_hello()
    s = socket.create_connection(("127.0.0.1", gate.port))
    peer = f"127.0.0.1:{s.getsockname()[1]}"
    s.sendall(hello[: len(hello) // 2])
    time.sleep(0.2)
    reset(s)
    close = gate.wait_event("close", peer=peer)[0]
    assert close["decision"] == "reject", close
    assert close["reason"] in ("client read error: ECONNRESET", "client closed during handshake"), close
    expect_accept(gate, "client-good")
    gate.stop_cleanly()


def test_client_reset_while_its_ocsp_lookup_is_pending_leaves_the_lookup_to_finish(peers, raw_responder):
    gate = peers.proxy(responders=[raw_responder.url], timeout="5s")
    expect_accept(gate, CACHED)
    raw_responder.delay = 1.0  # the lookup outlives the client
    # TLS 1.3: the client's side of the handshake is done before the server's verdict.
    c = tls_connect(gate.pki, gate.port, "client-good", min_version=ssl.TLSVersion.TLSv1_3)
    peer = f"127.0.0.1:{c.getsockname()[1]}"
    wait_until(lambda: raw_responder.requests >= 2, 5, "the lookup to start")
    reset(c)
    close = gate.wait_event("close", peer=peer)[0]
    assert close["decision"] == "reject" and close["reason"].startswith("client"), close
    # The lookup completes after its requester is gone; its answer lands in the cache.
    wait_until(lambda: raw_responder.answered >= 2, 5, "the orphaned lookup to complete")
    time.sleep(0.2)
    assert gate.alive()
    raw_responder.delay = 0
    close = expect_accept(gate, "client-good")
    assert close["revocation_source"] == "cache", close
    gate.stop_cleanly()  # under ASan: no use of the freed connection


def test_tls12_renegotiation_attempt_is_refused_and_others_are_served(peers):
    gate = peers.proxy(responders=[peers.responder().url])
    pki = gate.pki
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{gate.port}", "-CAfile", str(pki / "clients-ca.pem"),
            "-tls1_2", "-cert", str(pki / "client-good.pem"), "-key", str(pki / "client-good.key"),
            "-cert_chain", str(pki / "issuing-ca.pem"), "-no_ign_eof"]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    proc.stdin.write(b"before\n")
    proc.stdin.flush()
    wait_until(lambda: gate.events("accept"), 5, "the TLS 1.2 connection to be accepted")
    time.sleep(0.3)
    proc.stdin.write(b"R\n")  # s_client: renegotiate
    proc.stdin.flush()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    text = out.decode(errors="replace")
    assert "RENEGOTIATING" in text, text
    assert "no renegotiation" in text.lower() or "alert" in text.lower(), text
    assert gate.backend.received.startswith(b"before\n")
    assert len(gate.events("accept")) == 1  # no second handshake, so no second verdict
    expect_accept(gate, "client-good")
    gate.stop_cleanly()
