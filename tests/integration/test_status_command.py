"""`ocspgate status` against a running ocspgate: the tables name the certificates by role with
notAfter and days left, the revocation profile with its responder and cache counts, and the
listener with its connection counts; the admin address comes from --admin or the config."""
import json
import subprocess

from harness import expect_accept, free_port, ocspgate_binary, revocation_config


def status(*args, timeout=15) -> subprocess.CompletedProcess:
    return subprocess.run([ocspgate_binary(), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)


def gate_with_admin(peers):
    responder = peers.responder()
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    config = revocation_config(peers.pki, port, backend.port, responders=[responder.url], name="sip-front")
    gate = peers.gate(config + f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
    gate.port, gate.backend, gate.pki, gate.admin_port, gate.responder = port, backend, peers.pki, admin_port, responder
    return gate


def section(out: str, title: str) -> list[str]:
    """The lines of the table under the heading starting with `title`."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start + 1:end]


def test_status_prints_certificates_profiles_and_listeners(peers):
    gate = gate_with_admin(peers)
    expect_accept(gate, "client-good")
    result = status("status", "--admin", f"127.0.0.1:{gate.admin_port}")
    assert result.returncode == 0, result.stderr
    out = result.stdout

    certificates = section(out, "Certificates")
    assert certificates[0].split()[:4] == ["ROLE", "SUBJECT", "ISSUER", "SERIAL"]
    listener_rows = [line for line in certificates if line.startswith("listener ")]
    assert len(listener_rows) == 1 and "CN=localhost" in listener_rows[0]
    assert any(line.startswith("client_ca ") and "Root CA" in line for line in certificates)
    # The session PKI's leaves are valid 365 days: the row says so, and that it is fine.
    assert listener_rows[0].split()[-3] in ("364d", "365d") and listener_rows[0].split()[-2:] == ["fine", "-"]

    profiles = section(out, "Revocation profiles")
    row = next(line for line in profiles[1:] if line.startswith("r "))
    assert gate.responder.url in row and "ok" in row.split()
    # one OCSP query for client-good, then its answer cached
    assert row.split()[-5:-3] == ["1", "1"], row

    listeners = section(out, "Listeners")
    row = next(line for line in listeners[1:] if line.startswith("sip-front "))
    # active, accepted, rejected, backend failed
    assert row.split()[1:] == [f"127.0.0.1:{gate.port}", "tcp", "r", "0", "1", "0", "0"], row
    gate.stop_cleanly()


def test_status_finds_the_admin_endpoint_in_the_config(peers):
    gate = gate_with_admin(peers)
    result = status("status", "--config", gate.config_path)
    assert result.returncode == 0, result.stderr
    assert "sip-front" in result.stdout
    raw = status("--config", gate.config_path, "status", "--json")
    assert raw.returncode == 0, raw.stderr
    document = json.loads(raw.stdout)
    assert {c["role"] for c in document["certificates"]} >= {"listener", "listener_chain", "client_ca"}
    gate.stop_cleanly()


def test_status_without_a_running_ocspgate_fails_clearly():
    port = free_port()
    result = status("status", "--admin", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "ECONNREFUSED" not in result.stdout
    assert "cannot connect" in result.stderr, result.stderr


def test_status_with_a_bad_admin_address_is_a_usage_error():
    result = status("status", "--admin", "localhost")
    assert result.returncode == 2 and "HOST:PORT" in result.stderr


def test_serving_still_requires_a_config():
    result = status()
    assert result.returncode != 0 and "--config is required" in result.stderr
