"""One table of exit codes for every command (README "Exit codes", docs/ocspgate.8 EXIT
STATUS, --help): 0 done, 1 failed, 2 usage; `check` the verdict's, 0 accept, 1 revoked, 2
unknown or undetermined, 3 usage (#19 point 5). --help and the man page are parsed and compared
with each other and with what the binary returns (#26 point 8). And stock settings start
without a warning: max_connections left out fits the open-file limit found at start."""
import json
import re
import resource
import subprocess
from pathlib import Path

import pytest

from harness import Ocspgate, Process, free_port, listener_config, ocspgate_binary, revocation_config, wait_until


def run(*args, timeout=20):
    return subprocess.run([ocspgate_binary(), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, text=True)


def valid_config(tmp_path, pki, *, admin=False, extra_server=""):
    path = tmp_path / "gate.toml"
    text = listener_config(pki, free_port(), free_port(), extra_server=extra_server)
    path.write_text(text + ("\n[admin]\nlisten = \"127.0.0.1:%d\"\n" % free_port() if admin else ""))
    return path


def invalid_config(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[server]\nworkers = "two"\n')
    return path


def test_help_prints_the_exit_code_table_and_exits_zero():
    r = run("--help")
    assert r.returncode == 0
    assert "Exit codes" in r.stdout and "  2  usage" in r.stdout, r.stdout


@pytest.mark.parametrize("args", [(), ("--check-config",), ("--print-admin-address",), ("--no-such-option",),
                                  ("status", "--admin", "localhost")])
def test_a_bad_command_line_exits_2(args):
    r = run(*args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.strip(), "a usage error says what is wrong"


def test_check_config_exits_0_when_valid_and_1_when_invalid(tmp_path, pki):
    assert run("--check-config", "--config", valid_config(tmp_path, pki)).returncode == 0
    assert run("--check-config", "--config", invalid_config(tmp_path)).returncode == 1
    assert run("--check-config", "--config", tmp_path / "missing.toml").returncode == 1


def test_run_exits_1_on_an_invalid_config_and_0_after_a_clean_shutdown(tmp_path, pki, echo_backend):
    assert run("--config", invalid_config(tmp_path)).returncode == 1
    port = free_port()
    gate = Ocspgate(tmp_path, listener_config(pki, port, echo_backend.port))
    gate.stop_cleanly()  # asserts exit code 0


def test_print_admin_address_exits_0_1_and_2(tmp_path, pki):
    with_admin = valid_config(tmp_path, pki, admin=True)
    assert run("--print-admin-address", "--config", with_admin).returncode == 0
    without = tmp_path / "plain.toml"
    without.write_text(listener_config(pki, free_port(), free_port()))
    assert run("--print-admin-address", "--config", without).returncode == 1
    assert run("--print-admin-address", "--config", tmp_path / "missing.toml").returncode == 2


def test_status_exits_1_when_nothing_answers_and_2_for_an_unreadable_config(tmp_path):
    assert run("status", "--admin", f"127.0.0.1:{free_port()}").returncode == 1
    assert run("status", "--config", tmp_path / "missing.toml").returncode == 2


def expected_default(limit):
    return min(10000, (limit - 256) // 2)


def start_with_limit(tmp_path, pki, backend_port, limit, extra_server=""):
    """ocspgate under `prlimit --nofile=LIMIT:LIMIT`, with its JSON log."""
    port = free_port()
    config = tmp_path / "limited.toml"
    config.write_text(listener_config(pki, port, backend_port, extra_server=extra_server))
    gate = Process(["prlimit", f"--nofile={limit}:{limit}", ocspgate_binary(), "--config", config],
                   tmp_path / "limited.log")
    wait_until(lambda: '"event":"listening"' in gate.output() or not gate.alive(), 10, "ocspgate to listen")
    assert gate.alive(), gate.output()
    return gate


def events(gate, name):
    return [json.loads(l) for l in gate.output().splitlines()
            if l.startswith("{") and json.loads(l).get("event") == name]


def test_stock_settings_start_without_a_warning(tmp_path, pki, echo_backend):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    port = free_port()
    # The test PKI's keys are 0644 (a warning of their own): give this one a private copy.
    key = tmp_path / "server.key"
    key.write_bytes((pki / "server.key").read_bytes())
    key.chmod(0o600)
    config = listener_config(pki, port, echo_backend.port).replace(f"{pki}/server.key", str(key))
    gate = Ocspgate(tmp_path, config)
    chosen = gate.wait_event("max_connections")[0]
    assert chosen["level"] == "info" and chosen["value"] == expected_default(hard), chosen
    assert not [e for e in gate.events() if e["level"] in ("warning", "error")], gate.output()
    gate.stop_cleanly()


def test_a_low_open_file_limit_gives_a_smaller_default_without_a_warning(tmp_path, pki, echo_backend):
    gate = start_with_limit(tmp_path, pki, echo_backend.port, 1024)
    assert events(gate, "max_connections")[0]["value"] == expected_default(1024) == 384
    assert not events(gate, "warning"), gate.output()
    assert gate.stop() == 0


def test_a_configured_value_that_does_not_fit_says_what_to_change(tmp_path, pki, echo_backend):
    gate = start_with_limit(tmp_path, pki, echo_backend.port, 1024, extra_server="max_connections = 15000")
    warning = events(gate, "warning")[0]
    assert warning["level"] == "warning"
    assert "max_connections = 15000 needs 30256 open files, but the open-file limit is 1024" in warning["text"]
    assert "set [server] max_connections = 384" in warning["text"] and "LimitNOFILE=" in warning["text"]
    assert not events(gate, "max_connections")
    assert gate.stop() == 0


# --- One table, three places (#26 point 8): --help, the man page and the code agree. ---

MAN_PAGE = Path(__file__).resolve().parents[2] / "docs" / "ocspgate.8"
VERDICT_WORDS = ("accept", "revoked", "unknown", "usage")  # `check`: the verdict, or a usage error


def help_tables():
    """({code: word} for every command, {code: word} for `check`) from --help's footer."""
    text = run("--help").stdout
    general = {int(c): w.lower() for c, w in re.findall(r"^  (\d)  (\w+):", text, re.M)}
    own = text[text.index("check answers with the verdict"):]
    check = {int(c): w for c, w in re.findall(r"(\d) (\w+)", own) if w in VERDICT_WORDS}
    return general, check


def man_tables():
    """The same two tables from docs/ocspgate.8's EXIT STATUS section."""
    text = MAN_PAGE.read_text()
    section = text[text.index(".SH EXIT STATUS"):text.index(".SH EXAMPLES")]
    general = {int(c): w.lower() for c, w in re.findall(r"^\.TP\n\.B (\d)\n(\w+):", section, re.M)}
    own = section[section.index(".B check\n"):]
    check = {int(c): w for c, w in re.findall(r"(\d): (?:verdict )?(\w+)", own) if w in VERDICT_WORDS}
    return general, check


def test_help_and_man_page_give_the_same_exit_codes():
    help_general, help_check = help_tables()
    man_general, man_check = man_tables()
    assert help_general == man_general == {0: "done", 1: "failed", 2: "usage"}, (help_general, man_general)
    assert help_check == man_check == {0: "accept", 1: "revoked", 2: "unknown", 3: "usage"}, (help_check, man_check)


def test_the_code_returns_the_documented_exit_codes(tmp_path, pki, peers):
    general, check = help_tables()
    code_of = {word: code for code, word in general.items()}
    assert run("--check-config", "--config", valid_config(tmp_path, pki)).returncode == code_of["done"]
    assert run("--check-config", "--config", invalid_config(tmp_path)).returncode == code_of["failed"]
    assert run("--no-such-option").returncode == code_of["usage"]
    assert run("status", "--admin", f"127.0.0.1:{free_port()}").returncode == code_of["failed"]
    # `check`: each verdict's documented code, from the real engine and a real responder.
    check_code = {word: code for code, word in check.items()}
    responder = peers.responder()
    config = tmp_path / "check.toml"
    config.write_text(revocation_config(pki, free_port(), free_port(), responders=[responder.url]))
    for cert, verdict in (("client-good", "accept"), ("client-revoked", "revoked"), ("client-unknown", "unknown")):
        r = run("check", "--config", config, "--listener", "test", "--cert", pki / f"{cert}.pem", "--json")
        assert json.loads(r.stdout)["verdict"] == verdict and r.returncode == check_code[verdict], (cert, r)
    assert run("check", "--config", config, "--listener", "nope", "--cert", pki / "client-good.pem").returncode \
        == check_code["usage"]
