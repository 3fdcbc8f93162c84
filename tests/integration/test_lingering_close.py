"""Lingering close after a refusal (issue #27 point 3, proxy/core/linger.cpp): ocspgate sends the
fatal alert, shuts down its sending side and reads and drops what the client still sends, within
[server] linger_timeout, linger_max_bytes and max_lingering, so that a client still writing its
handshake reads the alert instead of a connection reset.

The Java JSSE client is the one that showed the problem: at TLS 1.3 it writes its Certificate,
CertificateVerify and Finished after the server already sent `certificate_revoked`; closing at
once made the kernel answer those bytes with RST and JSSE report "Connection reset"."""
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness import free_port, revocation_config, wait_until
from prometheus import parse_metrics, value
from test_admin import get

JAVA = shutil.which("java")
CLIENT = Path(__file__).parent / "java" / "RefusalClient.java"
ATTEMPTS = 20


def java_can_run_source() -> bool:
    """`java File.java` (JDK 11+) needs the jdk.compiler module in the runtime image."""
    if JAVA is None:
        return False
    modules = subprocess.run([JAVA, "--list-modules"], capture_output=True, text=True, timeout=60).stdout
    return "jdk.compiler@" in modules


needs_java = pytest.mark.skipif(not java_can_run_source(),
                                reason="no java launcher that runs a .java source file (JDK 11+ with jdk.compiler: "
                                       "Debian openjdk-17-jre-headless or default-jre-headless)")


def linger_gate(peers, extra_server="", **kw):
    ocsp = peers.responder()
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    config = revocation_config(peers.pki, port, backend.port, responders=[ocsp.url], extra_server=extra_server, **kw)
    gate = peers.gate(config + f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
    gate.port, gate.backend, gate.pki, gate.admin_port = port, backend, peers.pki, admin_port
    return gate


def metrics(gate) -> dict:
    return parse_metrics(get(gate.admin_port, "/metrics")[2].decode())


def pkcs12(pki: Path, cert: str, out: Path) -> Path:
    chain = pki / f"{cert}-chain.pem"
    subprocess.run(["openssl", "pkcs12", "-export", "-in", chain if chain.exists() else pki / f"{cert}.pem",
                    "-inkey", pki / f"{cert}.key", "-out", out, "-passout", "pass:changeit"], check=True)
    return out


def java_attempts(gate, p12: Path, protocol: str) -> list[str]:
    run = subprocess.run([JAVA, CLIENT, "127.0.0.1", str(gate.port), p12, "changeit", gate.pki / "clients-ca.pem",
                          protocol, str(ATTEMPTS)], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


@needs_java
@pytest.mark.parametrize("protocol", ["TLSv1.2", "TLSv1.3"])
def test_java_client_reads_certificate_revoked_every_time(peers, tmp_path, protocol):
    gate = linger_gate(peers)
    p12 = pkcs12(gate.pki, "client-revoked", tmp_path / "revoked.p12")
    seen = java_attempts(gate, p12, protocol)
    assert seen == ["alert certificate_revoked"] * ATTEMPTS, seen
    gate.wait_event("close", count=ATTEMPTS, decision="reject")
    assert value(metrics(gate), "ocspgate_lingering_closes_total") >= ATTEMPTS
    assert gate.backend.connections == 0
    wait_until(lambda: value(metrics(gate), "ocspgate_connections_lingering") == 0, 10, "lingering to end")
    gate.stop_cleanly()


@needs_java
def test_java_client_with_a_good_certificate_is_forwarded(peers, tmp_path):
    """The client itself works: a good certificate gets through (its first read sees the echo)."""
    gate = linger_gate(peers)
    p12 = pkcs12(gate.pki, "client-good", tmp_path / "good.p12")
    assert java_attempts(gate, p12, "TLSv1.3")[:1] == ["open"]


def refused_raw_client(gate) -> tuple[socket.socket, str]:
    """A client that sends a non-TLS record, so the handshake fails with a fatal alert at once,
    and has read the alert and the FIN. Returns the socket (still open) and its peer name."""
    s = socket.create_connection(("127.0.0.1", gate.port), timeout=5)
    peer = f"127.0.0.1:{s.getsockname()[1]}"
    s.sendall(b"\x16\x03\x01\x00\x05hello")  # a handshake record that is no ClientHello
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    assert data[:1] == b"\x15", data  # an alert record, then end of stream
    return s, peer


def test_lingering_ends_at_linger_timeout_when_the_client_stays_silent(peers):
    gate = linger_gate(peers, extra_server='linger_timeout = "1s"')
    s, peer = refused_raw_client(gate)
    close = gate.wait_event("close", timeout=5, peer=peer)[0]
    s.close()
    assert close["decision"] == "reject"
    assert 900 <= close["duration_ms"] < 3000, close


def test_lingering_ends_when_the_client_closes(peers):
    gate = linger_gate(peers, extra_server='linger_timeout = "10s"')
    s, peer = refused_raw_client(gate)
    s.close()
    close = gate.wait_event("close", timeout=5, peer=peer)[0]
    assert close["duration_ms"] < 2000, close


def test_lingering_ends_after_linger_max_bytes(peers):
    gate = linger_gate(peers, extra_server='linger_timeout = "10s"\nlinger_max_bytes = 4096')
    s, peer = refused_raw_client(gate)
    started = time.monotonic()
    try:
        for _ in range(8):
            s.sendall(b"x" * 1024)  # dropped by ocspgate until 4096 bytes, then it closes
            time.sleep(0.05)
    except OSError:
        pass  # the close answered a later write with RST
    close = gate.wait_event("close", timeout=5, peer=peer)[0]
    s.close()
    assert time.monotonic() - started < 5 and close["duration_ms"] < 5000, close


def test_over_max_lingering_a_refusal_closes_at_once(peers):
    gate = linger_gate(peers, extra_server='linger_timeout = "10s"\nmax_lingering = 1')
    first, _ = refused_raw_client(gate)  # lingers, holding the only place
    second, peer = refused_raw_client(gate)
    close = gate.wait_event("close", timeout=5, peer=peer)[0]
    assert close["duration_ms"] < 2000, close
    after = metrics(gate)
    assert value(after, "ocspgate_connections_lingering") == 1
    assert value(after, "ocspgate_lingering_skipped_total") == 1
    first.close()
    second.close()
    wait_until(lambda: value(metrics(gate), "ocspgate_connections_lingering") == 0, 5, "the first to stop lingering")
    gate.stop_cleanly()


def test_drain_ends_a_lingering_connection_without_waiting(peers):
    gate = linger_gate(peers, extra_server='linger_timeout = "30s"')
    s, peer = refused_raw_client(gate)
    assert value(metrics(gate), "ocspgate_connections_lingering") == 1
    started = time.monotonic()
    gate.stop_cleanly()  # drain_timeout = "2s" ends it; the lingering does not hold the exit for 30 s
    assert time.monotonic() - started < 6
    s.close()


def test_linger_timeout_zero_closes_at_once(peers):
    gate = linger_gate(peers, extra_server='linger_timeout = "0s"')
    s, peer = refused_raw_client(gate)
    close = gate.wait_event("close", timeout=5, peer=peer)[0]
    s.close()
    assert close["duration_ms"] < 900, close
    assert value(metrics(gate), "ocspgate_lingering_closes_total") == 0
