"""Inline revocation when the responder fails: every kind of failure falls through the method
chain (to the CRL when configured, else fail closed), and pending checks neither block other
connections nor outlive the handshake timeout."""
import ssl
import subprocess
import threading
import time

import pytest

from harness import (expect_accept, expect_reject, fetch_ocsp_response, free_port, refusal, round_trip, tls_connect,
                     wait_until)

UNKNOWN = "SSLV3_ALERT_CERTIFICATE_UNKNOWN"
TRY_LATER = b"\x30\x03\x0a\x01\x03"  # OCSPResponse { responseStatus tryLater(3) }, no responseBytes


def responder_down(peers):
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


def responder_hanging(peers):
    return peers.fake("hang").url


def responder_garbage(peers):
    return peers.fake("body", body=b"<html>this is no OCSP response</html>").url


def responder_http_500(peers):
    return peers.fake("status", status=500).url


def responder_try_later(peers):
    return peers.fake("body", body=TRY_LATER).url


def responder_unauthorised_signer(peers):
    return peers.responder(signer="ocsp-noeku").url


def responder_replaying_other_nonce(peers):
    # A genuine response for the same certificate, captured earlier for a request with
    # another nonce, replayed to every request.
    real = peers.responder()
    captured = fetch_ocsp_response(peers.pki, real.url, peers.workdir / "captured.der", nonce=True)
    return peers.fake("body", body=captured).url


def responder_stale(peers):
    # Signed "ten days ago" with a 5-minute validity: nextUpdate is long past.
    return peers.responder(faketime="-10d", nmin=5).url


FAULTS = {  # fault -> (start it, what revocation_detail must say about it)
    "down": (responder_down, "connection refused"),
    "hanging": (responder_hanging, "no response within 500 ms"),
    "garbage": (responder_garbage, "malformed"),
    "http_500": (responder_http_500, "HTTP status 500"),
    "try_later": (responder_try_later, "try_later"),
    "unauthorised_signer": (responder_unauthorised_signer, "lacks extendedKeyUsage id-kp-OCSPSigning"),
    "wrong_nonce": (responder_replaying_other_nonce, "nonce_mismatch"),
    "stale": (responder_stale, "expired"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_responder_failure_falls_through_to_the_crl(peers, pki, fault):
    start, says = FAULTS[fault]
    url = start(peers)
    crl = pki / "issuing-ca.crl.pem"
    gate = peers.proxy(responders=[url], methods=["ocsp", "crl"], crl_files=[crl], timeout="500ms")
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_method"], close["revocation_source"]) == ("good", "crl", str(crl))
    assert says.lower() in close.get("revocation_detail", "").lower(), close
    gate.stop_cleanly()


@pytest.mark.parametrize("fault", list(FAULTS))
def test_responder_failure_without_another_method_fails_closed(peers, fault):
    start, says = FAULTS[fault]
    url = start(peers)
    gate = peers.proxy(responders=[url], methods=["ocsp"], timeout="500ms")
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert close["reason"] == "revocation status could not be determined"
    assert (close["revocation"], close["revocation_method"]) == ("undetermined", "ocsp")
    assert close["revocation_detail"].startswith(f"no method decided: ocsp: {url}: "), close
    assert says.lower() in close["revocation_detail"].lower(), close
    gate.stop_cleanly()


def test_handshake_timeout_bounds_the_wait_for_a_hanging_responder(peers):
    hanging = peers.fake("hang")
    gate = peers.proxy(responders=[hanging.url], timeout="10s", handshake_timeout="1s")
    started = time.monotonic()
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with tls_connect(gate.pki, gate.port, "client-good", timeout=8) as c:
            c.recv(1)  # TLS 1.3: our side of the handshake is done; the cut arrives here
            raise ConnectionResetError("the connection ended without an error")
    waited = time.monotonic() - started
    assert 0.9 <= waited <= 2.5, waited
    close = gate.wait_event("close")[0]
    assert close["decision"] == "reject", close
    assert close["reason"] == "handshake timeout (revocation check pending)", close
    assert 950 <= close["duration_ms"] <= 2000, close
    assert hanging.requests == 1
    assert gate.backend.connections == 0 and not gate.backend.received
    hanging.close()  # ends the orphaned lookup now (see the shutdown test below)
    gate.stop_cleanly()


def test_shutdown_does_not_wait_for_an_orphaned_lookup(peers):
    hanging = peers.fake("hang")
    gate = peers.proxy(responders=[hanging.url], timeout="10s", handshake_timeout="500ms")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with tls_connect(gate.pki, gate.port, "client-good", timeout=5) as c:
            c.recv(1)
            raise ConnectionResetError("the connection ended without an error")
    gate.wait_event("close", reason="handshake timeout (revocation check pending)")
    assert hanging.in_flight == 1  # the query outlived its only connection
    gate.proc.send_signal(15)  # no connection is open: nothing to drain
    try:
        gate.proc.wait(1.5)
    except subprocess.TimeoutExpired:
        raise AssertionError("ocspgate still running 1.5 s after SIGTERM with no open connection") from None
    finally:
        hanging.close()
    gate.stop_cleanly()


def test_cached_client_completes_while_another_handshake_waits_on_the_responder(peers):
    real = peers.responder()
    fake = peers.fake("proxy", upstream=real.url)  # relays for now, hangs after the switch below
    gate = peers.proxy(responders=[fake.url], timeout="1500ms")
    expect_accept(gate, "client-extra-01")  # its good answer is now cached
    fake.mode = "hang"
    outcome = {}

    def pending_client():
        try:
            outcome["alert"] = refusal(gate.pki, gate.port, "client-good").reason
        except Exception as e:  # recorded, asserted below
            outcome["error"] = repr(e)

    waiter = threading.Thread(target=pending_client)
    waiter.start()
    try:
        wait_until(lambda: fake.in_flight == 1, 3, "client-good's lookup to reach the responder")
        started = time.monotonic()
        echoed = round_trip(gate.pki, gate.port, "client-extra-01", b"still flowing")
        took = time.monotonic() - started
        still_pending = fake.in_flight == 1 and not [
            e for e in gate.events("close") if e["subject"].startswith("CN=client-good")]
    finally:
        waiter.join(10)
    assert echoed == b"still flowing" and took < 0.5, took
    assert still_pending, "client-good's check ended before the other client's round trip"
    assert outcome == {"alert": UNKNOWN}, outcome  # fails closed once its responder times out
    cached = gate.events("close", revocation_source="cache")
    assert len(cached) == 1 and cached[0]["subject"].startswith("CN=client-extra-01"), cached
    gate.stop_cleanly()
