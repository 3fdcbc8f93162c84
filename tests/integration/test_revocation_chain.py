"""Inline revocation beyond one handshake's leaf: `check = "chain"` asks about the intermediate
too, and a client offering an earlier session is not resumed but checked again."""
import shutil
import socket
import ssl
import subprocess

import pytest

from harness import client_context, expect_accept, expect_reject, mark_revoked, recv_exactly, wait_until

REVOKED = "SSLV3_ALERT_CERTIFICATE_REVOKED"
TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


def serial_of(pem) -> str:
    out = subprocess.check_output(["openssl", "x509", "-in", str(pem), "-noout", "-serial"], text=True)
    return out.strip().split("=", 1)[1].upper().lstrip("0")


def chain_gate(peers, pki, root_index):
    leaves = peers.responder(name="leaves")
    root = peers.responder(name="root", index=pki / root_index, ca="root-ca", signer="root-ca")
    gate = peers.proxy(responders=[leaves.url], check="chain", issuers=[(pki / "root-ca.pem", [root.url])])
    return gate, leaves, root


def test_chain_check_refuses_a_good_leaf_under_a_revoked_intermediate(peers, pki):
    gate, leaves, root = chain_gate(peers, pki, "root-index-revoked.txt")
    close = expect_reject(gate, "client-good", REVOKED)
    assert close["reason"] == "certificate revoked"
    assert (close["revocation"], close["revocation_method"], close["revocation_source"]) == ("revoked", "ocsp", root.url)
    assert close["revocation_serial"].upper().lstrip("0") == serial_of(pki / "issuing-ca.pem")
    assert close["serial"].upper().lstrip("0") == serial_of(pki / "client-good.pem")  # the client's own
    assert root.requests == 1
    gate.stop_cleanly()


def test_chain_check_accepts_when_leaf_and_intermediate_are_good(peers, pki):
    gate, leaves, root = chain_gate(peers, pki, "root-index.txt")
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_source"]) == ("good", leaves.url)  # the leaf is reported
    assert "revocation_serial" not in close
    assert (leaves.requests, root.requests) == (1, 1)  # each CA's responder asked about its own child
    gate.stop_cleanly()


def test_leaf_check_does_not_ask_about_the_intermediate(peers, pki):
    leaves = peers.responder(name="leaves")
    root = peers.responder(name="root", index=pki / "root-index-revoked.txt", ca="root-ca", signer="root-ca")
    gate = peers.proxy(responders=[leaves.url], check="leaf", issuers=[(pki / "root-ca.pem", [root.url])])
    expect_accept(gate, "client-good")
    assert (leaves.requests, root.requests) == (1, 0)
    gate.stop_cleanly()


def connect(ctx, port, session=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)


def echo(c, payload=b"ping"):
    c.sendall(payload)
    assert recv_exactly(c, len(payload)) == payload


@pytest.mark.parametrize("version", [TLS12, TLS13], ids=["tls1.2", "tls1.3"])
def test_offered_session_is_not_resumed_and_the_certificate_is_checked_again(peers, pki, version):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url], extra_ocsp='max_cache_ttl = "0s"')  # every check asks
    ctx = client_context(pki, "client-good", min_version=version, max_version=version)
    with connect(ctx, gate.port) as first:
        echo(first)
        session = first.session
    with connect(ctx, gate.port, session=session) as second:
        echo(second)
        assert not second.session_reused
    closes = gate.wait_event("close", count=2)
    assert [c["revocation_source"] for c in closes] == [ocsp.url, ocsp.url]
    assert ocsp.requests == 2
    gate.stop_cleanly()


@pytest.mark.parametrize("version", [TLS12, TLS13], ids=["tls1.2", "tls1.3"])
def test_client_offering_its_session_after_revocation_is_refused(peers, pki, tmp_path, version):
    index = tmp_path / "index.txt"
    shutil.copy(pki / "index.txt", index)
    ocsp = peers.responder(index=index)
    gate = peers.proxy(responders=[ocsp.url], extra_ocsp='max_cache_ttl = "0s"')
    ctx = client_context(pki, "client-good", min_version=version, max_version=version)
    with connect(ctx, gate.port) as first:
        echo(first)
        session = first.session
    mark_revoked(index, pki / "client-good.pem")
    # openssl ocsp notices a changed index only before the request after the next one.
    wait_until(lambda: ": revoked" in ocsp.query("client-good").stdout, 5, "the responder to reload its index")
    with pytest.raises(ssl.SSLError) as refused:
        with connect(ctx, gate.port, session=session) as second:
            second.recv(1)
    assert refused.value.reason == REVOKED
    close = gate.wait_event("close", decision="reject")[0]
    assert (close["revocation"], close["revocation_source"]) == ("revoked", ocsp.url)
    assert gate.backend.connections == 1  # the first connection only
    gate.stop_cleanly()
