"""Inline revocation: what the responder's answer (good, revoked, unknown) does to the
handshake, with a real `openssl ocsp` responder. Every rejection leaves the backend untouched."""
import ssl

import pytest

from harness import expect_accept, expect_reject, recv_exactly, tls_connect

TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
REVOKED, UNKNOWN = "SSLV3_ALERT_CERTIFICATE_REVOKED", "SSLV3_ALERT_CERTIFICATE_UNKNOWN"


@pytest.mark.parametrize("version", [TLS12, TLS13], ids=["tls1.2", "tls1.3"])
def test_good_certificate_is_forwarded_with_the_responder_as_source(peers, version):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url])
    close = expect_accept(gate, "client-good", min_version=version, max_version=version)
    assert (close["revocation"], close["revocation_method"], close["revocation_source"]) == ("good", "ocsp", ocsp.url)
    assert close["subject"].startswith("CN=client-good") and close["bytes_from_backend"] == 4
    assert ocsp.requests == 1
    gate.stop_cleanly()


@pytest.mark.parametrize("version", [TLS12, TLS13], ids=["tls1.2", "tls1.3"])
def test_revoked_certificate_gets_certificate_revoked_alert(peers, version):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url])
    close = expect_reject(gate, "client-revoked", REVOKED, min_version=version, max_version=version)
    assert close["reason"] == "certificate revoked"
    assert (close["revocation"], close["revocation_method"], close["revocation_source"]) == ("revoked", "ocsp", ocsp.url)
    assert close["subject"].startswith("CN=client-revoked") and close["bytes_from_client"] == 0
    assert not gate.events("accept")
    gate.stop_cleanly()


def test_unknown_treated_as_revoked_is_refused_with_certificate_unknown(peers):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url], unknown="revoked")
    close = expect_reject(gate, "client-unknown", UNKNOWN)
    assert close["reason"] == "certificate status unknown"
    assert (close["revocation"], close["revocation_method"]) == ("unknown", "ocsp")
    assert close["revocation_detail"] == "unknown treated as revoked"
    gate.stop_cleanly()


def test_unknown_treated_as_good_is_accepted(peers):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url], unknown="good")
    close = expect_accept(gate, "client-unknown")
    assert (close["revocation"], close["revocation_method"], close["revocation_source"]) == ("unknown", "ocsp", ocsp.url)
    assert close["revocation_detail"] == "unknown treated as good"
    gate.stop_cleanly()


def test_unknown_with_next_is_decided_by_the_crl(peers, pki):
    # client-unknown is not in the CRL, so the CRL (the next method) says good.
    ocsp = peers.responder()
    crl = pki / "issuing-ca.crl.pem"
    gate = peers.proxy(responders=[ocsp.url], unknown="next", methods=["ocsp", "crl"], crl_files=[crl])
    close = expect_accept(gate, "client-unknown")
    assert (close["revocation"], close["revocation_method"], close["revocation_source"]) == ("good", "crl", str(crl))
    assert close["revocation_detail"] == "after: ocsp: unknown"
    assert ocsp.requests == 1
    gate.stop_cleanly()


def test_unknown_with_next_and_no_further_method_fails_closed(peers):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url], unknown="next", methods=["ocsp"])
    close = expect_reject(gate, "client-unknown", UNKNOWN)
    assert close["reason"] == "revocation status could not be determined"
    assert close["revocation"] == "unknown"
    assert close["revocation_detail"] == "no method decided: ocsp: unknown"
    gate.stop_cleanly()


def test_revoked_from_crl_is_refused_even_though_ocsp_said_unknown(peers, pki):
    # The CRL is asked only after "unknown" (unknown = "next") and its "revoked" is final.
    ocsp = peers.responder(index=pki / "root-index.txt")  # knows no leaf: every leaf is unknown
    crl = pki / "issuing-ca.crl.pem"
    gate = peers.proxy(responders=[ocsp.url], unknown="next", methods=["ocsp", "crl"], crl_files=[crl])
    close = expect_reject(gate, "client-revoked", REVOKED)
    assert (close["revocation"], close["revocation_method"], close["revocation_source"]) == ("revoked", "crl", str(crl))
    gate.stop_cleanly()


def test_response_without_next_update_is_accepted_within_max_age(peers):
    ocsp = peers.responder(nmin=None)
    gate = peers.proxy(responders=[ocsp.url], extra_ocsp='max_age = "1h"')
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_source"]) == ("good", ocsp.url)
    assert "Next Update" not in ocsp.output().split("OCSP Response Data")[-1]  # really none
    gate.stop_cleanly()


def test_response_without_next_update_older_than_max_age_is_refused(peers):
    ocsp = peers.responder(nmin=None, faketime="-2d")
    gate = peers.proxy(responders=[ocsp.url], extra_ocsp='max_age = "1d"')
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert close["revocation"] == "undetermined"
    assert "too_old" in close["revocation_detail"], close
    gate.stop_cleanly()


def test_data_sent_while_the_check_is_pending_never_reaches_the_backend_when_revoked(peers):
    # TLS 1.3: the client's side of the handshake is complete before the server has decided,
    # so the client can send application data while the lookup is still running.
    real = peers.responder()
    slow = peers.fake("proxy", upstream=real.url, delay=0.3)
    gate = peers.proxy(responders=[slow.url])
    with pytest.raises(ssl.SSLError) as refused:
        with tls_connect(gate.pki, gate.port, "client-revoked", min_version=TLS13) as c:
            c.sendall(b"sent before the verdict")
            assert not gate.events("close")  # still deciding
            c.recv(1)
    assert refused.value.reason == REVOKED
    close = gate.wait_event("close")[0]
    assert (close["decision"], close["revocation"], close["bytes_from_client"]) == ("reject", "revoked", 0)
    assert gate.backend.connections == 0 and not gate.backend.received
    gate.stop_cleanly()


def test_data_sent_while_the_check_is_pending_is_forwarded_once_accepted(peers):
    real = peers.responder()
    slow = peers.fake("proxy", upstream=real.url, delay=0.3)
    gate = peers.proxy(responders=[slow.url])
    with tls_connect(gate.pki, gate.port, "client-good", min_version=TLS13) as c:
        c.sendall(b"sent before the verdict")
        assert not gate.events("accept")  # still deciding
        assert recv_exactly(c, 23) == b"sent before the verdict"
    close = gate.wait_event("close")[0]
    assert (close["decision"], close["revocation"], close["bytes_from_client"]) == ("accept", "good", 23)
    assert close["revocation_latency_us"] >= 250_000
    gate.stop_cleanly()
