"""`ocspgate --check-config` reports every problem as FILE:LINE:COL: message."""
import re
import subprocess

from harness import ocspgate_binary

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
