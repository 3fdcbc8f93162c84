"""The CRL method judges every certificate on its own: a download may be shared between
handshakes, a verdict never (a revoked client once got in as 'good' because the handshake
before it had started the same CRL download). Also: with several CRLs of one issuer, the
newest decides whatever their order in the config."""
import datetime
import time

import pytest

from concurrent_clients import attempt, run_together
from crl_pki import KEY_COMPROMISE, CrlMaker, now
from harness import expect_accept, expect_reject, refused_port, wait_until

REVOKED = "SSLV3_ALERT_CERTIFICATE_REVOKED"
ACCEPT, REFUSED = ("accept",), ("reject", REVOKED)


def crl_server(peers, pki, name="issuing-ca.crl.der", delay=0.0):
    """An HTTP server answering every GET with the CRL file `name`; with `delay`, a relay in
    front of it that waits that long first."""
    origin = peers.fake("body", body=(pki / name).read_bytes(), content_type="application/pkix-crl")
    if not delay:
        return origin, origin
    return peers.fake("proxy", upstream=origin.url, delay=delay), origin


def crl_gate(peers, pki, crl_url, methods=("crl",), **kw):
    if "ocsp" in methods:
        kw.setdefault("responders", [f"http://127.0.0.1:{refused_port()}"])  # nothing listens: refused
    return peers.proxy(methods=list(methods), crl_urls=[crl_url], **kw)


@pytest.mark.parametrize("delay", [0.0, 0.3], ids=["fast-crl-server", "slow-crl-server"])
@pytest.mark.parametrize("methods", [("crl",), ("ocsp", "crl")], ids=["crl", "dead-ocsp-then-crl"])
@pytest.mark.parametrize("order", [("client-good", "client-revoked"), ("client-revoked", "client-good")],
                         ids=["good-first", "revoked-first"])
def test_two_clients_a_few_ms_apart_on_a_fresh_start_get_their_own_verdicts(peers, pki, delay, methods, order):
    server, origin = crl_server(peers, pki, delay=delay)
    gate = crl_gate(peers, pki, server.url + "/issuing-ca.crl", methods)
    outcomes = run_together(pki, gate.port, list(order), gap=0.005)
    expected = [ACCEPT if cert == "client-good" else REFUSED for cert in order]
    assert outcomes == expected, outcomes
    assert origin.requests == 1  # one download served both handshakes
    revoked_close = gate.wait_event("close", decision="reject")[0]
    assert (revoked_close["revocation"], revoked_close["revocation_method"]) == ("revoked", "crl")
    assert gate.backend.received.count(b"client") == 1  # only the good client's bytes got through
    gate.stop_cleanly()


def chain_crl_gate(peers, pki, root_crl):
    """check = "chain" with the CRL method only: the issuing CA's CRL and `root_crl` (the root's)
    at two URLs, both downloaded for every certificate of the chain."""
    leaves, _ = crl_server(peers, pki, "issuing-ca.crl.der")
    roots, _ = crl_server(peers, pki, root_crl)
    return peers.proxy(methods=["crl"], check="chain", crl_urls=[leaves.url + "/issuing.crl", roots.url + "/root.crl"])


def test_chain_check_refuses_a_good_leaf_whose_intermediate_the_roots_crl_revokes(peers, pki):
    gate = chain_crl_gate(peers, pki, "root-ca-revoked.crl.der")
    # The first handshakes run while nothing is held: the leaf's and the intermediate's lookups
    # wait on the same downloads, and must still be judged apart.
    assert run_together(pki, gate.port, ["client-good", "client-good"], gap=0.005) == [REFUSED, REFUSED]
    close = expect_reject(gate, "client-good", REVOKED)
    assert close["revocation_method"] == "crl" and close["revocation_source"].endswith("/root.crl")
    assert "revocation_serial" in close  # the intermediate decided
    gate.stop_cleanly()


def test_chain_check_accepts_when_the_roots_crl_lists_nothing(peers, pki):
    gate = chain_crl_gate(peers, pki, "root-ca.crl.der")
    assert run_together(pki, gate.port, ["client-good", "client-revoked"], gap=0.005) == [ACCEPT, REFUSED]
    gate.stop_cleanly()


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest-first", "newest-last"])
def test_the_newest_of_two_crl_files_decides_whatever_their_order(peers, pki, newest_first):
    files = [pki / "issuing-ca.crl.pem", pki / "issuing-ca-before.crl.pem"]
    gate = peers.proxy(methods=["crl"], crl_files=files if newest_first else files[::-1])
    close = expect_reject(gate, "client-revoked", REVOKED)
    assert close["revocation_source"] == str(pki / "issuing-ca.crl.pem")
    expect_accept(gate, "client-good")
    gate.stop_cleanly()


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest-first", "newest-last"])
def test_the_newest_of_two_crl_urls_decides_whatever_their_order(peers, pki, newest_first):
    newest, _ = crl_server(peers, pki, "issuing-ca.crl.der")
    older, _ = crl_server(peers, pki, "issuing-ca-before.crl.pem")
    urls = [newest.url + "/new.crl", older.url + "/old.crl"]
    gate = peers.proxy(methods=["crl"], crl_urls=urls if newest_first else urls[::-1])
    assert attempt(pki, gate.port, "client-revoked") == REFUSED
    assert attempt(pki, gate.port, "client-good") == ACCEPT
    gate.stop_cleanly()


def test_a_crl_past_its_next_update_keeps_deciding_while_it_is_fetched_again(peers, pki):
    """#18 point 6: once the held CRL's nextUpdate has passed, ocspgate fetches it again in the
    background and keeps deciding with it (up to ocsp.clock_skew later, 5 min by default): the
    handshake that starts the download does not wait for it. The new CRL decides once it is in."""
    crls = CrlMaker(pki, peers.workdir / "crls")
    next_update = now() + datetime.timedelta(seconds=5)
    first = crls.crl("first", number=1, last_update=now() - datetime.timedelta(minutes=10), next_update=next_update)
    second = crls.crl("second", number=2, revoked={"client-good": KEY_COMPROMISE},
                      last_update=now() - datetime.timedelta(minutes=1))
    origin = peers.fake("body", body=first.read_bytes(), content_type="application/pkix-crl")
    relay = peers.fake("proxy", upstream=origin.url, delay=0.6)  # each download takes 0.6 s
    gate = crl_gate(peers, pki, relay.url + "/issuing-ca.crl")
    expect_accept(gate, "client-good")  # the first download: waited for
    origin.body = second.read_bytes()
    time.sleep(max(0.0, (next_update - now()).total_seconds()) + 1.0)
    started = time.monotonic()
    close = expect_accept(gate, "client-good")  # starts the second download, decided by the first CRL
    assert time.monotonic() - started < 0.5, "the handshake waited for the download"
    assert close["revocation_source"].endswith("/issuing-ca.crl"), close
    wait_until(lambda: relay.requests == 2, 3, "the CRL fetched again after its nextUpdate")
    wait_until(lambda: relay.in_flight == 0, 5, "the second download done")
    expect_reject(gate, "client-good", REVOKED)  # the new CRL decides
    assert relay.requests == 2
    gate.stop_cleanly()
