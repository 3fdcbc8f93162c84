"""The handshake timeout is a budget the method chain plans for (#26 point 2): with every
responder hanging, each method still gets its turn within handshake_timeout and the client
hears the verdict's alert; --check-config warns when the attempts cannot all fit; and the
handshakes waiting for lookups are capped (server.max_awaiting_revocation)."""
import subprocess
import threading
import time
import urllib.request

from harness import expect_accept, expect_reject, free_port, ocspgate_binary, refusal, wait_until
from prometheus import parse_metrics, value

REVOKED = "SSLV3_ALERT_CERTIFICATE_REVOKED"
UNKNOWN = "SSLV3_ALERT_CERTIFICATE_UNKNOWN"


def crl_server(peers, pki):
    der = subprocess.run(["openssl", "crl", "-in", str(pki / "issuing-ca.crl.pem"), "-outform", "DER"],
                         check=True, stdout=subprocess.PIPE).stdout
    return peers.fake("body", body=der, content_type="application/pkix-crl")


def budget_gate(peers, pki, **kw):
    """Three hanging responders and a working CRL server, all at 3 s: 12 s of attempts in a
    4 s handshake."""
    hanging = [peers.fake("hang") for _ in range(3)]
    crl = crl_server(peers, pki)
    gate = peers.proxy(responders=[h.url for h in hanging], methods=["ocsp", "crl"], crl_urls=[crl.url],
                       timeout="3s", handshake_timeout="4s", **kw)
    return gate, hanging, crl


def test_hanging_responders_leave_the_crl_its_turn_within_the_handshake_timeout(peers, pki):
    gate, hanging, crl = budget_gate(peers, pki)
    started = time.monotonic()
    close = expect_reject(gate, "client-revoked", REVOKED, timeout=8)
    took = time.monotonic() - started
    assert took < 4.0, f"decided after {took:.2f} s, beyond handshake_timeout"
    assert (close["revocation"], close["revocation_method"]) == ("revoked", "crl"), close
    assert [h.requests for h in hanging] == [1, 1, 1], "every responder got its (shortened) turn"
    assert crl.requests == 1
    # The good certificate: its own OCSP lookup is cut the same way, the CRL is now held.
    started = time.monotonic()
    close = expect_accept(gate, "client-good", timeout=8)
    assert time.monotonic() - started < 4.0
    assert (close["revocation"], close["revocation_method"]) == ("good", "crl"), close
    for h in hanging:
        h.close()
    gate.stop_cleanly()


def test_check_config_warns_naming_handshake_timeout_when_the_attempts_cannot_fit(peers, pki):
    gate, hanging, _ = budget_gate(peers, pki)
    r = subprocess.run([ocspgate_binary(), "--check-config", "--config", str(gate.config_path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert "warning: handshake_timeout: 4s leaves 3750ms for the revocation check" in err, err
    assert 'profile "r" may take 12s (ocsp 3 x 3s + crl 3s)' in err, err
    for h in hanging:
        h.close()
    gate.stop_cleanly()


def test_a_chain_that_fits_gets_no_warning(peers, pki, tmp_path):
    gate = peers.proxy(responders=["http://127.0.0.1:1/"], methods=["ocsp", "crl"], timeout="1s",
                       handshake_timeout="5s")
    r = subprocess.run([ocspgate_binary(), "--check-config", "--config", str(gate.config_path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert r.returncode == 0 and "handshake_timeout" not in r.stderr.decode(), r.stderr.decode()
    gate.stop_cleanly()


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return parse_metrics(r.read().decode())


def test_handshakes_waiting_for_lookups_are_capped(peers):
    hanging = peers.fake("hang")
    admin_port = free_port()
    gate = peers.proxy(responders=[hanging.url], timeout="10s", handshake_timeout="10s",
                       extra_server="max_awaiting_revocation = 2",
                       extra_profile=f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
    outcomes = []

    def waiting_client():
        try:
            outcomes.append(refusal(gate.pki, gate.port, "client-good", timeout=15).reason)
        except Exception as e:  # recorded, asserted below
            outcomes.append(repr(e))

    waiters = [threading.Thread(target=waiting_client) for _ in range(2)]
    for w in waiters:
        w.start()
    try:
        wait_until(lambda: value(metrics(admin_port), "ocspgate_handshakes_awaiting_revocation") == 2, 5,
                   "two handshakes waiting")
        started = time.monotonic()
        close = expect_reject(gate, "client-extra-01", UNKNOWN)
        assert time.monotonic() - started < 1.0, "the third was refused at once, not left waiting"
        assert close["revocation"] == "undetermined", close
        assert "max_awaiting_revocation" in close["revocation_detail"], close
        m = metrics(admin_port)
        assert value(m, "ocspgate_handshakes_refused_awaiting_full_total") == 1
        assert value(m, "ocspgate_handshakes_awaiting_revocation") == 2
    finally:
        hanging.close()  # the two waiting handshakes now fail closed
        for w in waiters:
            w.join(15)
    assert outcomes == [UNKNOWN, UNKNOWN], outcomes
    wait_until(lambda: value(metrics(admin_port), "ocspgate_handshakes_awaiting_revocation") == 0, 5,
               "the slots to be given back")
    gate.stop_cleanly()
