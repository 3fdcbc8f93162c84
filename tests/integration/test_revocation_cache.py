"""Inline revocation, shared state: the answer cache, the negative (error) cache, request
coalescing across simultaneous handshakes, and the CRL method (downloaded or from files)."""
import ssl
import threading
import time

from harness import expect_accept, expect_reject, free_port, tls_connect, wait_until

REVOKED, UNKNOWN = "SSLV3_ALERT_CERTIFICATE_REVOKED", "SSLV3_ALERT_CERTIFICATE_UNKNOWN"
TLS13 = ssl.TLSVersion.TLSv1_3


def test_cached_answer_is_used_after_the_responder_stops(peers):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url])
    first = expect_accept(gate, "client-good")
    assert first["revocation_source"] == ocsp.url and ocsp.requests == 1
    ocsp.stop()
    second = expect_accept(gate, "client-good")
    assert (second["revocation"], second["revocation_method"], second["revocation_source"]) == ("good", "ocsp", "cache")
    gate.stop_cleanly()


def test_cached_revoked_answer_refuses_without_asking_again(peers):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url])
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation_source"] == ocsp.url
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation_source"] == "cache"
    assert ocsp.requests == 1
    gate.stop_cleanly()


def test_failed_lookup_is_not_retried_within_error_cache_ttl(peers):
    failing = peers.fake("status", status=500)
    gate = peers.proxy(responders=[failing.url], extra_ocsp='error_cache_ttl = "30s"')
    first = expect_reject(gate, "client-good", UNKNOWN)
    second = expect_reject(gate, "client-good", UNKNOWN)
    assert failing.requests == 1
    assert first["revocation_source"] == "ocsp" and second["revocation_source"] == "cache", (first, second)
    assert "HTTP status 500" in first["revocation_detail"] and "HTTP status 500" in second["revocation_detail"]
    gate.stop_cleanly()


def test_simultaneous_handshakes_for_one_certificate_share_one_query(peers):
    real = peers.responder()
    slow = peers.fake("proxy", upstream=real.url, delay=0.4)
    gate = peers.proxy(responders=[slow.url], extra_server="workers = 2")
    clients = 20
    start = threading.Barrier(clients)
    results = [None] * clients

    def client(i):
        start.wait()
        try:
            results[i] = expect_accept(gate, "client-good", payload=b"client %02d" % i)
        except Exception as e:  # recorded, asserted below
            results[i] = repr(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert all(isinstance(r, dict) for r in results), results
    assert slow.requests == 1 and real.requests == 1
    # Every handshake waited on that one query (none came late enough to be a cache hit).
    assert [r["revocation_source"] for r in results] == [slow.url] * clients, results
    assert all(r["revocation"] == "good" for r in results)
    assert {r["worker"] for r in results} == {0, 1}  # coalesced across both worker loops
    gate.stop_cleanly()


def test_crl_from_configured_url_decides_when_the_responder_is_down(peers, pki):
    crl_server = peers.fake("body", body=(pki / "issuing-ca.crl.der").read_bytes(), content_type="application/pkix-crl")
    crl_url = crl_server.url + "/issuing-ca.crl"
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    gate = peers.proxy(responders=[down], methods=["ocsp", "crl"], crl_urls=[crl_url])
    good = expect_accept(gate, "client-good")
    assert (good["revocation"], good["revocation_method"], good["revocation_source"]) == ("good", "crl", crl_url)
    assert "ECONNREFUSED" in good["revocation_detail"], good
    revoked = expect_reject(gate, "client-revoked", REVOKED)
    assert (revoked["revocation"], revoked["revocation_method"]) == ("revoked", "crl")
    assert revoked["revocation_source"] == crl_url
    assert crl_server.requests == 1  # the second certificate was checked against the CRL already held
    gate.stop_cleanly()


def test_crl_file_refuses_a_revoked_certificate_when_the_responder_is_down(peers, pki):
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    crl = pki / "issuing-ca.crl.der"
    gate = peers.proxy(responders=[down], methods=["ocsp", "crl"], crl_files=[crl])
    close = expect_reject(gate, "client-revoked", REVOKED)
    assert close["reason"] == "certificate revoked"
    assert (close["revocation"], close["revocation_method"], close["revocation_source"]) == ("revoked", "crl", str(crl))
    assert expect_accept(gate, "client-good")["revocation_method"] == "crl"
    gate.stop_cleanly()


def test_shared_query_still_answers_the_others_when_its_first_client_leaves(peers, pki):
    real = peers.responder()
    slow = peers.fake("proxy", upstream=real.url, delay=0.5)
    gate = peers.proxy(responders=[slow.url], extra_server="workers = 2")
    first = tls_connect(pki, gate.port, "client-good", min_version=TLS13)  # our side is done; the check is pending
    wait_until(lambda: slow.in_flight == 1, 3, "the first client's query to reach the responder")
    outcome = {}

    def second_client():
        try:
            outcome["close"] = expect_accept(gate, "client-good")
        except Exception as e:  # recorded, asserted below
            outcome["error"] = repr(e)

    second = threading.Thread(target=second_client)
    second.start()
    time.sleep(0.15)  # the second handshake joins the pending query
    first.close()  # the connection that started the query goes away while it runs
    second.join(10)
    assert "close" in outcome, outcome
    assert (outcome["close"]["revocation"], outcome["close"]["revocation_source"]) == ("good", slow.url)
    assert slow.requests == 1
    left = gate.wait_event("close", decision="reject")[0]
    assert left["reason"] == "client closed during handshake", left
    gate.stop_cleanly()


def test_stale_good_answer_is_used_within_stale_if_error_when_responders_fail(peers):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url], extra_ocsp='max_cache_ttl = "1s"\nstale_if_error = "1m"\n'
                                                          'error_cache_ttl = "1s"')
    assert expect_accept(gate, "client-good")["revocation_source"] == ocsp.url
    ocsp.stop()
    time.sleep(1.3)  # the good answer is no longer fresh (max_cache_ttl), only stale
    stale = expect_accept(gate, "client-good")
    assert stale["revocation"] == "good"
    assert "stale good answer used" in stale["revocation_detail"], stale
    gate.stop_cleanly()


def test_expired_answer_without_stale_if_error_fails_closed(peers):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url], extra_ocsp='max_cache_ttl = "1s"\nerror_cache_ttl = "1s"')
    assert expect_accept(gate, "client-good")["revocation_source"] == ocsp.url
    ocsp.stop()
    time.sleep(1.3)
    refused = expect_reject(gate, "client-good", UNKNOWN)
    assert refused["revocation"] == "undetermined", refused
    gate.stop_cleanly()
