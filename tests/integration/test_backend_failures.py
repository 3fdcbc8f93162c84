"""Backend failures are their own outcome (issue #27 point 4): when the client's handshake and
revocation check succeeded but the backend refuses, never answers the connect, or closes before
sending anything, the close line says decision=backend_failed at warning, the connections metric
counts it under decision="backend_failed" with its reason (not under accept), and `/status` and
`ocspgate status` show it per listener. A slow backend that does answer is an ordinary accept."""
import json
import socket
import ssl
import subprocess
import threading
import time

import pytest

from harness import Backend, free_port, listener_config, ocspgate_binary, recv_exactly, tls_connect, wait_until
from prometheus import parse_metrics, value
from test_admin import get


def admin_gate(peers, backend_port: int, protocol: str = "tcp", tail: str = ""):
    port, admin_port = free_port(), free_port()
    config = listener_config(peers.pki, port, backend_port, tail=tail).replace('protocol = "tcp"', f'protocol = "{protocol}"')
    gate = peers.gate(config + f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
    gate.port, gate.pki, gate.admin_port = port, peers.pki, admin_port
    return gate


def metrics(gate) -> dict:
    return parse_metrics(get(gate.admin_port, "/metrics")[2].decode())


def status(gate) -> dict:
    return json.loads(get(gate.admin_port, "/status")[2])


def client_sees_close(gate) -> str:
    """A client with a good certificate completes its handshake, sends a line and reads until
    the connection ends; returns its peer name."""
    with tls_connect(gate.pki, gate.port, cert="client-good", timeout=10) as c:
        peer = f"127.0.0.1:{c.getsockname()[1]}"
        c.sendall(b"ping\n")
        try:
            assert c.recv(100) == b""
        except (ssl.SSLError, ConnectionResetError):
            pass  # a reset is also an end; what matters is what ocspgate logs and counts
    return peer


def assert_backend_failed(gate, peer: str, reason_label: str, reason_text: str) -> dict:
    close = gate.wait_event("close", peer=peer)[0]
    assert close["decision"] == "backend_failed" and close["level"] == "warning", close
    assert close["reason"].startswith(reason_text), close
    assert close["subject"], close  # the client's certificate was accepted
    wait_until(lambda: value(metrics(gate), "ocspgate_connections_total", listener="test", decision="backend_failed",
                             reason=reason_label) == 1, 5, "the backend failure to be counted")
    after = metrics(gate)
    assert value(after, "ocspgate_connections_total", listener="test", decision="accept") == 0
    listener = status(gate)["listeners"][0]
    assert listener["backend_failed"] == 1 and listener["accepted"] == 0 and listener["active_connections"] == 0, listener
    return close


class FullBacklog:
    """A listening socket whose accept queue is full and never drained: the kernel drops further
    SYNs, so a connect to it neither succeeds nor fails (a hanging backend)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(2):  # backlog 0 still queues one connection; the second may wait for it
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(s)
        time.sleep(0.2)

    def close(self):
        for s in self.fillers:
            s.close()
        self.sock.close()


class ScriptedBackend:
    """A TCP backend that, per connection, waits `delay` s after the first bytes and echoes them
    (slow), or closes at once (closing)."""

    def __init__(self, mode: str, delay: float = 0.0):
        self.mode, self.delay = mode, delay
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.mode == "closing":
                conn.close()
                continue
            threading.Thread(target=self._slow_echo, args=(conn,), daemon=True).start()

    def _slow_echo(self, conn):
        with conn:
            data = conn.recv(65536)
            time.sleep(self.delay)
            conn.sendall(data)

    def close(self):
        self.sock.close()


@pytest.fixture
def hanging_backend():
    backend = FullBacklog()
    yield backend
    backend.close()


def test_refused_backend_is_backend_failed_not_accept(peers):
    gate = admin_gate(peers, free_port())  # nothing listens there
    peer = client_sees_close(gate)
    assert_backend_failed(gate, peer, "backend_unreachable", "backend unreachable: ECONNREFUSED")


def test_hanging_backend_is_backend_failed_after_connect_timeout(peers, hanging_backend):
    gate = admin_gate(peers, hanging_backend.port)
    started = time.monotonic()
    peer = client_sees_close(gate)
    assert 1.5 < time.monotonic() - started < 6  # connect_timeout = "2s"
    assert_backend_failed(gate, peer, "backend_timeout", "backend connect timeout")


def test_backend_closing_before_answering_is_backend_failed(peers):
    backend = ScriptedBackend("closing")
    peers._started.append(backend.close)
    gate = admin_gate(peers, backend.port)
    peer = client_sees_close(gate)
    assert_backend_failed(gate, peer, "backend_closed", "backend closed before sending anything")


def test_slow_backend_that_answers_is_an_ordinary_accept(peers):
    backend = ScriptedBackend("slow", delay=1.5)
    peers._started.append(backend.close)
    gate = admin_gate(peers, backend.port)
    with tls_connect(gate.pki, gate.port, cert="client-good", timeout=10) as c:
        peer = f"127.0.0.1:{c.getsockname()[1]}"
        c.sendall(b"ping")
        assert recv_exactly(c, 4) == b"ping"
    close = gate.wait_event("close", peer=peer)[0]
    assert close["decision"] == "accept" and close["level"] == "info", close
    wait_until(lambda: value(metrics(gate), "ocspgate_connections_total", listener="test", decision="accept") == 1, 5,
               "the accept to be counted")
    for reason in ("backend_unreachable", "backend_timeout", "backend_closed", "backend_tls"):
        assert value(metrics(gate), "ocspgate_connections_total", listener="test", decision="backend_failed",
                     reason=reason) == 0


def test_status_command_shows_backend_failures_per_listener(peers):
    gate = admin_gate(peers, free_port())
    client_sees_close(gate)
    wait_until(lambda: status(gate)["listeners"][0]["backend_failed"] == 1, 5, "the failure in /status")
    out = subprocess.run([ocspgate_binary(), "status", "--config", gate.config_path], capture_output=True, text=True,
                         timeout=10)
    lines = out.stdout.splitlines()
    header = next(line for line in lines if line.startswith("LISTENER"))
    row = next(line for line in lines if line.startswith("test "))
    assert "BACKEND FAILED" in header, out.stdout
    assert row.split()[-1] == "1", out.stdout
