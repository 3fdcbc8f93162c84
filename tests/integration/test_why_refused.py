"""README "Why was this phone refused?" (#26 point 9), followed step by step for a revoked
phone against the real binary and a real `openssl ocsp` responder: the metrics, `ocspgate
status`, the close log line and `ocspgate check` each say why, in the same words."""
import json
import subprocess
import urllib.request

from harness import expect_reject, free_port, ocspgate_binary, revocation_config
from prometheus import parse_metrics

REVOKED = "SSLV3_ALERT_CERTIFICATE_REVOKED"


def ocspgate(*args, timeout=30):
    return subprocess.run([ocspgate_binary(), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout)


def test_the_readme_recipe_explains_a_revoked_phone(peers):
    responder = peers.responder()
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    config = revocation_config(peers.pki, port, backend.port, responders=[responder.url], name="demo")
    gate = peers.gate(config + f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
    gate.port, gate.backend, gate.pki = port, backend, peers.pki
    expect_reject(gate, "client-revoked", REVOKED)

    # 1. curl .../metrics | grep 'ocspgate_connections_total{.*decision="reject"' | grep -v ' 0$'
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    parse_metrics(text)  # well-formed
    nonzero = [line for line in text.splitlines()
               if line.startswith("ocspgate_connections_total{") and 'decision="reject"' in line
               and not line.endswith(" 0")]
    assert nonzero == ['ocspgate_connections_total{listener="demo",decision="reject",reason="revoked"} 1'], nonzero

    # 2. ocspgate status --config F: the responder answers, the listener refused one.
    status = ocspgate("status", "--config", gate.config_path)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    profiles = lines[lines.index("Revocation profiles") + 1:]
    assert profiles[0].split()[-1] == "REVOKED"
    profile_row = next(l for l in profiles if l.split()[0] == "r")
    assert responder.url in profile_row and "ok" in profile_row.split() and profile_row.split()[-1] == "1", profile_row
    listener_row = next(l for l in lines if l.startswith("demo "))
    assert listener_row.split()[4:7] == ["0", "0", "1"], listener_row  # active, accepted, rejected

    # 3. The close line of that connection: decision, refusal, reason, revocation_*.
    close = next(e for e in gate.events("close") if "CN=client-revoked" in e.get("subject", ""))
    assert close["decision"] == "reject" and close["refusal"] == "revoked", close
    assert close["reason"] == "certificate revoked", close
    assert close["revocation"] == "revoked" and close["revocation_method"] == "ocsp", close
    assert close["revocation_source"] == responder.url and close["revocation_reason"] == "keyCompromise", close
    assert close["revocation_time"].endswith("Z"), close

    # 4. ocspgate check with the listener's profile: the same verdict and reason, exit 1.
    check = ocspgate("check", "--config", gate.config_path, "--listener", "demo",
                     "--cert", peers.pki / "client-revoked.pem", "--json")
    assert check.returncode == 1, (check.stdout, check.stderr)
    out = json.loads(check.stdout)
    assert out["verdict"] == close["refusal"] == "revoked", out
    assert out["revocation_reason"] == close["revocation_reason"], out
    assert out["revocation_time"] == close["revocation_time"], out
    assert out["revocation_source"] == responder.url, out
    gate.stop_cleanly()
