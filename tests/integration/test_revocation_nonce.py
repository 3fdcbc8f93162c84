"""Nonce modes (#19 point 1) against what responders that pre-sign their answers serve: a
genuine `openssl ocsp` response captured for a request without nonce, replayed to every request.
The default ("prefer") accepts it while it is current and counts it per responder; "require"
refuses it; a response carrying another nonce is refused whenever we sent one; the old boolean
still loads, with a warning."""
import subprocess

import pytest

from harness import (expect_accept, expect_reject, fetch_ocsp_response, free_port, ocspgate_binary,
                     revocation_config)
from prometheus import parse_metrics, value
from test_admin import get

UNKNOWN = "SSLV3_ALERT_CERTIFICATE_UNKNOWN"


def presigned(peers, **responder):
    """A responder that ignores nonces, as pre-signing ones do: it serves, to every request, the
    response the real responder gave to a request without nonce (nextUpdate 5 minutes on)."""
    real = peers.responder(**responder)
    der = fetch_ocsp_response(peers.pki, real.url, peers.workdir / "no-nonce.der", nonce=False)
    return peers.fake("body", body=der)


def replaying_another_nonce(peers):
    """A genuine response captured for a request with another nonce, replayed to every request."""
    real = peers.responder()
    der = fetch_ocsp_response(peers.pki, real.url, peers.workdir / "other-nonce.der", nonce=True)
    return peers.fake("body", body=der)


def gate_with_admin(peers, **revocation):
    backend, port, admin_port = peers.backend(), free_port(), free_port()
    config = revocation_config(peers.pki, port, backend.port, **revocation)
    gate = peers.gate(config + f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
    gate.port, gate.backend, gate.pki, gate.admin_port = port, backend, peers.pki, admin_port
    return gate


def test_default_config_accepts_a_current_response_without_nonce(peers):
    replay = presigned(peers)
    gate = peers.proxy(responders=[replay.url], nonce=None)  # no nonce key: the default
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_source"]) == ("good", replay.url), close
    assert close["revocation_detail"].startswith("response without nonce accepted as current (thisUpdate "), close
    gate.stop_cleanly()


def test_require_refuses_a_response_without_nonce(peers):
    replay = presigned(peers)
    gate = peers.proxy(responders=[replay.url], nonce="require")
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert "nonce_missing: response carries no nonce" in close["revocation_detail"], close
    gate.stop_cleanly()


# "off" sends no nonce, so no nonce in a response can be wrong (it is ignored).
@pytest.mark.parametrize("mode", ["prefer", "require"])
def test_response_with_another_nonce_is_refused(peers, mode):
    replay = replaying_another_nonce(peers)
    gate = peers.proxy(responders=[replay.url], nonce=mode)
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert "nonce_mismatch" in close["revocation_detail"], close
    gate.stop_cleanly()


def test_hours_old_response_without_nonce_is_current_enough_by_default(peers):
    replay = presigned(peers, faketime="-3h", nmin=6 * 60)  # thisUpdate 3 h ago, nextUpdate 3 h on
    gate = peers.proxy(responders=[replay.url])
    assert expect_accept(gate, "client-good")["revocation_source"] == replay.url
    gate.stop_cleanly()


def test_max_response_age_refuses_an_older_response_without_nonce(peers):
    replay = presigned(peers, faketime="-3h", nmin=6 * 60)
    gate = peers.proxy(responders=[replay.url], extra_ocsp='max_response_age = "1h"')
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert "nonce_missing: response carries no nonce and its thisUpdate" in close["revocation_detail"], close
    assert "older than max_response_age (3600s)" in close["revocation_detail"], close
    gate.stop_cleanly()


def test_missing_nonces_are_counted_per_responder(peers):
    replay = presigned(peers)
    gate = gate_with_admin(peers, responders=[replay.url])
    expect_accept(gate, "client-good")
    status, _, body = get(gate.admin_port, "/metrics")
    assert status == 200
    samples = parse_metrics(body.decode())
    assert value(samples, "ocspgate_revocation_responder_nonce_missing_total", profile="r", responder=replay.url) == 1
    assert value(samples, "ocspgate_revocation_responder_get_refused_total", profile="r", responder=replay.url) == 0
    gate.stop_cleanly()


@pytest.mark.parametrize("old, now", [("true", "prefer"), ("false", "off")])
def test_old_boolean_still_loads_with_a_warning_at_check_config(peers, old, now):
    config = revocation_config(peers.pki, free_port(), free_port(), responders=["http://127.0.0.1:9/"])
    path = peers.workdir / "old-nonce.toml"
    path.write_text(config.replace('nonce = "prefer"', f"nonce = {old}"))
    r = subprocess.run([ocspgate_binary(), "--check-config", "--config", str(path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if ": warning: revocation.r.ocsp.nonce: " in line]
    assert len(warnings) == 1, r.stderr
    assert f'nonce = {old} is the old spelling' in warnings[0] and f'nonce = "{now}"' in warnings[0], warnings
