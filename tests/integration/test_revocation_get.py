"""OCSP over GET never causes an outage (#19 point 2): a responder that refuses a GET is asked
again by POST at once, remembered as POST-only (one metric line, one note in the log), and later
lookups POST to it straight away."""
from harness import expect_accept, expect_reject, free_port, revocation_config
from prometheus import parse_metrics, value
from test_admin import get

REVOKED = "SSLV3_ALERT_CERTIFICATE_REVOKED"
GET = 'request = "get"'


def gate_with_admin(peers, **revocation):
    backend, port, admin_port = peers.backend(), free_port(), free_port()
    config = revocation_config(peers.pki, port, backend.port, **revocation)
    gate = peers.gate(config + f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
    gate.port, gate.backend, gate.pki, gate.admin_port = port, backend, peers.pki, admin_port
    return gate


def metrics(gate) -> dict:
    status, _, body = get(gate.admin_port, "/metrics")
    assert status == 200
    return parse_metrics(body.decode())


def test_get_refused_with_400_is_asked_again_by_post_and_later_lookups_post_straight_away(peers):
    real = peers.responder()
    broken_get = peers.fake("get-400", upstream=real.url)  # proxies POSTs to the real responder
    gate = gate_with_admin(peers, responders=[broken_get.url], extra_ocsp=GET)
    close = expect_accept(gate, "client-good")
    assert broken_get.methods == ["GET", "POST"]
    assert close["revocation_source"] == broken_get.url, close
    assert close["revocation_detail"] == (f"{broken_get.url} refused GET (HTTP status 400), asked by POST; "
                                          "POST only there for 1h"), close
    close = expect_reject(gate, "client-revoked", REVOKED)  # another certificate: not from the cache
    assert broken_get.methods == ["GET", "POST", "POST"]
    assert "revocation_detail" not in close, close
    samples = metrics(gate)
    labels = {"profile": "r", "responder": broken_get.url}
    assert value(samples, "ocspgate_revocation_responder_get_refused_total", **labels) == 1
    assert value(samples, "ocspgate_revocation_responder_post_only", **labels) == 1
    assert value(samples, "ocspgate_revocation_responder_errors_total", profile="r", kind="get_refused") == 1
    gate.stop_cleanly()


# OpenSSL 3.0's `openssl ocsp` serves GET only at the root: GET /PREFIX/<base64> is HTTP 400,
# while a POST to /PREFIX is answered. A responder URL with a path is common (AIA of CAs).
def test_openssl_ocsp_under_a_path_prefix_refuses_get_and_is_asked_by_post(peers):
    real = peers.responder()
    url = real.url + "/ocsp"
    gate = peers.proxy(responders=[url], extra_ocsp=GET)
    close = expect_accept(gate, "client-good")
    assert close["revocation_source"] == url, close
    assert close["revocation_detail"].startswith(f"{url} refused GET (HTTP status 400), asked by POST"), close
    assert real.requests == 1  # the refused GET never reached "OCSP Request Data"
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation_source"] == url
    assert real.requests == 2
    gate.stop_cleanly()


def test_get_that_works_is_kept(peers):
    real = peers.responder()
    gate = gate_with_admin(peers, responders=[real.url], extra_ocsp=GET)
    assert "revocation_detail" not in expect_accept(gate, "client-good")
    first_lines = [line for line in real.output().splitlines() if "1st line" in line][1:]  # after the probe
    assert len(first_lines) == 1 and "GET /" in first_lines[0], first_lines
    samples = metrics(gate)
    assert value(samples, "ocspgate_revocation_responder_post_only", profile="r", responder=real.url) == 0
    gate.stop_cleanly()
