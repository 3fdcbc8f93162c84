"""CRL distribution points that are not http:// (ldap://, which Microsoft AD CS lists first) are
skipped in favour of the certificate's http:// ones, noted once in the revocation detail; a
certificate whose only points are ldap:// gets a detail that says so (fail closed)."""
from pathlib import Path

from crl_pki import issue_client
from harness import expect_accept, expect_reject

LDAP_DP = "ldap://dc1.corp.test/CN=issuing-ca?certificateRevocationList?base"  # no commas: openssl.cnf syntax


def issue_with_crl_points(pki: Path, name: str, points: list[str]) -> None:
    """A client certificate from issuing-ca with these CRL distribution points, in this order."""
    issue_client(pki, name, "crlDistributionPoints = " + ", ".join(f"URI:{p}" for p in points) + "\n")


def test_an_ldap_point_listed_first_is_skipped_for_the_http_one_and_noted_once(peers, pki):
    origin = peers.fake("body", body=(pki / "issuing-ca.crl.der").read_bytes(), content_type="application/pkix-crl")
    issue_with_crl_points(pki, "client-ldap-first", [LDAP_DP, f"http://127.0.0.1:{origin.port}/issuing-ca.crl"])
    gate = peers.proxy(methods=["crl"])  # no crl.urls: the certificate's points are used
    first = expect_accept(gate, "client-ldap-first")
    assert first["revocation_method"] == "crl"
    assert f"skipped CRL DP {LDAP_DP} (only http:// is fetched" in first["revocation_detail"], first
    second = expect_accept(gate, "client-ldap-first")
    assert "skipped" not in second.get("revocation_detail", ""), second
    assert origin.requests == 1
    gate.stop_cleanly()


def test_only_ldap_points_fail_closed_with_a_detail_that_says_so(peers, pki):
    issue_with_crl_points(pki, "client-ldap-only", [LDAP_DP])
    gate = peers.proxy(methods=["crl"])
    close = expect_reject(gate, "client-ldap-only", "SSLV3_ALERT_CERTIFICATE_UNKNOWN")
    assert "CRL distribution points are not http://" in close["revocation_detail"], close
    gate.stop_cleanly()
