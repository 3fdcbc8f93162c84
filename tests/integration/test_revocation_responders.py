"""Inline revocation: which responder is asked (configured, or the certificate's AIA, in the
configured order) and which signers and nonces its answers are accepted with."""
import pytest

from harness import expect_accept, expect_reject, fetch_ocsp_response, free_port, make_pki

REVOKED, UNKNOWN = "SSLV3_ALERT_CERTIFICATE_REVOKED", "SSLV3_ALERT_CERTIFICATE_UNKNOWN"


@pytest.fixture(scope="module")
def aia(tmp_path_factory):
    """A PKI whose certificates name our own ports: AIA OCSP -> .ocsp_port, CRL DP -> .crl_port."""
    class Aia:
        ocsp_port, crl_port = free_port(), free_port()
    Aia.pki = make_pki(tmp_path_factory.mktemp("aia-pki"), ocsp_port=Aia.ocsp_port, crl_port=Aia.crl_port)
    return Aia


# ---- where the request goes --------------------------------------------------------------

def test_responder_from_the_certificate_aia_is_used_when_none_is_configured(peers, aia):
    from_aia = peers.responder(pki=aia.pki, port=aia.ocsp_port)
    gate = peers.proxy(pki=aia.pki, responders=[], use_aia=True)
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_source"]) == ("good", f"http://127.0.0.1:{aia.ocsp_port}")
    assert from_aia.requests == 1
    gate.stop_cleanly()


@pytest.mark.parametrize("prefer", ["configured", "aia"])
def test_prefer_decides_whether_configured_or_aia_responder_is_asked_first(peers, aia, prefer):
    from_aia = peers.responder(pki=aia.pki, port=aia.ocsp_port, name="aia")
    configured = peers.responder(pki=aia.pki, name="configured")
    gate = peers.proxy(pki=aia.pki, responders=[configured.url], use_aia=True, prefer=prefer)
    close = expect_accept(gate, "client-good")
    first, other = (configured, from_aia) if prefer == "configured" else (from_aia, configured)
    assert close["revocation_source"] == first.url
    assert (first.requests, other.requests) == (1, 0)
    gate.stop_cleanly()


def test_aia_responder_is_asked_after_a_failing_configured_one(peers, aia):
    from_aia = peers.responder(pki=aia.pki, port=aia.ocsp_port)
    failing = peers.fake("status", status=500)
    gate = peers.proxy(pki=aia.pki, responders=[failing.url], use_aia=True, prefer="configured")
    close = expect_accept(gate, "client-good")
    assert close["revocation_source"] == from_aia.url
    assert (failing.requests, from_aia.requests) == (1, 1)
    gate.stop_cleanly()


def test_certificate_without_aia_and_no_configured_responder_fails_closed(peers, aia):
    gate = peers.proxy(pki=aia.pki, responders=[], use_aia=True)
    close = expect_reject(gate, "client-noaia", UNKNOWN)
    assert close["revocation"] == "undetermined"
    assert "no OCSP responder configured or in the certificate's AIA" in close["revocation_detail"], close
    gate.stop_cleanly()


def test_crl_from_the_certificate_distribution_point_decides_when_ocsp_fails(peers, aia):
    crl_server = peers.fake("body", body=(aia.pki / "issuing-ca.crl.der").read_bytes(), port=aia.crl_port,
                            content_type="application/pkix-crl")
    failing = peers.fake("status", status=500)
    gate = peers.proxy(pki=aia.pki, responders=[failing.url], methods=["ocsp", "crl"])
    close = expect_reject(gate, "client-revoked", REVOKED)
    assert (close["revocation_method"], close["revocation_source"]) == (
        "crl", f"http://127.0.0.1:{aia.crl_port}/issuing-ca.crl")
    assert crl_server.requests == 1
    gate.stop_cleanly()


# ---- who may sign ------------------------------------------------------------------------

def test_delegated_responder_with_ocsp_signing_eku_is_accepted(peers):
    ocsp = peers.responder(signer="ocsp-signer")
    gate = peers.proxy(responders=[ocsp.url])
    assert expect_accept(gate, "client-good")["revocation_source"] == ocsp.url
    assert "Responder Id: O = ocspgate test, CN = ocspgate OCSP Signer" in ocsp.output()
    gate.stop_cleanly()


def test_responder_without_ocsp_signing_eku_is_rejected(peers):
    ocsp = peers.responder(signer="ocsp-noeku")
    gate = peers.proxy(responders=[ocsp.url])
    close = expect_reject(gate, "client-revoked", UNKNOWN)  # not even a "revoked" is believed
    assert close["revocation"] == "undetermined"
    assert "unauthorized_signer" in close["revocation_detail"], close
    assert "lacks extendedKeyUsage id-kp-OCSPSigning" in close["revocation_detail"], close
    gate.stop_cleanly()


def test_root_signing_for_a_leaf_of_the_intermediate_is_rejected(peers):
    ocsp = peers.responder(ca="issuing-ca", signer="root-ca", probe_cert="client-good")
    gate = peers.proxy(responders=[ocsp.url])
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert close["revocation"] == "undetermined"
    assert "unauthorized_signer" in close["revocation_detail"], close
    assert "is not issued by the certificate's issuer" in close["revocation_detail"], close
    gate.stop_cleanly()


@pytest.mark.parametrize("signer, flags", [
    ("issuing-ca", ["-resp_no_certs"]),
    ("issuing-ca", ["-resp_key_id", "-resp_no_certs"]),
    ("ocsp-signer", ["-resp_key_id"]),
], ids=["issuer-no-certs", "issuer-key-id-no-certs", "delegated-key-id"])
def test_known_signer_is_accepted_with_key_id_or_without_certificates(peers, signer, flags):
    ocsp = peers.responder(signer=signer, extra=flags)
    gate = peers.proxy(responders=[ocsp.url])
    assert expect_accept(gate, "client-good")["revocation_source"] == ocsp.url
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation_source"] == ocsp.url
    answer = ocsp.output().split("OCSP Response Data")[-1]
    assert ("Responder Id: O = " not in answer) == ("-resp_key_id" in flags)  # byKey vs byName
    assert ("BEGIN CERTIFICATE" not in answer) == ("-resp_no_certs" in flags)
    gate.stop_cleanly()


def test_self_signed_responder_is_accepted_when_configured_as_trusted(peers, pki):
    ocsp = peers.responder(signer="ocsp-selfsigned", extra=["-resp_no_certs"])
    gate = peers.proxy(responders=[ocsp.url], extra_ocsp=f'responder_trust = ["{pki}/ocsp-selfsigned.pem"]')
    assert expect_accept(gate, "client-good")["revocation_source"] == ocsp.url
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation_source"] == ocsp.url
    assert "BEGIN CERTIFICATE" not in ocsp.output().split("OCSP Response Data")[-1]
    gate.stop_cleanly()


def test_self_signed_responder_is_rejected_when_not_configured(peers):
    ocsp = peers.responder(signer="ocsp-selfsigned")  # its certificate is in the response
    gate = peers.proxy(responders=[ocsp.url])
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert "unauthorized_signer" in close["revocation_detail"], close
    gate.stop_cleanly()


# ---- nonces ------------------------------------------------------------------------------

def test_requests_carry_a_nonce_by_default(peers):
    ocsp = peers.responder()  # its readiness probe sends none
    gate = peers.proxy(responders=[ocsp.url])
    expect_accept(gate, "client-good")
    assert ocsp.output().count("OCSP Nonce") == 2  # in our request and echoed in the response
    gate.stop_cleanly()


def test_nonce_off_sends_no_nonce_and_still_accepts(peers):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url], nonce=False)
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_source"]) == ("good", ocsp.url)
    assert ocsp.requests == 1 and "OCSP Nonce" not in ocsp.output()
    gate.stop_cleanly()


def test_response_without_nonce_is_rejected_when_a_nonce_is_required(peers):
    real = peers.responder()
    replay = peers.fake("body", body=fetch_ocsp_response(peers.pki, real.url, peers.workdir / "no-nonce.der",
                                                         nonce=False))
    gate = peers.proxy(responders=[replay.url], nonce="require")
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert "nonce_missing" in close["revocation_detail"], close
    gate.stop_cleanly()


def test_response_without_nonce_is_accepted_when_nonce_is_off(peers):
    real = peers.responder()
    replay = peers.fake("body", body=fetch_ocsp_response(peers.pki, real.url, peers.workdir / "no-nonce.der",
                                                         nonce=False))
    gate = peers.proxy(responders=[replay.url], nonce=False)
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_source"]) == ("good", replay.url)
    gate.stop_cleanly()


def test_get_requests_are_answered_like_post(peers):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url], extra_ocsp='request = "get"')
    assert expect_accept(gate, "client-good")["revocation_source"] == ocsp.url
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation_source"] == ocsp.url
    first_lines = [line for line in ocsp.output().splitlines() if "1st line" in line][1:]  # after the probe
    assert len(first_lines) == 2 and all("GET /" in line for line in first_lines), first_lines
    gate.stop_cleanly()
