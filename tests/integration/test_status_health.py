"""Health is about now (#26 point 3): `ocspgate status`, /status and the recent-exchanges gauge
judge each responder and profile over [admin] health_window, so a responder that was down and
came back reads ok again once its failures are older than the window, while the Prometheus
counters keep counting since start."""
import json
import signal
import subprocess
import time

from harness import OcspResponder, expect_accept, expect_reject, free_port, ocspgate_binary, revocation_config
from prometheus import parse_metrics
from test_admin import http

UNKNOWN = "SSLV3_ALERT_CERTIFICATE_UNKNOWN"
WINDOW_S = 3


def status_json(admin_port) -> dict:
    out = subprocess.run([ocspgate_binary(), "status", "--json", "--admin", f"127.0.0.1:{admin_port}"],
                         capture_output=True, text=True, timeout=15)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def status_text(admin_port) -> str:
    out = subprocess.run([ocspgate_binary(), "status", "--admin", f"127.0.0.1:{admin_port}"],
                         capture_output=True, text=True, timeout=15)
    assert out.returncode == 0, out.stderr
    return out.stdout


def profile_health(admin_port) -> dict:
    profiles = status_json(admin_port)["revocation_profiles"]
    return next(p for p in profiles if p["name"] == "r")["health"]


def health_row(text: str, first: str) -> str:
    """The line of the table row starting with `first`."""
    return next(line for line in text.splitlines() if line.startswith(first + " "))


def test_health_recovers_when_the_responder_comes_back(peers, tmp_path):
    responder_port, port, admin_port = free_port(), free_port(), free_port()
    url = f"http://127.0.0.1:{responder_port}"
    backend = peers.backend()
    config = revocation_config(peers.pki, port, backend.port, responders=[url],
                               extra_ocsp='error_cache_ttl = "0s"\n')
    gate = peers.gate(config + f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\nhealth_window = "{WINDOW_S}s"\n')
    gate.port, gate.backend, gate.pki = port, backend, peers.pki

    # Nothing listens at the responder's address: refused, and the health says failing.
    expect_reject(gate, "client-good", UNKNOWN)
    expect_reject(gate, "client-good", UNKNOWN)
    health = profile_health(admin_port)
    assert health["state"] == "failing" and health["failures"] == {"transport": 2}, health
    assert health["window_seconds"] == WINDOW_S
    [responder_health] = health["responders"]
    assert responder_health["responder"] == url and responder_health["state"] == "failing"
    text = status_text(admin_port)
    assert "failing (transport=2)" in health_row(text, "r"), text

    # The responder comes up: accepted, and with the failures still in the window, degraded.
    responder = OcspResponder(tmp_path, peers.pki, port=responder_port, name="ocsp-back")
    try:
        expect_accept(gate, "client-good")
        assert profile_health(admin_port)["state"] == "degraded"

        # Once the failures are older than the window: idle with no exchange in it, then ok
        # after a new answered query (another certificate: client-good's answer is cached).
        time.sleep(WINDOW_S + 0.5)
        assert profile_health(admin_port)["state"] == "idle"
        # A reload keeps the history with the counters (by profile name), and changes nothing here.
        gate.proc.send_signal(signal.SIGHUP)
        gate.wait_event("reloaded", generation=2)
        assert profile_health(admin_port)["state"] == "idle"
        expect_accept(gate, "client-extra-01")
        health = profile_health(admin_port)
        assert health["state"] == "ok" and health["failures"] == {} and health["answered"] == 1, health
        text = status_text(admin_port)
        row = health_row(text, "r")
        assert " ok " in row and "transport" not in row, text
        responder_row = next(line for line in text.splitlines() if line.startswith("r ") and url in line
                             and "answered" in line)
        assert " ok " in responder_row, text

        # The counters since start still count the failures (monotonic), beside the gauge.
        status, _, body = http(admin_port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200
        metrics = parse_metrics(body.decode())
        errors = {dict(labels)["kind"]: value for (name, labels), value in metrics.items()
                  if name == "ocspgate_revocation_responder_errors_total"}
        assert errors.get("transport") == 2, errors
        recent = {dict(labels)["outcome"]: value for (name, labels), value in metrics.items()
                  if name == "ocspgate_revocation_responder_recent_exchanges" and dict(labels)["responder"] == url}
        assert recent == {"answered": 1, "failed": 0}, recent
    finally:
        responder.stop()
    gate.stop_cleanly()
