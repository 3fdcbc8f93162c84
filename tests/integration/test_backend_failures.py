"""Backend failures are their own outcome (issue #27 point 4): when the client's handshake and
revocation check succeeded but the backend refuses, never answers the connect, or closes before
sending anything, the close line says decision=backend_failed at warning, the connections metric
counts it under decision="backend_failed" with its reason (not under accept), and `/status` and
`ocspgate status` show it per listener. A slow backend that does answer is an ordinary accept.
With [listener.sip] / [listener.ldap] answer_unavailable, ocspgate answers the client on the
backend's behalf: sipp (through socat's TLS) sees 503 with Retry-After, ldapsearch result 52."""
import json
import socket
import ssl
import subprocess
import threading
import time

import pytest

from harness import (
    Backend, free_port, listener_config, ocspgate_binary, recv_exactly, refused_port, tls_connect,
    wait_until)
from ldap_peers import gate_config, ldap_listener, ldapsearch
from prometheus import parse_metrics, value
from sip_peers import Socat, run_sipp_uac
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
    gate = admin_gate(peers, refused_port())  # nothing listens there
    peer = client_sees_close(gate)
    assert_backend_failed(gate, peer, "backend_unreachable", "backend unreachable: ECONNREFUSED")
    gate.stop_cleanly()


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


def test_backend_slow_to_accept_within_connect_timeout_is_an_ordinary_accept(peers, hanging_backend):
    """The accept queue is full when ocspgate connects (its SYN is dropped); 0.5 s later the
    backend starts accepting and echoing, so the SYN's retransmission (after 1 s) gets through
    within connect_timeout = "2s"."""
    def start_serving():
        time.sleep(0.5)
        hanging_backend.sock.settimeout(5)
        while True:
            try:
                conn, _ = hanging_backend.sock.accept()
            except OSError:
                return
            threading.Thread(target=echo_once, args=(conn,), daemon=True).start()

    def echo_once(conn):
        with conn:
            if data := conn.recv(65536):
                conn.sendall(data)

    gate = admin_gate(peers, hanging_backend.port)
    threading.Thread(target=start_serving, daemon=True).start()
    started = time.monotonic()
    with tls_connect(gate.pki, gate.port, cert="client-good", timeout=10) as c:
        peer = f"127.0.0.1:{c.getsockname()[1]}"
        c.sendall(b"ping")
        assert recv_exactly(c, 4) == b"ping"
    assert time.monotonic() - started > 0.5  # it did wait for the backend
    close = gate.wait_event("close", peer=peer)[0]
    assert close["decision"] == "accept", close


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


# ---- SIP: 503 with Retry-After --------------------------------------------------------------

SIP_ANSWER = '\n[listener.sip]\nanswer_unavailable = true\nretry_after = "45s"\n'


@pytest.mark.parametrize("backend_kind", ["refused", "hanging"])
def test_sipp_phone_gets_503_with_retry_after_when_the_backend_is_down(peers, tmp_path, hanging_backend, backend_kind):
    backend_port = free_port() if backend_kind == "refused" else hanging_backend.port
    gate = admin_gate(peers, backend_port, protocol="sip", tail=SIP_ANSWER)
    socat = Socat(tmp_path, peers.pki, gate.port)
    peers._started.append(socat.stop)
    code, output = run_sipp_uac(tmp_path, "uac_register_503.xml", socat.port)
    assert code == 0, output
    answer = output[output.index("SIP/2.0 503"):]
    assert "Retry-After: 45" in answer and "CSeq: 1 REGISTER" in answer, answer
    close = gate.wait_event("close", decision="backend_failed")[0]
    assert close["level"] == "warning", close
    gate.stop_cleanly()


def test_sip_without_answer_unavailable_closes_without_503(peers, tmp_path):
    gate = admin_gate(peers, free_port(), protocol="sip")
    with tls_connect(gate.pki, gate.port, cert="client-good", timeout=10) as c:
        c.sendall(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5;branch=z9hG4bK1\r\n"
                  b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n"
                  b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        try:
            assert c.recv(1000) == b""
        except (ssl.SSLError, ConnectionResetError):
            pass
    assert gate.wait_event("close", decision="backend_failed")


def test_sip_503_is_never_sent_for_an_ack(peers):
    gate = admin_gate(peers, free_port(), protocol="sip", tail=SIP_ANSWER)
    head = ("{method} sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5;branch=z9hG4bK{n}\r\n"
            "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: c{n}\r\nCSeq: {n} {method}\r\n"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    with tls_connect(gate.pki, gate.port, cert="client-good", timeout=10) as c:
        c.sendall((head.format(method="ACK", n=1) + head.format(method="OPTIONS", n=2)).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += c.recv(4096)
    assert data.count(b"SIP/2.0 503 Service Unavailable") == 1 and b"CSeq: 2 OPTIONS" in data, data


# ---- LDAP: resultCode unavailable (52) ------------------------------------------------------

def test_ldapsearch_gets_unavailable_52_when_the_backend_is_down(peers, pki):
    port = free_port()
    listener = ldap_listener("ldaps", "ldaps", port, free_port(), pki=pki,
                             extra_tables="\n[listener.ldap]\nanswer_unavailable = true\n")
    gate = peers.gate(gate_config([listener]))
    result = ldapsearch(f"ldaps://127.0.0.1:{port}", pki=pki, timeout=20)
    assert result.returncode == 52, (result.returncode, result.stderr)
    assert b"unavailable" in result.stderr.lower(), result.stderr
    close = gate.wait_event("close", listener="ldaps")[0]
    assert close["decision"] == "backend_failed", close


def test_ldap_starttls_gets_unavailable_52_when_the_backend_is_down(peers, pki):
    port = free_port()
    listener = ldap_listener("starttls", "ldap-starttls", port, free_port(), pki=pki,
                             extra_tables="\n[listener.ldap]\nanswer_unavailable = true\n")
    gate = peers.gate(gate_config([listener]))
    result = ldapsearch(f"ldap://127.0.0.1:{port}", pki=pki, starttls=True, timeout=20)
    assert result.returncode == 52, (result.returncode, result.stderr)
    assert gate.wait_event("close", listener="starttls")[0]["decision"] == "backend_failed"
