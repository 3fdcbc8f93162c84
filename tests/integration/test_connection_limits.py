"""Deadlines, backend failures, backpressure, max_connections, draining and leaks."""
import os
import socket
import ssl
import threading
import time

import pytest

from harness import (
    Backend, Ocspgate, client_hello, free_port, listener_config, refused_port, tls_connect,
    wait_until)


def start(tmp_path, pki, backend_port, **kw):
    port = free_port()
    g = Ocspgate(tmp_path, listener_config(pki, port, backend_port, **kw))
    g.port = port
    return g


def closed_by_server(sock: socket.socket, timeout: float) -> float:
    """Seconds until the server closes `sock` (reads return EOF or reset)."""
    sock.settimeout(timeout)
    began = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - began


def short_handshake(tmp_path, pki, backend_port):
    port = free_port()
    config = listener_config(pki, port, backend_port).replace('handshake_timeout = "5s"', 'handshake_timeout = "1s"')
    g = Ocspgate(tmp_path, config)
    g.port = port
    return g


def test_silent_client_is_cut_at_the_handshake_timeout(tmp_path, pki, echo_backend):
    g = short_handshake(tmp_path, pki, echo_backend.port)
    with socket.create_connection(("127.0.0.1", g.port)) as s:
        waited = closed_by_server(s, 5)
    assert 0.8 < waited < 3, waited
    assert g.wait_event("close")[0]["reason"] == "handshake timeout"
    g.stop_cleanly()


def test_client_stalling_mid_handshake_is_cut(tmp_path, pki, echo_backend):
    g = short_handshake(tmp_path, pki, echo_backend.port)
    # Half a ClientHello: a real client's first bytes, then nothing.
    hello = client_hello()
    with socket.create_connection(("127.0.0.1", g.port)) as s:
        s.sendall(hello[: len(hello) // 2])
        waited = closed_by_server(s, 5)
    assert 0.8 < waited < 3, waited
    assert g.wait_event("close")[0]["reason"] == "handshake timeout"
    g.stop_cleanly()


def test_backend_down_closes_the_client_cleanly(tmp_path, pki):
    dead_port = refused_port()  # nothing listens here
    g = start(tmp_path, pki, dead_port)
    with tls_connect(pki, g.port) as c:
        c.sendall(b"anyone there?")
        assert c.recv(100) == b""  # close_notify: a clean TLS end, not a reset
    close = g.wait_event("close")[0]
    assert close["decision"] == "backend_failed"  # its own outcome (test_backend_failures.py)
    assert close["reason"] == "backend unreachable: ECONNREFUSED"
    g.stop_cleanly()


def test_idle_connection_is_closed_at_idle_timeout(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend.port, extra_server='idle_timeout = "1s"')
    with tls_connect(pki, g.port) as c:
        c.sendall(b"a")
        assert c.recv(1) == b"a"
        began = time.monotonic()
        assert c.recv(1) == b""
        assert 0.8 < time.monotonic() - began < 3
    assert g.wait_event("close")[0]["reason"] == "idle timeout"
    g.stop_cleanly()


def test_backend_that_never_reads_bounds_proxy_memory(tmp_path, pki):
    sink = Backend("sink")  # accepts and never reads
    g = start(tmp_path, pki, sink.port)
    c = tls_connect(pki, g.port)
    c.sendall(b"x")
    wait_until(lambda: sink.connections == 1, 5, "backend connection")
    rss_before = g.rss_kib()
    chunk = b"y" * 65536
    sent = 0
    c.settimeout(0.5)
    deadline = time.monotonic() + 15
    try:
        while time.monotonic() < deadline and sent < 512 * 1024 * 1024:
            c.sendall(chunk)
            sent += len(chunk)
    except (socket.timeout, ssl.SSLWantWriteError):
        pass  # the proxy stopped reading: our socket buffers are full
    assert sent < 64 * 1024 * 1024, f"proxy kept reading: {sent} bytes accepted"
    growth = g.rss_kib() - rss_before
    if not g.sanitized():  # ASan keeps freed blocks in quarantine: only the byte bound applies
        assert growth < 4 * 1024, f"RSS grew by {growth} KiB"
    c.close()
    g.stop_cleanly()
    sink.close()


def test_max_connections_refuses_the_extra_connection(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend.port, extra_server="max_connections = 2")
    held = [tls_connect(pki, g.port) for _ in range(2)]
    for h in held:
        h.sendall(b"k")
        assert h.recv(1) == b"k"
    with socket.create_connection(("127.0.0.1", g.port)) as extra:
        assert closed_by_server(extra, 5) < 2
    assert g.wait_event("close", reason="max_connections reached")
    for h in held:
        h.sendall(b"s")
        assert h.recv(1) == b"s"  # the others are untouched
        h.close()
    g.stop_cleanly()


def test_sigterm_drains_open_connections_until_the_deadline(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend.port)  # drain_timeout = 2s
    c = tls_connect(pki, g.port)
    c.sendall(b"1")
    assert c.recv(1) == b"1"
    g.proc.send_signal(15)
    wait_until(lambda: g.events("drain"), 5, "drain to begin")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", g.port), timeout=1).close()  # no longer listening
    c.sendall(b"2")
    assert c.recv(1) == b"2"  # still served while draining
    began = time.monotonic()
    assert c.recv(1) == b""   # cut at the deadline
    assert time.monotonic() - began < 4
    assert g.wait_event("close", reason="shutdown: drain deadline")
    g.exit_cleanly()  # on its own, once the last connection is cut


def test_no_descriptor_leak_after_many_connections(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend.port)
    baseline = g.open_fds()
    for i in range(40):
        cert = "client-good" if i % 2 == 0 else "client-untrusted"
        try:
            with tls_connect(pki, g.port, cert=cert) as c:
                c.sendall(b"z")
                c.recv(1)
        except (ssl.SSLError, ConnectionResetError):
            pass
    g.wait_event("close", count=40)
    wait_until(lambda: g.open_fds() <= baseline, 5, f"fds back to {baseline} (now {g.open_fds()})")
    g.stop_cleanly()
