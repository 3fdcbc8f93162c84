"""The CRL method on CRLs as real CAs publish them (RFC 5280 §5, §6.3; issue #18): partitions by
reason and by distribution point, CRLs of CA certificates only, delta CRLs, a separate
CRL-signing key, and CRLs that must not be used (indirect, an unknown critical extension of the
CRL or of an entry, a signature that does not verify, expired beyond the grace, from the future,
rolled back). The same cases against `openssl verify`: test_crl_openssl_crosscheck.py. Every CRL
is made by crl_pki.py (`openssl ca -gencrl` but for the two a CA would not publish) and every
verdict is a real TLS handshake through the binary. Whatever the CRLs cannot decide is no answer
from the CRL method: with no other method, the client is refused with certificate_unknown, never
let in."""
import datetime
import os
import shutil

from concurrent_clients import attempt
from crl_pki import (HOLD, KEY_COMPROMISE, REMOVE, UNKNOWN_OID, CrlMaker, delta_of, issue_client,
                     issuing_distribution_point, naming_deltas, now, only_some_reasons, unknown_critical_extension)
from harness import expect_accept, expect_reject, free_port, wait_until
from prometheus import parse_metrics, value
from test_admin import get

REVOKED = "SSLV3_ALERT_CERTIFICATE_REVOKED"
UNKNOWN = "SSLV3_ALERT_CERTIFICATE_UNKNOWN"
COMPROMISES = ("keyCompromise", "CACompromise", "AACompromise")
OTHER_REASONS = ("affiliationChanged", "superseded", "cessationOfOperation", "certificateHold", "privilegeWithdrawn")
CLIENT_DP = "http://127.0.0.1:8889/issuing-ca.crl"  # the session PKI's clients' cRLDistributionPoints
OTHER_DP = "http://127.0.0.1:8889/partition-2.crl"


def maker(peers):
    return CrlMaker(peers.pki, peers.workdir / "crls")


def no_answer(gate, cert: str, says: str) -> dict:
    close = expect_reject(gate, cert, UNKNOWN)
    assert (close["revocation"], close["revocation_method"]) == ("undetermined", "crl"), close
    assert says in close["revocation_detail"], close
    return close


# --- reasons (§6.3.3 d, j) ---------------------------------------------------------------

def test_reason_partitions_that_cover_every_reason_together_decide(peers):
    m = maker(peers)
    compromises = m.crl("compromises", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                        extensions=only_some_reasons(*COMPROMISES))
    others = m.crl("others", number=1, extensions=only_some_reasons(*OTHER_REASONS))
    gate = peers.proxy(methods=["crl"], crl_files=[compromises, others])
    close = expect_accept(gate, "client-good")
    assert str(compromises) in close["revocation_source"] and str(others) in close["revocation_source"], close
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation_source"] == str(compromises)
    gate.stop_cleanly()


def test_reason_partitions_that_leave_a_reason_uncovered_give_no_answer(peers):
    m = maker(peers)
    compromises = m.crl("compromises", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                        extensions=only_some_reasons(*COMPROMISES))
    gate = peers.proxy(methods=["crl"], crl_files=[compromises])
    no_answer(gate, "client-good", "cover only the reasons keyCompromise,cACompromise,aACompromise")
    expect_reject(gate, "client-revoked", REVOKED)  # a listing revokes whatever else is missing
    gate.stop_cleanly()


# --- scope: distribution points, certificate kinds (§5.2.5, §6.3.3 b) ---------------------

def test_a_partition_whose_idp_names_the_certificates_distribution_point_decides(peers):
    partition = maker(peers).crl("partition", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                                 extensions=issuing_distribution_point(full_name=CLIENT_DP))
    gate = peers.proxy(methods=["crl"], crl_files=[partition])
    assert expect_accept(gate, "client-good")["revocation_source"] == str(partition)
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation_source"] == str(partition)
    gate.stop_cleanly()


def test_a_partition_whose_idp_names_another_distribution_point_is_no_answer_even_for_a_listed_client(peers):
    partition = maker(peers).crl("partition", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                                 extensions=issuing_distribution_point(full_name=OTHER_DP))
    gate = peers.proxy(methods=["crl"], crl_files=[partition])
    says = "out_of_scope: CRL's issuingDistributionPoint is none of the certificate's distribution points"
    no_answer(gate, "client-good", says)
    no_answer(gate, "client-revoked", says)  # it speaks for other certificates, not this one
    gate.stop_cleanly()


def test_a_crl_of_ca_certificates_only_is_no_answer_for_a_client(peers):
    only_ca = maker(peers).crl("only-ca", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                               extensions=issuing_distribution_point(only_ca=True))
    gate = peers.proxy(methods=["crl"], crl_files=[only_ca])
    no_answer(gate, "client-good", "out_of_scope: CRL covers CA certificates only")
    no_answer(gate, "client-revoked", "out_of_scope: CRL covers CA certificates only")
    gate.stop_cleanly()


def test_a_roots_crl_of_ca_certificates_only_decides_the_intermediate_with_the_chain_check(peers):
    m = maker(peers)
    roots = m.crl("root-only-ca", number=1, ca="root-ca", revoked={"issuing-ca": KEY_COMPROMISE},
                  extensions=issuing_distribution_point(only_ca=True))
    gate = peers.proxy(methods=["crl"], check="chain", crl_files=[peers.pki / "issuing-ca.crl.pem", roots])
    close = expect_reject(gate, "client-good", REVOKED)
    assert close["revocation_source"] == str(roots), close
    gate.stop_cleanly()


# --- CRLs that must not be used at all (§5.2.5, §5.3, §6.3.3 f) ----------------------------

def test_an_indirect_crl_is_never_used(peers):
    crl = maker(peers).crl("indirect", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                           extensions=issuing_distribution_point(indirect=True))
    gate = peers.proxy(methods=["crl"], crl_files=[crl])
    no_answer(gate, "client-good", "unsupported: indirect CRLs are not supported")
    no_answer(gate, "client-revoked", "unsupported: indirect CRLs are not supported")
    gate.stop_cleanly()


def test_a_crl_with_an_unknown_critical_extension_is_never_used(peers):
    crl = maker(peers).crl("critical", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                           extensions=unknown_critical_extension())
    gate = peers.proxy(methods=["crl"], crl_files=[crl])
    no_answer(gate, "client-good", "unsupported: unsupported critical CRL extension (unknown OID)")
    no_answer(gate, "client-revoked", "unsupported: unsupported critical CRL extension (unknown OID)")
    gate.stop_cleanly()


def test_a_crl_with_an_unknown_critical_entry_extension_is_never_used_even_for_other_clients(peers):
    crl = maker(peers).with_entry_extension("critical-entry", number=1, revoked="client-revoked", oid=UNKNOWN_OID)
    gate = peers.proxy(methods=["crl"], crl_files=[crl])
    says = "unsupported: unsupported critical CRL entry extension (unknown OID)"
    no_answer(gate, "client-good", says)  # §5.3: not used for any certificate
    no_answer(gate, "client-revoked", says)
    gate.stop_cleanly()


def test_a_crl_whose_signature_does_not_verify_is_never_used(peers):
    m = maker(peers)
    genuine = m.crl("genuine", number=1, revoked={"client-revoked": KEY_COMPROMISE})
    tampered = m.tampered(genuine, "tampered")
    gate = peers.proxy(methods=["crl"], crl_files=[tampered])
    says = "bad_signature: CRL signature does not verify with the issuer's key"
    no_answer(gate, "client-good", says)
    no_answer(gate, "client-revoked", says)
    gate.stop_cleanly()


# --- delta CRLs (§5.2.4, §6.3.3 c) -------------------------------------------------------

def test_a_revocation_published_only_in_the_delta_revokes(peers):
    m = maker(peers)
    base = m.crl("base", number=10, extensions=naming_deltas())
    delta = m.crl("delta", number=11, revoked={"client-revoked": KEY_COMPROMISE}, extensions=delta_of(10))
    gate = peers.proxy(methods=["crl"], crl_files=[base, delta])
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation_source"] == str(delta)
    assert expect_accept(gate, "client-good")["revocation_source"] == f"{base} + {delta}"
    gate.stop_cleanly()


def test_remove_from_crl_in_the_delta_takes_a_client_off_hold(peers):
    m = maker(peers)
    base = m.crl("base", number=10, revoked={"client-good": HOLD})
    delta = m.crl("delta", number=11, revoked={"client-good": REMOVE}, extensions=delta_of(10))
    on_hold = peers.proxy(methods=["crl"], crl_files=[base])
    expect_reject(on_hold, "client-good", REVOKED)
    on_hold.stop_cleanly()
    released = peers.proxy(methods=["crl"], crl_files=[base, delta])
    expect_accept(released, "client-good")
    released.stop_cleanly()


def test_a_base_that_names_deltas_without_one_held_is_no_answer_unless_deltas_are_optional(peers):
    m = maker(peers)
    base = m.crl("base", number=10, extensions=naming_deltas())
    strict = peers.proxy(methods=["crl"], crl_files=[base])
    no_answer(strict, "client-good", "delta_missing")
    strict.stop_cleanly()
    lenient = peers.proxy(methods=["crl"], crl_files=[base], extra_crl="delta_required = false")
    expect_accept(lenient, "client-good")
    lenient.stop_cleanly()


def test_no_answers_are_counted_by_reason(peers):
    m = maker(peers)
    base = m.crl("base", number=10, extensions=naming_deltas())
    admin_port = free_port()
    gate = peers.proxy(methods=["crl"], crl_files=[base],
                       extra_crl=f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"')
    no_answer(gate, "client-good", "delta_missing")
    no_answer(gate, "client-good", "delta_missing")  # each lookup counts, not each CRL
    counted = parse_metrics(get(admin_port, "/metrics")[2].decode())
    assert value(counted, "ocspgate_revocation_crl_no_answer_total", profile="r", reason="crl_delta_missing") == 2
    gate.stop_cleanly()


def test_base_and_delta_downloaded_from_configured_urls(peers):
    m = maker(peers)
    base = m.crl("base", number=20, extensions=naming_deltas())
    delta = m.crl("delta", number=21, revoked={"client-revoked": KEY_COMPROMISE}, extensions=delta_of(20))
    base_server = peers.fake("body", body=base.read_bytes(), content_type="application/pkix-crl")
    delta_server = peers.fake("body", body=delta.read_bytes(), content_type="application/pkix-crl")
    gate = peers.proxy(methods=["crl"], crl_urls=[base_server.url + "/base.crl", delta_server.url + "/delta.crl"])
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation_source"] == delta_server.url + "/delta.crl"
    expect_accept(gate, "client-good")
    gate.stop_cleanly()


# --- delta CRLs found through freshestCRL (§5.2.6, §4.2.1.15) -------------------------------
# With no crl.urls configured, the certificate's distribution points are downloaded, and the
# delta CRLs that the certificate or the complete CRL names in freshestCRL are followed.

def crl_server(peers, path):
    return peers.fake("body", body=path.read_bytes(), content_type="application/pkix-crl")


def test_the_delta_that_the_downloaded_base_names_is_fetched_and_revokes(peers):
    m = maker(peers)
    delta_server = peers.fake("body", body=b"", content_type="application/pkix-crl")  # its body comes below
    base = m.crl("base", number=30, extensions=naming_deltas(delta_server.url + "/delta.crl"))
    base_server = crl_server(peers, base)
    for name in ("client-delta-named", "client-delta-good"):
        issue_client(peers.pki, name, f"crlDistributionPoints = URI:{base_server.url}/base.crl\n")
    delta = m.crl("delta", number=31, revoked={"client-delta-named": KEY_COMPROMISE}, extensions=delta_of(30))
    delta_server.body = delta.read_bytes()
    gate = peers.proxy(methods=["crl"])
    assert expect_reject(gate, "client-delta-named", REVOKED)["revocation_source"] == delta_server.url + "/delta.crl"
    good = expect_accept(gate, "client-delta-good")
    assert good["revocation_source"] == f"{base_server.url}/base.crl + {delta_server.url}/delta.crl", good
    assert (base_server.requests, delta_server.requests) == (1, 1)
    gate.stop_cleanly()


def test_the_delta_that_the_certificate_names_is_fetched_and_revokes(peers):
    m = maker(peers)
    base_server = crl_server(peers, m.crl("base", number=40))
    delta_server = peers.fake("body", body=b"", content_type="application/pkix-crl")
    issue_client(peers.pki, "client-names-delta", f"crlDistributionPoints = URI:{base_server.url}/base.crl\n"
                                                  f"freshestCRL = URI:{delta_server.url}/delta.crl\n")
    delta = m.crl("delta", number=41, revoked={"client-names-delta": KEY_COMPROMISE}, extensions=delta_of(40))
    delta_server.body = delta.read_bytes()
    gate = peers.proxy(methods=["crl"])
    assert expect_reject(gate, "client-names-delta", REVOKED)["revocation_source"] == delta_server.url + "/delta.crl"
    gate.stop_cleanly()


def test_a_delta_named_by_the_base_that_cannot_be_fetched_is_no_answer(peers):
    m = maker(peers)
    missing = peers.fake("status", status=404)
    base_server = crl_server(peers, m.crl("base", number=50, extensions=naming_deltas(missing.url + "/delta.crl")))
    issue_client(peers.pki, "client-delta-missing", f"crlDistributionPoints = URI:{base_server.url}/base.crl\n")
    gate = peers.proxy(methods=["crl"])
    close = no_answer(gate, "client-delta-missing", "delta_missing")
    assert f"not downloaded: {missing.url}/delta.crl: HTTP status 404" in close["revocation_detail"], close
    gate.stop_cleanly()


# --- a separate CRL signer (§6.3.3 f, g) -------------------------------------------------

def signer_setup(peers, signer_revoked=False):
    m = maker(peers)
    signer = m.crl_signer()
    signed = m.crl("signed-by-signer", number=3, revoked={"client-revoked": KEY_COMPROMISE}, signer="crl-signer")
    roots = m.crl("root", number=3, ca="root-ca", revoked={"crl-signer": KEY_COMPROMISE} if signer_revoked else {})
    return signer, signed, roots


def test_crl_signed_by_a_configured_separate_signer_decides(peers):
    signer, signed, roots = signer_setup(peers)
    gate = peers.proxy(methods=["crl"], crl_files=[signed, roots], extra_crl=f'signers = ["{signer}"]')
    assert expect_accept(gate, "client-good")["revocation_source"] == str(signed)
    expect_reject(gate, "client-revoked", REVOKED)
    gate.stop_cleanly()


def test_crl_of_a_separate_signer_that_is_not_configured_is_no_answer(peers):
    _, signed, roots = signer_setup(peers)
    gate = peers.proxy(methods=["crl"], crl_files=[signed, roots])
    no_answer(gate, "client-good", "bad_signature")
    no_answer(gate, "client-revoked", "bad_signature")  # not revoked by a CRL nobody authorised
    gate.stop_cleanly()


def test_crl_of_a_revoked_separate_signer_is_no_answer(peers):
    signer, signed, roots = signer_setup(peers, signer_revoked=True)
    gate = peers.proxy(methods=["crl"], crl_files=[signed, roots], extra_crl=f'signers = ["{signer}"]')
    no_answer(gate, "client-good", "is revoked")
    gate.stop_cleanly()


# --- unusable CRLs -----------------------------------------------------------------------

def test_an_expired_crl_is_used_within_the_grace_only(peers):
    expired = maker(peers).crl("expired", number=2, last_update=now() - datetime.timedelta(days=8),
                               next_update=now() - datetime.timedelta(hours=1))
    strict = peers.proxy(methods=["crl"], crl_files=[expired])
    no_answer(strict, "client-good", "expired: CRL nextUpdate")
    strict.stop_cleanly()
    graceful = peers.proxy(methods=["crl"], crl_files=[expired], extra_crl='grace = "2h"')
    expect_accept(graceful, "client-good")
    graceful.stop_cleanly()


def test_a_crl_from_the_future_is_not_used(peers):
    future = maker(peers).crl("future", number=2, last_update=now() + datetime.timedelta(hours=1),
                              next_update=now() + datetime.timedelta(days=7))
    gate = peers.proxy(methods=["crl"], crl_files=[future])
    no_answer(gate, "client-good", "not_yet_valid")
    gate.stop_cleanly()


def test_a_crl_file_put_back_to_an_older_number_is_refused_as_a_rollback(peers):
    m = maker(peers)
    newer = m.crl("newer", number=5)
    older = m.crl("older", number=4)
    configured = peers.workdir / "crls" / "issuing.crl"
    shutil.copyfile(newer, configured)
    gate = peers.proxy(methods=["crl"], crl_files=[configured])
    expect_accept(gate, "client-good")
    shutil.copyfile(older, configured)
    later = os.stat(configured).st_mtime + 10
    os.utime(configured, (later, later))  # the store re-reads files whose mtime changed (every 5 s)
    wait_until(lambda: attempt(gate.pki, gate.port, "client-good") == ("reject", UNKNOWN), 15,
               "the older CRL file to be read and refused")
    close = gate.wait_event("close", decision="reject")[-1]
    assert "rolled_back: cRLNumber 4 is lower than 5" in close["revocation_detail"], close
    gate.stop_cleanly()
