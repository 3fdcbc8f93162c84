"""https:// responders: the query runs over TLS (our client role of tls::Engine), the
responder's certificate is verified against tls_ca, and tls_certificate is presented."""
from harness import Process, expect_accept, expect_reject, free_port, wait_until

REVOKED = "SSLV3_ALERT_CERTIFICATE_REVOKED"


def tls_front(peers, target_port: int, require_client_cert: bool) -> str:
    """socat terminating TLS (the test server certificate, IP SAN 127.0.0.1) in front of a
    plain responder; returns the https URL."""
    pki, port = peers.pki, free_port()
    verify = f"verify=1,cafile={pki}/clients-ca.pem" if require_client_cert else "verify=0"
    front = Process(["socat", f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,"
                     f"cert={pki}/server-chain.pem,key={pki}/server.key,{verify}",
                     f"TCP:127.0.0.1:{target_port}"], peers.workdir / f"socat-{port}.log")
    peers._started.append(front.stop)
    wait_until(lambda: f":{port:04X}" in open("/proc/net/tcp").read(), 5, "socat to listen")
    return f"https://127.0.0.1:{port}/"


def test_https_responder_answers_through_tls(peers):
    ocsp = peers.responder()
    url = tls_front(peers, ocsp.port, require_client_cert=False)
    gate = peers.proxy(responders=[url], extra_ocsp=f'tls_ca = "{peers.pki}/clients-ca.pem"')
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_source"]) == ("good", url)
    expect_reject(gate, "client-revoked", REVOKED)
    assert ocsp.requests == 2
    gate.stop_cleanly()


def test_https_responder_that_requires_a_client_certificate_gets_ours(peers):
    ocsp = peers.responder()
    url = tls_front(peers, ocsp.port, require_client_cert=True)
    gate = peers.proxy(responders=[url], extra_ocsp=f'tls_ca = "{peers.pki}/clients-ca.pem"\n'
                       f'tls_certificate = "{peers.pki}/client-good-chain.pem"\n'
                       f'tls_private_key = "{peers.pki}/client-good.key"')
    close = expect_accept(gate, "client-good")
    assert close["revocation_source"] == url
    gate.stop_cleanly()


def test_https_responder_with_an_untrusted_certificate_is_an_error(peers):
    ocsp = peers.responder()
    url = tls_front(peers, ocsp.port, require_client_cert=False)
    # Trust only the untrusted CA: the responder's certificate does not verify, so the
    # method fails and the profile (ocsp only) fails closed without asking the responder.
    gate = peers.proxy(responders=[url], extra_ocsp=f'tls_ca = "{peers.pki}/untrusted-ca.pem"')
    close = expect_reject(gate, "client-good", "SSLV3_ALERT_CERTIFICATE_UNKNOWN")
    assert "TLS to responder" in close["revocation_detail"], close
    assert ocsp.requests == 0
    # A set-up problem, not a passing one: a warning of its own, once for this responder.
    expect_reject(gate, "client-noaia", "SSLV3_ALERT_CERTIFICATE_UNKNOWN")
    warnings = gate.events("revocation_config_problem")
    assert [(w["responder"], w["kind"]) for w in warnings] == [(url, "tls")], warnings
    gate.stop_cleanly()
