"""`ocspgate --check-config` reports every problem as FILE:LINE:COL: message."""
import re
import signal
import subprocess

from harness import Ocspgate, free_port, ocspgate_binary

import pytest


def check(path):
    r = subprocess.run([ocspgate_binary(), "--check-config", "--config", str(path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_valid_config_exits_zero(tmp_path, pki):
    cfg = tmp_path / "ok.toml"
    cfg.write_text(f"""
[[listener]]
name = "a"
listen = "127.0.0.1:15061"
backend = "127.0.0.1:15060"
[listener.tls]
certificate = "{pki}/server-chain.pem"
private_key = "{pki}/server.key"
client_ca = "{pki}/clients-ca.pem"
""")
    code, out, err = check(cfg)
    assert code == 0, err
    assert err == ""


def test_every_problem_is_reported_with_its_position(tmp_path, pki):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(f"""[server]
workers = "two"
handshake_timeout = "10 parsecs"

[[listener]]
name = "a"
listen = "localhost:5061"
backend = "127.0.0.1:99999"
[listener.tls]
certificate = "{pki}/server-chain.pem"
private_key = "{pki}/client-good.key"
client_ca = "missing-ca.pem"
verfy_client = "required"
""")
    code, out, err = check(cfg)
    assert code != 0
    lines = err.strip().splitlines()
    pattern = re.compile(re.escape(str(cfg)) + r":(\d+):(\d+): (.+)")
    found = {}
    for line in lines:
        m = pattern.fullmatch(line)
        assert m, f"not FILE:LINE:COL: {line!r}"
        found[int(m.group(1))] = m.group(3)
    assert set(found) >= {2, 3, 7, 8, 11, 12, 13}, err
    assert "verfy_client" in found[13]
    assert "private key" in found[11].lower() and "match" in found[11].lower(), found[11]
    assert "missing-ca.pem" in found[12]


def optional_client_certificate_config(pki, port: int = 15061) -> str:
    """A listener named "phones" with a revocation profile and verify_client = "optional"
    (line 14, value at column 17)."""
    return f"""[server]
log_format = "json"

[[listener]]
name = "phones"
listen = "127.0.0.1:{port}"
backend = "127.0.0.1:15060"
revocation = "corp"

[listener.tls]
certificate = "{pki}/server-chain.pem"
private_key = "{pki}/server.key"
client_ca = "{pki}/clients-ca.pem"
verify_client = "optional"

[revocation.corp]
"""


def unchecked_clients_warning(cfg) -> re.Pattern:
    return re.compile(re.escape(f'{cfg}:14:17: warning: listener[0].tls.verify_client: on listener "phones", '
                                "clients that send no certificate are not revocation-checked") + ".*")


def test_optional_client_certificate_with_revocation_warns_and_stays_valid(tmp_path, pki):
    cfg = tmp_path / "optional.toml"
    cfg.write_text(optional_client_certificate_config(pki))
    code, out, err = check(cfg)
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and unchecked_clients_warning(cfg).fullmatch(lines[0]), err
    assert "configuration is valid" in out, out


def test_start_up_prints_the_unchecked_clients_warning(tmp_path, pki):
    cfg_text = optional_client_certificate_config(pki, free_port())
    gate = Ocspgate(tmp_path, cfg_text, name="optional")
    try:
        warnings = [line for line in gate.output().splitlines() if " warning: " in line]
        assert any(unchecked_clients_warning(gate.config_path).fullmatch(line) for line in warnings), gate.output()
    finally:
        gate.stop_cleanly()


def test_reload_logs_the_unchecked_clients_warning(tmp_path, pki):
    optional = optional_client_certificate_config(pki, free_port())
    gate = Ocspgate(tmp_path, optional.replace('verify_client = "optional"', 'verify_client = "required"'),
                    name="reloaded")
    try:
        assert " warning: " not in gate.output(), gate.output()
        gate.config_path.write_text(optional)
        gate.proc.send_signal(signal.SIGHUP)
        gate.wait_event("reloaded", generation=2)
        logged = gate.wait_event("config_warning")[0]
        assert logged["level"] == "warning", logged
        assert unchecked_clients_warning(gate.config_path).fullmatch(logged["text"]), logged
    finally:
        gate.stop_cleanly()


def test_toml_syntax_error_has_a_position(tmp_path):
    cfg = tmp_path / "syntax.toml"
    cfg.write_text("[server]\nworkers = = 1\n")
    code, out, err = check(cfg)
    assert code != 0
    assert re.match(re.escape(str(cfg)) + r":2:\d+: ", err), err


def test_missing_file_is_a_clear_error(tmp_path):
    code, out, err = check(tmp_path / "nope.toml")
    assert code != 0
    assert "nope.toml" in err


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_informational_flags_exit_zero(flag):
    r = subprocess.run([ocspgate_binary(), flag], stdout=subprocess.PIPE, timeout=10)
    assert r.returncode == 0
    assert b"ocspgate" in r.stdout
