"""Live reload (SIGHUP and POST /reload): new certificates, listeners and revocation settings
apply to new handshakes, established connections stay up, and a broken configuration is
refused with its errors while the running one stays in force."""
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from harness import (Backend, expect_accept, free_port, issue_certificate, listener_config, recv_exactly,
                     revocation_config, tls_connect, wait_until)
from test_admin import http

REVOKED = "SSLV3_ALERT_CERTIFICATE_REVOKED"


def server_serial(pki, port) -> str:
    with tls_connect(pki, port, cert="client-good") as c:
        der = c.getpeercert(binary_form=True)
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                         capture_output=True, check=True).stdout.decode()
    return out.strip().split("=", 1)[1].upper()


def pem_serial(path) -> str:
    out = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-serial"], capture_output=True, check=True)
    return out.stdout.decode().strip().split("=", 1)[1].upper()


def post_reload(admin_port):
    return http(admin_port, b"POST /reload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", timeout=15)


def admin_section(admin_port):
    return f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n'


def echo(conn, payload=b"ping"):
    conn.sendall(payload)
    assert recv_exactly(conn, len(payload)) == payload


def test_sighup_swaps_the_server_certificate_and_keeps_established_connections(peers, tmp_path):
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    issue_certificate(peers.pki, tmp_path, "server2", "localhost", server=True)
    config = listener_config(peers.pki, port, backend.port) + admin_section(admin_port)
    gate = peers.gate(config)
    old = server_serial(peers.pki, port)
    assert old == pem_serial(peers.pki / "server.pem")
    established = tls_connect(peers.pki, port, cert="client-good")
    echo(established)

    gate.config_path.write_text(config.replace(f"{peers.pki}/server-chain.pem", f"{tmp_path}/server2-chain.pem")
                                .replace(f"{peers.pki}/server.key", f"{tmp_path}/server2.key"))
    gate.proc.send_signal(signal.SIGHUP)
    gate.wait_event("reloaded", generation=2)
    assert server_serial(peers.pki, port) == pem_serial(tmp_path / "server2.pem")
    echo(established, b"the old connection is untouched")
    status, _, body = http(admin_port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200 and b"ocspgate_config_generation 2" in body
    established.close()
    gate.stop_cleanly()


@pytest.mark.parametrize("workers", [1, 2])
def test_post_reload_adds_and_removes_listeners(peers, workers):
    backend = peers.backend()
    port, second_port, admin_port = free_port(), free_port(), free_port()
    config = listener_config(peers.pki, port, backend.port, extra_server=f"workers = {workers}") + admin_section(admin_port)
    second = listener_config(peers.pki, second_port, backend.port, name="second")
    second = second[second.index("[[listener]]"):]  # only its [[listener]] and [listener.tls]
    gate = peers.gate(config)
    on_first = tls_connect(peers.pki, port, cert="client-good")
    echo(on_first)

    # Add a second listener.
    gate.config_path.write_text(config + second)
    status, _, body = post_reload(admin_port)
    assert status == 200 and body == b"reloaded: generation 2\n", body
    with tls_connect(peers.pki, second_port, cert="client-good") as c:
        echo(c, b"second listener")
    on_second = tls_connect(peers.pki, second_port, cert="client-good")
    echo(on_second)

    # Remove it again: new connections are refused, the one it accepted stays up.
    gate.config_path.write_text(config)
    assert post_reload(admin_port)[0] == 200
    wait_until(lambda: not connectable(second_port), 5, "the removed listener to close")
    echo(on_second, b"accepted before the removal")
    echo(on_first, b"first listener kept its socket")
    with tls_connect(peers.pki, port, cert="client-good") as c:
        echo(c)
    on_first.close()
    on_second.close()
    gate.stop_cleanly()


def connectable(port) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_reload_applies_new_revocation_settings_to_new_handshakes_only(peers):
    ocsp = peers.responder()
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    plain = listener_config(peers.pki, port, backend.port) + admin_section(admin_port)
    checked = revocation_config(peers.pki, port, backend.port, responders=[ocsp.url]) + admin_section(admin_port)
    gate = peers.gate(plain)
    before = tls_connect(peers.pki, port, cert="client-revoked")  # no profile yet: accepted
    echo(before)

    gate.config_path.write_text(checked)
    assert post_reload(admin_port)[0] == 200
    ctx_error = None
    try:
        with tls_connect(peers.pki, port, cert="client-revoked") as c:
            c.recv(1)
    except ssl.SSLError as e:
        ctx_error = e
    assert ctx_error is not None and ctx_error.reason == REVOKED, ctx_error
    echo(before, b"established before the profile existed")
    before.close()

    # An unchanged profile keeps its cached answers across a reload.
    gate.backend, gate.pki, gate.port = backend, peers.pki, port
    assert expect_accept(gate, "client-good")["revocation_source"] == ocsp.url
    queries = ocsp.requests
    assert post_reload(admin_port)[0] == 200
    assert expect_accept(gate, "client-good")["revocation_source"] == "cache"
    assert ocsp.requests == queries
    gate.stop_cleanly()


def test_broken_config_on_reload_changes_nothing(peers, tmp_path):
    backend = peers.backend()
    port, admin_port, other_port = free_port(), free_port(), free_port()
    config = listener_config(peers.pki, port, backend.port) + admin_section(admin_port)
    gate = peers.gate(config)
    established = tls_connect(peers.pki, port, cert="client-good")
    echo(established)
    serial = server_serial(peers.pki, port)

    # Invalid: a missing key file and a bad duration, both reported with their location.
    gate.config_path.write_text(config.replace(f"{peers.pki}/server.key", f"{tmp_path}/missing.key")
                                .replace('handshake_timeout = "5s"', 'handshake_timeout = "soon"'))
    status, _, body = post_reload(admin_port)
    assert status == 422, body
    text = body.decode()
    assert "missing.key" in text and "handshake_timeout" in text and f"{gate.config_path}:" in text, text
    gate.proc.send_signal(signal.SIGHUP)
    failed = gate.wait_event("reload_failed", count=2)
    assert all("missing.key" in e["error"] for e in failed), failed

    # A listener that cannot bind (its port is taken) refuses the whole reload too.
    squatter = Backend("echo", port=other_port)
    try:
        extra = listener_config(peers.pki, other_port, backend.port, name="taken")
        gate.config_path.write_text(config + extra[extra.index("[[listener]]"):])
        status, _, body = post_reload(admin_port)
        assert status == 409 and f"listener taken: 127.0.0.1:{other_port} is already in use".encode() in body, body
    finally:
        squatter.close()

    assert not gate.events("reloaded")
    assert server_serial(peers.pki, port) == serial
    echo(established, b"nothing changed")
    established.close()
    gate.stop_cleanly()


def test_reload_during_traffic_loses_no_connection(peers):
    """Clients connect in a loop while the gate reloads ten times: every handshake succeeds."""
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    config = listener_config(peers.pki, port, backend.port) + admin_section(admin_port)
    gate = peers.gate(config)
    stop, failures, done = threading.Event(), [], [0]

    def client():
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                with tls_connect(peers.pki, port, cert="client-good") as c:
                    echo(c)
                done[0] += 1
            except Exception as e:  # recorded, asserted below
                failures.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(10):
        assert post_reload(admin_port)[0] == 200
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    assert done[0] > 10
    gate.wait_event("reloaded", generation=11)
    gate.stop_cleanly()


def reload_events_after(gate, trigger, generation) -> list[tuple]:
    """The change lines logged by a reload of `trigger` that made `generation` (they come
    before its `reloaded` line, after the previous one), as sorted (key, value) tuples."""
    lines, previous_done = [], generation == 2
    for record in gate.events():
        event = record.get("event")
        if event == "reloaded":
            if record.get("generation") == generation - 1:
                previous_done = True
            elif record.get("generation") == generation:
                break
        elif previous_done and event in ("reload_listener", "reload_profile"):
            assert record.get("trigger") == trigger, record
            lines.append(record)
    keep = ("event", "listener", "profile", "change", "address", "settings", "cache")
    return sorted(tuple((k, line[k]) for k in keep if k in line) for line in lines)


def test_sighup_and_post_reload_log_the_same_changes(peers):
    """Listeners added, removed and changed, and profiles whose caches were dropped or kept, are
    named on the reload's lines; SIGHUP and POST /reload take one path and log the same ones."""
    responder = peers.responder()
    backend = peers.backend()
    port, second_port, third_port, admin_port = free_port(), free_port(), free_port(), free_port()
    other_profile = ('\n[revocation.other]\nmethods = ["ocsp"]\n[revocation.other.ocsp]\n'
                     f'responders = ["{responder.url}"]\nuse_aia = false\n')
    base = revocation_config(peers.pki, port, backend.port, responders=[responder.url]) + other_profile
    second = listener_config(peers.pki, second_port, backend.port, name="second")
    second = second[second.index("[[listener]]"):]
    third = listener_config(peers.pki, third_port, backend.port, name="third")
    third = third[third.index("[[listener]]"):]
    first_config = base + second + admin_section(admin_port)
    # The change: listener "second" goes, "third" comes, "test" gets another connect_timeout,
    # profile "r" another OCSP timeout (its cache dropped), profile "other" stays (cache kept).
    changed = (base.replace('connect_timeout = "2s"', 'connect_timeout = "3s"', 1)
               .replace('timeout = "1s"', 'timeout = "2s"', 1) + third + admin_section(admin_port))
    gate = peers.gate(first_config)

    gate.config_path.write_text(changed)
    gate.proc.send_signal(signal.SIGHUP)
    gate.wait_event("reloaded", generation=2, trigger="SIGHUP")
    gate.config_path.write_text(first_config)  # back, so that POST /reload can make the same change
    assert post_reload(admin_port)[0] == 200
    gate.config_path.write_text(changed)
    status, _, body = post_reload(admin_port)
    assert status == 200, body
    gate.wait_event("reloaded", generation=4, trigger="POST /reload")

    expected = sorted([
        (("event", "reload_listener"), ("listener", "test"), ("change", "changed"), ("address", f"127.0.0.1:{port}"),
         ("settings", "connect_timeout")),
        (("event", "reload_listener"), ("listener", "third"), ("change", "added"), ("address", f"127.0.0.1:{third_port}")),
        (("event", "reload_listener"), ("listener", "second"), ("change", "removed"),
         ("address", f"127.0.0.1:{second_port}")),
        (("event", "reload_profile"), ("profile", "other"), ("change", "unchanged"), ("cache", "kept")),
        (("event", "reload_profile"), ("profile", "r"), ("change", "changed"), ("cache", "dropped")),
    ])
    assert reload_events_after(gate, "SIGHUP", 2) == expected
    assert reload_events_after(gate, "POST /reload", 4) == expected
    for generation, trigger in ((2, "SIGHUP"), (4, "POST /reload")):
        assert gate.events("reload", trigger=trigger) and gate.events("reloaded", generation=generation, trigger=trigger)
    gate.stop_cleanly()
