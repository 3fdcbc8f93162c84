"""Re-validation of established connections ("Check Every", recheck_interval) and
close_on_expiry: a certificate revoked at the responder after the handshake, a responder
that stops answering, and a certificate that expires while its connection is open."""
import shutil
import ssl
import time

import pytest

from harness import (MemoryTlsClient, free_port, issue_certificate, listener_config, mark_revoked, recv_exactly,
                     tls_connect, wait_until)

INTERVAL = 2  # seconds; every test stays within a few intervals


def rechecking_gate(peers, responder, **kw):
    kw.setdefault("extra_profile", f'recheck_interval = "{INTERVAL}s"')
    # Answers stay cached for 1 s only, so each re-validation reaches the responder.
    return peers.proxy(responders=[responder.url], extra_ocsp='max_cache_ttl = "1s"', **kw)


def echo(conn, payload=b"ping"):
    conn.sendall(payload)
    assert recv_exactly(conn, len(payload)) == payload


def assert_closed_by_gate(conn, timeout):
    """The gate ends the connection: a close_notify or EOF arrives without us sending anything."""
    conn.settimeout(timeout)
    try:
        assert conn.recv(1) == b""
    except (ssl.SSLEOFError, ConnectionResetError):
        pass


def assert_alerted_by_gate(conn, timeout, reason):
    """The gate ends the connection with a TLS alert (TLS 1.3, own record layer), read as an error."""
    conn.settimeout(timeout)
    with pytest.raises(ssl.SSLError) as raised:
        conn.recv(1)
    assert raised.value.reason == reason, raised.value


def test_certificate_revoked_after_the_handshake_is_cut_within_one_interval(peers, tmp_path):
    index = tmp_path / "index.txt"
    shutil.copy(peers.pki / "index.txt", index)
    ocsp = peers.responder(index=index)
    gate = rechecking_gate(peers, ocsp)
    victim = tls_connect(gate.pki, gate.port, cert="client-good")
    bystander = tls_connect(gate.pki, gate.port, cert="client-extra-01")
    echo(victim)
    echo(bystander)

    mark_revoked(index, peers.pki / "client-good.pem")
    # `openssl ocsp` notices a changed index only after the next request it serves: make that
    # request here, so that from now on it answers "revoked".
    ocsp.query("client-good", nonce=False)
    assert ": revoked" in ocsp.query("client-good", nonce=False).stdout
    revoked_at = time.monotonic()
    end = gate.wait_event("session_end", timeout=INTERVAL + 5)[0]
    elapsed = time.monotonic() - revoked_at
    assert elapsed <= INTERVAL + 1, f"cut {elapsed:.1f}s after the revocation (interval {INTERVAL}s)"
    assert end["cause"] == "certificate_revoked" and end["revocation"] == "revoked"
    assert end["subject"] == "CN=client-good,O=ocspgate test" and end["serial"] and end["issuer"]
    assert end["alert"] == "certificate revoked", end
    assert_alerted_by_gate(victim, 5, "SSLV3_ALERT_CERTIFICATE_REVOKED")
    close = gate.wait_event("close", reason="client certificate revoked during the session")[0]
    assert close["revocation"] == "revoked" and close["revocation_source"] == ocsp.url
    # A cut, not an accept: both lines at warning level, the close line with decision=cut.
    assert end["level"] == "warning" and close["level"] == "warning", (end, close)
    assert close["decision"] == "cut" and close["conn"] == end["conn"], close
    assert gate.backend.connections >= 2

    echo(bystander, b"still here")  # other certificates keep their connections
    bystander.close()
    victim.close()
    gate.stop_cleanly()


@pytest.mark.parametrize("own_record_layer", [True, False])
def test_a_tls12_connection_or_one_openssl_keeps_is_cut_with_close_notify(peers, tmp_path, own_record_layer):
    """OpenSSL 3.0 cannot send an alert after the handshake: where it keeps the connection
    (TLS 1.2 always, TLS 1.3 with own_record_layer = false) the cut is a close_notify."""
    index = tmp_path / "index.txt"
    shutil.copy(peers.pki / "index.txt", index)
    ocsp = peers.responder(index=index)
    gate = rechecking_gate(peers, ocsp, extra_tls="" if own_record_layer else "own_record_layer = false")
    version = ssl.TLSVersion.TLSv1_2 if own_record_layer else ssl.TLSVersion.TLSv1_3
    conn = tls_connect(gate.pki, gate.port, cert="client-good", max_version=version)
    echo(conn)
    mark_revoked(index, peers.pki / "client-good.pem")
    ocsp.query("client-good", nonce=False)
    end = gate.wait_event("session_end", timeout=INTERVAL + 5)[0]
    assert end["cause"] == "certificate_revoked" and end["alert"] == "none (close_notify)", end
    assert_closed_by_gate(conn, 5)
    conn.close()
    gate.stop_cleanly()


def test_good_certificate_is_rechecked_every_interval_and_stays_connected(peers):
    ocsp = peers.responder()
    gate = rechecking_gate(peers, ocsp)
    with tls_connect(gate.pki, gate.port, cert="client-good") as conn:
        echo(conn)
        handshake_queries = ocsp.requests
        time.sleep(2.5 * INTERVAL)
        echo(conn, b"after three intervals")
        # 0.8-1.0 of the interval apart: at least two re-validations in 2.5 intervals.
        assert ocsp.requests - handshake_queries >= 2, ocsp.output()[-2000:]
    assert not gate.events("session_end")
    close = gate.wait_event("close")[0]
    assert close["decision"] == "accept" and close["level"] == "info", close
    gate.stop_cleanly()


def test_rechecks_of_many_connections_share_queries(peers):
    ocsp = peers.responder()
    gate = rechecking_gate(peers, ocsp)
    conns = [tls_connect(gate.pki, gate.port, cert="client-good") for _ in range(20)]
    for c in conns:
        echo(c)
    before = ocsp.requests
    time.sleep(INTERVAL + 0.5)
    # 20 connections, one certificate: re-validation goes through the cache and coalescing,
    # so a round costs about one query per cache lifetime, not one per connection.
    assert ocsp.requests - before <= 4, ocsp.requests - before
    for c in conns:
        echo(c)
        c.close()
    gate.stop_cleanly()


@pytest.mark.parametrize("methods,cut", [(("ocsp",), True), (("ocsp", "none"), False)])
def test_responder_gone_during_the_session_follows_the_profile_policy(peers, methods, cut):
    ocsp = peers.responder()
    gate = rechecking_gate(peers, ocsp, methods=methods, timeout="500ms")
    with tls_connect(gate.pki, gate.port, cert="client-good") as conn:
        echo(conn)
        ocsp.stop()
        if cut:
            end = gate.wait_event("session_end", timeout=INTERVAL + 5)[0]
            assert end["cause"] == "certificate_refused" and end["revocation"] == "undetermined", end
            assert_alerted_by_gate(conn, 5, "SSLV3_ALERT_CERTIFICATE_UNKNOWN")
            close = gate.wait_event("close", decision="cut")[0]
            assert close["level"] == "warning" and end["level"] == "warning", (end, close)
            assert close["reason"].startswith("client certificate refused on re-validation"), close
        else:
            time.sleep(2 * INTERVAL + 0.5)
            echo(conn, b"soft-fail keeps it")
            assert not gate.events("session_end")
    gate.stop_cleanly()


def expiring_gate(peers, tmp_path, close_on_expiry: bool):
    backend = peers.backend()
    port = free_port()
    extra_tls = "" if close_on_expiry else "close_on_expiry = false"
    gate = peers.gate(listener_config(peers.pki, port, backend.port, extra_tls=extra_tls))
    gate.port, gate.backend, gate.pki = port, backend, peers.pki
    return gate


@pytest.mark.parametrize("close_on_expiry", [True, False])
def test_connection_closes_when_the_client_certificate_expires(peers, tmp_path, close_on_expiry):
    pki = tmp_path / "pki"
    shutil.copytree(peers.pki, pki)
    issue_certificate(pki, pki, "client-short", "client-short", valid_seconds=4)
    gate = expiring_gate(peers, tmp_path, close_on_expiry)
    conn = tls_connect(pki, gate.port, cert="client-short")
    echo(conn)
    if close_on_expiry:
        end = gate.wait_event("session_end", timeout=10)[0]
        assert end["cause"] == "certificate_expired" and end["subject"] == "CN=client-short,O=ocspgate test"
        assert end["alert"] == "certificate expired", end
        assert_alerted_by_gate(conn, 5, "SSLV3_ALERT_CERTIFICATE_EXPIRED")
        close = gate.wait_event("close", reason="client certificate expired during the session")[0]
        assert close["decision"] == "cut" and close["level"] == "warning", close
    else:
        time.sleep(5)
        echo(conn, b"no expiry check")
    conn.close()
    gate.stop_cleanly()
