"""A trusted client reaches the backend; bytes flow both ways unchanged; half-close passes."""
import hashlib
import os
import select
import socket
import ssl
import threading
import time

import pytest

from harness import MemoryTlsClient, Ocspgate, free_port, listener_config, recv_exactly, s_client, tls_connect


@pytest.fixture
def gate(tmp_path, pki, echo_backend):
    port = free_port()
    g = Ocspgate(tmp_path, listener_config(pki, port, echo_backend.port))
    g.port = port
    yield g
    g.stop_cleanly()


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_trusted_client_is_forwarded_both_ways(gate, pki, version):
    with tls_connect(pki, gate.port, min_version=version, max_version=version) as c:
        c.sendall(b"hello backend\n")
        assert recv_exactly(c, 14) == b"hello backend\n"
    close = gate.wait_event("close")[0]
    assert close["decision"] == "accept"
    assert close["subject"].startswith("CN=client-good")
    assert close["bytes_from_client"] == 14 and close["bytes_from_backend"] == 14
    assert close["tls_version"] == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]


def test_large_payload_arrives_identical(gate, pki):
    # One thread only: an SSL object must not be read and written from two threads at once.
    payload = os.urandom(4 * 1024 * 1024)
    echoed = bytearray()
    with tls_connect(pki, gate.port, timeout=20) as c:
        c.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 30
        while len(echoed) < len(payload) and time.monotonic() < deadline:
            readable, writable, _ = select.select([c], [c] if sent < len(payload) else [], [], 1)
            if writable:
                try:
                    sent += c.send(payload[sent:sent + 65536])
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    pass
            while True:  # drain everything decrypted, including what OpenSSL already buffered
                try:
                    chunk = c.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    break
                if not chunk:
                    break
                echoed += chunk
    assert bytes(echoed) == payload


@pytest.mark.parametrize("close_notify", [True, False], ids=["close_notify", "tcp_fin_only"])
def test_client_half_close_reaches_backend_and_the_answer_still_arrives(gate, pki, close_notify):
    # The echo backend answers everything, then closes only after it sees EOF: the client must
    # still receive the echo (and our close_notify) after shutting down its sending side.
    c = MemoryTlsClient(pki, gate.port)
    c.send(b"last words")
    c.close_write(close_notify=close_notify)
    data, got_close_notify = c.read_to_end()
    c.close()
    assert data == b"last words"
    assert got_close_notify
    close = gate.wait_event("close")[0]
    assert close["reason"] == "client closed"
    assert close["bytes_from_client"] == 10 and close["bytes_from_backend"] == 10


def test_s_client_round_trip(gate, pki):
    code, out = s_client(pki, gate.port, "client-good", stdin=b"ping via s_client\n")
    assert "Verify return code: 0 (ok)" in out, out
    assert "ping via s_client" in out.split("---")[-1], out
    gate.wait_event("close", decision="accept")


def test_s_client_key_updates_both_ways_keep_the_connection(gate, pki):
    """OpenSSL's client sends KeyUpdate on "k" (and asks for ours on "K"): the own record layer
    follows each, answers the request, and the data after them still flows both ways."""
    code, out = s_client(pki, gate.port, "client-good", hold=1.0,
                         lines=(b"one\n", b"K\n", b"two\n", b"k\n", b"three\n", b"K\n", b"four\n"))
    assert "Verify return code: 0 (ok)" in out, out
    echoed = out.split("---")[-1]
    assert out.count("KEYUPDATE") == 3, out
    for word in ("one", "two", "three", "four"):
        assert f"{word}\n" in echoed, out
    close = gate.wait_event("close", decision="accept")[0]
    assert close["tls_version"] == "TLSv1.3" and close["bytes_from_client"] == 19, close


def test_accept_is_logged_with_certificate_and_tls_details(gate, pki):
    with tls_connect(pki, gate.port) as c:
        c.sendall(b"x")
        recv_exactly(c, 1)
        accept = gate.wait_event("accept")[0]
    for key in ("peer", "listener", "tls_version", "cipher", "subject", "issuer", "serial"):
        assert accept[key], key
    assert accept["issuer"].startswith("CN=")


class Firehose:
    """A backend that, once released, sends random bytes as fast as its peer takes them until
    no byte has been taken for `stall` seconds (or `limit` bytes went out), then ends its side.
    It keeps the count and SHA-256 of exactly the bytes the kernel accepted."""

    def __init__(self, stall: float = 2.0, limit: int = 256 * 1024 * 1024):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stall, self.limit = stall, limit
        self.sent = 0
        self.digest = hashlib.sha256()
        self.accepted, self.go, self.stalled = threading.Event(), threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.conn, _ = self.sock.accept()
        self.accepted.set()
        self.go.wait(30)
        self.conn.settimeout(self.stall)
        try:
            while self.sent < self.limit:
                view = memoryview(os.urandom(65536))
                while view:
                    n = self.conn.send(view)  # socket.timeout: nothing taken for `stall` seconds
                    self.digest.update(view[:n])
                    self.sent += n
                    view = view[n:]
        except socket.timeout:
            pass
        self.stalled.set()
        self.conn.shutdown(socket.SHUT_WR)

    def close(self):
        self.thread.join(5)
        self.conn.close()
        self.sock.close()


def test_client_that_never_reads_stops_backend_reads_and_loses_nothing(tmp_path, pki):
    backend = Firehose()
    port = free_port()
    g = Ocspgate(tmp_path, listener_config(pki, port, backend.port))
    c = tls_connect(pki, port, timeout=30)
    assert backend.accepted.wait(5), "backend connection"
    rss_before = g.rss_kib()
    backend.go.set()  # the client reads nothing until the backend is stuck
    assert backend.stalled.wait(60), "the proxy kept reading from the backend"
    # Kernel socket buffers on both legs hold a few MB; the proxy itself must hold no more
    # than its 64 KiB high mark plus one read.
    assert backend.sent < 64 * 1024 * 1024, f"proxy kept reading: {backend.sent} bytes accepted"
    growth = g.rss_kib() - rss_before
    print(f"\nbackend stalled after {backend.sent} bytes; proxy RSS {growth:+d} KiB")
    if not g.sanitized():  # ASan keeps freed blocks in quarantine: only the byte bound applies
        assert growth < 4 * 1024, f"RSS grew by {growth} KiB"
    received, digest = 0, hashlib.sha256()
    while chunk := c.recv(1 << 20):  # then everything arrives, in order, and our close_notify
        received += len(chunk)
        digest.update(chunk)
    c.close()
    assert received == backend.sent
    assert digest.digest() == backend.digest.digest()
    close = g.wait_event("close")[0]
    assert close["reason"] == "backend closed"
    assert close["bytes_from_backend"] == backend.sent
    g.stop_cleanly()
    backend.close()
