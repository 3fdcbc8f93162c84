"""LDAP through ocspgate with a real OpenLDAP slapd and ldapsearch: LDAPS and StartTLS on the
client side, plain LDAP, PROXY v2 (pldap://) and LDAPS on the backend side, inline
revocation with a real `openssl ocsp` responder. See docs/LDAP.md."""
import socket

import pytest

from harness import free_port, mark_revoked
from ldap_peers import Slapd, gate_config, ldap_listener, ldapsearch

ENTRIES = 3000


@pytest.fixture(scope="module")
def slapd(tmp_path_factory, pki):
    server = Slapd(tmp_path_factory.mktemp("slapd"), pki, entries=ENTRIES)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def direct_ldif(slapd):
    """The whole directory as slapd itself returns it, to compare with what ocspgate delivers."""
    result = ldapsearch(f"ldap://127.0.0.1:{slapd.port}")
    assert result.returncode == 0, result.stderr
    return result.stdout


def start_gate(peers, pki, *listeners, responder=None, profiles=None):
    return peers.gate(gate_config(list(listeners), responder.url if responder else None, profiles))


def accepts(slapd) -> int:
    return slapd.output().count(" ACCEPT from ")


def test_ldaps_search_of_thousands_of_entries_is_complete_and_identical(peers, pki, slapd, direct_ldif):
    port = free_port()
    gate = start_gate(peers, pki, ldap_listener("ldaps", "ldaps", port, slapd.port, pki=pki))
    result = ldapsearch(f"ldaps://127.0.0.1:{port}", pki=pki)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(b"\ndn: ") + 1 == ENTRIES + 2
    assert result.stdout == direct_ldif
    close = gate.wait_event("close", listener="ldaps")[0]
    assert close["decision"] == "accept" and close["subject"].startswith("CN=client-good")
    gate.stop_cleanly()


def test_starttls_search_is_complete_and_identical(peers, pki, slapd, direct_ldif):
    port = free_port()
    gate = start_gate(peers, pki, ldap_listener("starttls", "ldap-starttls", port, slapd.port, pki=pki))
    result = ldapsearch(f"ldap://127.0.0.1:{port}", pki=pki, starttls=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == direct_ldif
    gate.stop_cleanly()


def test_search_without_starttls_gets_confidentiality_required_and_never_reaches_slapd(peers, pki, slapd):
    port = free_port()
    gate = start_gate(peers, pki, ldap_listener("starttls", "ldap-starttls", port, slapd.port, pki=pki))
    before = accepts(slapd)
    result = ldapsearch(f"ldap://127.0.0.1:{port}", pki=pki)
    assert result.returncode == 13, (result.returncode, result.stderr)
    assert b"Confidentiality required" in result.stderr
    assert b"StartTLS is required before this operation" in result.stderr
    gate.wait_event("close", listener="starttls")
    assert accepts(slapd) == before
    gate.stop_cleanly()


def test_tls_on_the_starttls_port_gets_a_notice_of_disconnection(peers, pki, slapd):
    port = free_port()
    gate = start_gate(peers, pki, ldap_listener("starttls", "ldap-starttls", port, slapd.port, pki=pki))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(bytes.fromhex("1603010005") + b"hello")  # a TLS record where LDAP was expected
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    assert answer.startswith(bytes.fromhex("304e02010078490a0102"))  # messageID 0, protocolError
    assert answer.endswith(b"\x8a\x161.3.6.1.4.1.1466.20036")
    close = gate.wait_event("close", listener="starttls")[0]
    assert close["reason"] == "LDAP protocol error before StartTLS: LDAPMessage does not start with a SEQUENCE"
    gate.stop_cleanly()


@pytest.mark.parametrize("protocol", ["ldaps", "ldap-starttls"])
def test_revoked_certificate_is_refused(peers, pki, slapd, protocol):
    ocsp = peers.responder()
    port = free_port()
    gate = start_gate(peers, pki, ldap_listener("ldap", protocol, port, slapd.port, revocation="ocsp", pki=pki),
                      responder=ocsp)
    before = accepts(slapd)
    scheme = "ldaps" if protocol == "ldaps" else "ldap"
    refused = ldapsearch(f"{scheme}://127.0.0.1:{port}", pki=pki, cert="client-revoked",
                         starttls=protocol != "ldaps", base="", scope="base")
    # TLS 1.3: the client learns of the certificate_revoked alert on its first read.
    assert refused.returncode != 0 and b"Can't contact LDAP server (-1)" in refused.stderr, refused.stderr
    close = gate.wait_event("close", listener="ldap")[0]
    assert (close["decision"], close["reason"], close["revocation"]) == ("reject", "certificate revoked", "revoked")
    good = ldapsearch(f"{scheme}://127.0.0.1:{port}", pki=pki, cert="client-good",
                      starttls=protocol != "ldaps", base="", scope="base")
    assert good.returncode == 0, good.stderr
    assert accepts(slapd) == before + 1  # only the good client reached slapd
    assert ocsp.requests == 2
    gate.stop_cleanly()


def test_proxy_v2_lets_slapd_see_the_client_address(peers, pki, slapd):
    port = free_port()
    gate = start_gate(peers, pki, ldap_listener("pldap", "ldaps", port, slapd.proxy_port, extra="proxy_protocol = true",
                                                pki=pki))
    result = ldapsearch(f"ldaps://127.0.0.1:{port}", pki=pki, base="", scope="base")
    assert result.returncode == 0, result.stderr
    peer = gate.wait_event("accept", listener="pldap")[0]["peer"]  # ldapsearch's own address and port
    assert f"IP={peer} (IP=127.0.0.1:{slapd.proxy_port})" in slapd.output()
    gate.stop_cleanly()


def backend_tls_listener(pki, port, slapd, ca, server_name=None, backend_revocation=None):
    extra = f'backend_tls = true\nbackend_ca = "{pki}/{ca}.pem"'
    if server_name:
        extra += f'\nbackend_server_name = "{server_name}"'
    if backend_revocation:
        extra += f'\nbackend_revocation = "{backend_revocation}"'
    return ldap_listener("ldaps-ldaps", "ldaps", port, slapd.ldaps_port, extra=extra, pki=pki)


def test_ldaps_backend_with_trusted_certificate_carries_the_whole_directory(peers, pki, slapd, direct_ldif):
    port = free_port()
    gate = start_gate(peers, pki, backend_tls_listener(pki, port, slapd, "clients-ca"))
    result = ldapsearch(f"ldaps://127.0.0.1:{port}", pki=pki)
    assert result.returncode == 0, result.stderr
    assert result.stdout == direct_ldif
    gate.stop_cleanly()


@pytest.mark.parametrize("ca, server_name, reason", [
    ("untrusted-ca", None, "backend certificate rejected: untrusted issuer"),
    ("clients-ca", "ldap.example.org", "backend certificate rejected: name mismatch"),
    ("clients-ca", "10.9.9.9", "backend certificate rejected: IP address mismatch"),
], ids=["untrusted-ca", "dns-name-mismatch", "ip-mismatch"])
def test_ldaps_backend_certificate_that_does_not_verify_is_refused(peers, pki, slapd, ca, server_name, reason):
    port = free_port()
    gate = start_gate(peers, pki, backend_tls_listener(pki, port, slapd, ca, server_name))
    result = ldapsearch(f"ldaps://127.0.0.1:{port}", pki=pki, base="", scope="base", timeout=20)
    assert result.returncode != 0 and b"dn:" not in result.stdout
    close = gate.wait_event("close", listener="ldaps-ldaps")[0]
    assert close["reason"] == reason
    assert close["decision"] == "backend_failed" and close["level"] == "warning", close  # reason label backend_tls
    gate.stop_cleanly()


def test_ldaps_backend_with_good_ocsp_status_is_used(peers, pki, slapd):
    ocsp = peers.responder()
    port = free_port()
    gate = start_gate(peers, pki, backend_tls_listener(pki, port, slapd, "clients-ca", backend_revocation="backend"),
                      profiles={"backend": ocsp.url})
    result = ldapsearch(f"ldaps://127.0.0.1:{port}", pki=pki, base="", scope="base")
    assert result.returncode == 0, result.stderr
    close = gate.wait_event("close", listener="ldaps-ldaps")[0]
    assert (close["backend_revocation"], close["backend_revocation_source"]) == ("good", ocsp.url)
    assert ocsp.requests == 1
    gate.stop_cleanly()


def test_ldaps_backend_with_revoked_certificate_is_refused(peers, pki, slapd, tmp_path):
    index = tmp_path / "index-server-revoked.txt"
    index.write_text((pki / "index.txt").read_text())
    mark_revoked(index, pki / "server.pem")  # slapd's certificate, as the responder sees it
    ocsp = peers.responder(index=index)
    port = free_port()
    gate = start_gate(peers, pki, backend_tls_listener(pki, port, slapd, "clients-ca", backend_revocation="backend"),
                      profiles={"backend": ocsp.url})
    result = ldapsearch(f"ldaps://127.0.0.1:{port}", pki=pki, base="", scope="base", timeout=20)
    assert result.returncode != 0 and b"dn:" not in result.stdout
    close = gate.wait_event("close", listener="ldaps-ldaps")[0]
    assert close["reason"] == "backend certificate rejected: certificate revoked"
    assert close["backend_revocation"] == "revoked"
    gate.stop_cleanly()
