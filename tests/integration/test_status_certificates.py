"""`ocspgate status` lists every client certificate tracked (#26 point 6): from its first
handshake (not from the expiry monitor's next tick, and whatever its days left), with the time
left in one format (whole days from two days on, days and hours under two), and client
certificates refused only because they expired, with that reason. Certificates that no trusted
CA issued are never listed (any client could present them)."""
import json
import subprocess

from harness import expect_accept, free_port, issue_certificate, listener_config, ocspgate_binary, refusal


def status(admin_port, *extra) -> subprocess.CompletedProcess:
    out = subprocess.run([ocspgate_binary(), "status", *extra, "--admin", f"127.0.0.1:{admin_port}"],
                         capture_output=True, text=True, timeout=15)
    assert out.returncode == 0, out.stderr
    return out


def test_status_lists_tracked_client_certificates_from_their_first_handshake(peers):
    pki = peers.pki
    issue_certificate(pki, pki, "client-status-soon", "client-status-soon", valid_seconds=2 * 3600 + 600)
    issue_certificate(pki, pki, "client-status-expired", "client-status-expired", valid_seconds=-3600 - 600)
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    # The monitor runs at start, before any handshake, and then once a minute (frequency 1d):
    # what is listed below within seconds was listed without waiting for its run.
    config = listener_config(pki, port, backend.port) + (
        f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n\n[expiry]\nnotify_days = 30\nfrequency = "1d"\n'
        'urgent_days = 1\nurgent_frequency = "1d"\n')
    gate = peers.gate(config)
    gate.port, gate.backend, gate.pki = port, backend, pki
    expect_accept(gate, "client-good")
    expect_accept(gate, "client-status-soon")
    refused = refusal(pki, port, "client-status-expired")
    assert "EXPIRED" in refused.reason, refused
    refusal(pki, port, "client-untrusted")
    gate.wait_event("close", count=4)

    document = json.loads(status(admin_port, "--json").stdout)
    peers_listed = {c["subject"].split("CN=")[-1].split(",")[0]: c for c in document["certificates"] if c["role"] == "peer"}
    assert set(peers_listed) == {"client-good", "client-status-soon", "client-status-expired"}, peers_listed
    good, soon, expired = (peers_listed[n] for n in ("client-good", "client-status-soon", "client-status-expired"))
    assert good["decision"] == "accept" and good["state"] == "fine" and good["left"] in ("364d", "365d"), good
    assert soon["decision"] == "accept" and soon["left"] == "0d 2h" and soon["days_left"] == 0, soon
    assert soon["state"] == "urgent"
    assert expired["decision"] == "reject" and expired["reason"] == "certificate expired", expired
    assert expired["state"] == "expired" and expired["left"] == "expired 0d 1h ago", expired

    text = status(admin_port).stdout
    rows = {line.split()[1]: line for line in text.splitlines() if line.startswith("peer ")}
    assert "0d 2h" in next(r for r in text.splitlines() if "client-status-soon" in r)
    expired_row = next(r for r in text.splitlines() if r.startswith("peer ") and "client-status-expired" in r)
    assert "expired 0d 1h ago" in expired_row and "reject (certificate expired)" in expired_row, text
    good_row = next(r for r in text.splitlines() if r.startswith("peer ") and "client-good" in r)
    assert good_row.rstrip().endswith("accept") and " 36" in good_row, text
    assert "client-untrusted" not in text and rows
    gate.stop_cleanly()
