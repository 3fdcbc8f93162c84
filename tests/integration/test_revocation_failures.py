"""Inline revocation when the responder fails: every kind of failure falls through the method
chain (to the CRL when configured, else fail closed), and pending checks neither block other
connections nor outlive the handshake timeout."""
import re
import ssl
import subprocess
import threading
import time

import pytest

from harness import (
    expect_accept, expect_reject, fetch_ocsp_response, refusal, refused_port, round_trip,
    tls_connect, wait_until)

UNKNOWN = "SSLV3_ALERT_CERTIFICATE_UNKNOWN"
TRY_LATER = b"\x30\x03\x0a\x01\x03"  # OCSPResponse { responseStatus tryLater(3) }, no responseBytes


def responder_down(peers):
    return f"http://127.0.0.1:{refused_port()}"  # nothing listens there


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


def test_handshake_timeout_bounds_the_wait_for_a_hanging_responder_and_the_client_hears_why(peers):
    # A 10 s responder timeout in a 1 s handshake: the lookup is planned to end in time to
    # send the verdict's alert (test_handshake_budget.py has the method chain).
    hanging = peers.fake("hang")
    gate = peers.proxy(responders=[hanging.url], timeout="10s", handshake_timeout="1s")
    started = time.monotonic()
    close = expect_reject(gate, "client-good", UNKNOWN, timeout=8)
    waited = time.monotonic() - started
    assert 0.7 <= waited < 2.0, waited  # the client's own clock; the server's is below
    assert close["duration_ms"] < 1000, close  # the alert went out before the handshake timer
    assert close["reason"] == "revocation status could not be determined", close
    assert re.search(r"no response within (8\d\d|900) ms", close["revocation_detail"]), close
    assert hanging.requests == 1
    hanging.close()
    gate.stop_cleanly()


def test_shutdown_does_not_wait_for_an_orphaned_lookup(peers):
    hanging = peers.fake("hang")
    gate = peers.proxy(responders=[hanging.url], timeout="10s", handshake_timeout="10s")
    with pytest.raises((ssl.SSLError, ConnectionError, TimeoutError, OSError)):
        with tls_connect(gate.pki, gate.port, "client-good", timeout=0.5) as c:
            c.recv(1)  # gives up after 0.5 s: the client leaves, its lookup goes on
    gate.wait_event("close", reason="client closed during handshake")
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
