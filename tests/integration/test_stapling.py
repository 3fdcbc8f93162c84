"""OCSP stapling of the listener's own certificate ([listener.tls] stapling, issue #20 point 5):
fetched in the background from a real `openssl ocsp` responder, stapled to `openssl s_client
-status` at TLS 1.2 and 1.3, reported (logs, metrics) when revoked or unobtainable, and, with
stapling_refuse_revoked, the listener stops serving a revoked certificate."""
import signal

import pytest

from harness import Backend, free_port, listener_config, s_client, wait_until
from prometheus import parse_metrics, value
from redis_peer import RedisServer
from test_admin import get

NO_STAPLE = "OCSP response: no response sent"


def stapling_gate(peers, responder_url: str, refuse: bool = False, tail: str = "", name: str = "ocspgate"):
    backend = Backend("echo")
    peers._started.append(backend.close)
    port, admin_port = free_port(), free_port()
    config = listener_config(peers.pki, port, backend.port,
                             extra_tls=f'stapling = true\nstapling_responder = "{responder_url}"\n'
                                       f'stapling_refuse_revoked = {"true" if refuse else "false"}\n')
    gate = peers.gate(config + f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n' + tail, name=name)
    gate.port, gate.admin_port = port, admin_port
    return gate


def metrics(gate) -> dict:
    return parse_metrics(get(gate.admin_port, "/metrics")[2].decode())


def revoked_server_index(peers) -> str:
    """index.txt with the server's own certificate revoked an hour ago (keyCompromise)."""
    rows = []
    for row in (peers.pki / "index.txt").read_text().splitlines(keepends=True):
        fields = row.split("\t")
        if fields[0] == "V" and fields[-1].strip().endswith("CN=localhost"):
            fields[0], fields[2] = "R", "200101000000Z,keyCompromise"
        rows.append("\t".join(fields))
    path = peers.workdir / "index-server-revoked.txt"
    path.write_text("".join(rows))
    return str(path)


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_a_good_response_is_stapled_to_clients_that_ask(peers, version):
    responder = peers.responder()
    gate = stapling_gate(peers, responder.url)
    fetched = gate.wait_event("own_staple_fetched")[0]
    assert (fetched["listener"], fetched["status"], fetched["stapled"]) == ("test", "good", "true"), fetched
    assert fetched["next_update"] and int(fetched["refresh_in_s"]) >= 60, fetched
    code, out = s_client(peers.pki, gate.port, "client-good", b"hello\n", extra=[version, "-status"])
    assert code == 0, out
    assert "OCSP Response Status: successful" in out and "Cert Status: good" in out, out
    assert "hello" in out  # the connection itself went through to the backend
    # A client that does not ask gets none: the status is only sent on request.
    code, out = s_client(peers.pki, gate.port, "client-good", b"", extra=[version])
    assert code == 0 and "OCSP Response Status" not in out, out
    m = metrics(gate)
    assert value(m, "ocspgate_own_staple_stapled", listener="test") == 1
    assert value(m, "ocspgate_own_staple_status", listener="test", status="good") == 1
    assert responder.requests == 1, "one background fetch, whatever the number of handshakes"
    gate.stop_cleanly()


def test_a_revoked_own_certificate_is_reported_and_not_stapled(peers):
    responder = peers.responder(index=revoked_server_index(peers))
    gate = stapling_gate(peers, responder.url)
    revoked = gate.wait_event("own_certificate_revoked")[0]
    assert (revoked["level"], revoked["status"], revoked["stapled"], revoked["refusing_handshakes"]) == \
        ("error", "revoked", "false", "false"), revoked
    code, out = s_client(peers.pki, gate.port, "client-good", b"", extra=["-status"])
    assert code == 0 and NO_STAPLE in out, out
    assert value(metrics(gate), "ocspgate_own_staple_status", listener="test", status="revoked") == 1
    gate.stop_cleanly()


def test_with_refuse_revoked_the_listener_stops_serving_a_revoked_certificate(peers):
    responder = peers.responder(index=revoked_server_index(peers))
    gate = stapling_gate(peers, responder.url, refuse=True)
    assert gate.wait_event("own_certificate_revoked")[0]["refusing_handshakes"] == "true"
    code, out = s_client(peers.pki, gate.port, "client-good", b"hello\n", extra=["-status"])
    assert code != 0 and "hello" not in out, out
    gate.stop_cleanly()


def test_an_unreachable_responder_is_reported_and_handshakes_go_on_without_a_staple(peers):
    dead = f"http://127.0.0.1:{free_port()}"
    gate = stapling_gate(peers, dead)
    failed = gate.wait_event("own_staple_failed")[0]
    assert (failed["level"], failed["stapled"], failed["responder"]) == ("warning", "false", dead), failed
    assert int(failed["retry_in_s"]) == 30, failed  # backoff starts at 30 s
    code, out = s_client(peers.pki, gate.port, "client-good", b"hello\n", extra=["-status"])
    assert code == 0 and NO_STAPLE in out and "hello" in out, out
    assert value(metrics(gate), "ocspgate_own_staple_failures_total", listener="test") == 1
    gate.stop_cleanly()


def test_a_response_from_an_unauthorised_signer_is_not_stapled(peers):
    # Signed with the server's own key: a certificate without id-kp-OCSPSigning, not authorised.
    responder = peers.responder(signer="server")
    gate = stapling_gate(peers, responder.url)
    failed = gate.wait_event("own_staple_failed")[0]
    assert failed["stapled"] == "false" and "unauthorized_signer" in failed["error"], failed
    code, out = s_client(peers.pki, gate.port, "client-good", b"", extra=["-status"])
    assert NO_STAPLE in out, out
    gate.stop_cleanly()


def test_a_reload_keeps_the_staple_of_an_unchanged_certificate_without_asking_again(peers):
    responder = peers.responder()
    gate = stapling_gate(peers, responder.url)
    gate.wait_event("own_staple_fetched")
    gate.proc.send_signal(signal.SIGHUP)
    gate.wait_event("reloaded")
    code, out = s_client(peers.pki, gate.port, "client-good", b"", extra=["-status"])
    assert code == 0 and "Cert Status: good" in out, out
    assert responder.requests == 1
    assert len(gate.events("own_staple_fetched")) == 1
    gate.stop_cleanly()


def test_the_staple_is_shared_through_the_fleet_cache(peers, tmp_path):
    redis = RedisServer(tmp_path)
    responder = peers.responder()
    shared = f'\n[cache.shared]\nurl = "{redis.url}"\n'
    a = stapling_gate(peers, responder.url, tail=shared, name="a")
    assert a.wait_event("own_staple_fetched")[0]["source"] == responder.url
    wait_until(lambda: redis.keys("ocspgate:ocsp:*"), 5, "the staple in the shared cache")
    b = stapling_gate(peers, responder.url, tail=shared, name="b")  # another instance, cold
    fetched = b.wait_event("own_staple_fetched")[0]
    assert (fetched["source"], fetched["status"], fetched["stapled"]) == ("shared_cache", "good", "true"), fetched
    code, out = s_client(peers.pki, b.port, "client-good", b"", extra=["-status"])
    assert code == 0 and "Cert Status: good" in out, out
    assert responder.requests == 1, "B stapled what A fetched"
    a.stop_cleanly()
    b.stop_cleanly()
