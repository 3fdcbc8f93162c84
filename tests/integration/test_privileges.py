"""Secure defaults at start-up: [server] user/group drop root once the listeners are bound
(checked in /proc/PID/status while traffic still flows), a failed drop stops the start, and
private key files that others can read are warned about, and the logs never carry key
material or whole certificates."""
import os
import pwd
import grp
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import expect_accept, expect_reject, free_port, ocspgate_binary, revocation_config

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
NOBODY, NOGROUP = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid


def ids(pid: int) -> dict:
    """The Uid:, Gid: (real, effective, saved, filesystem) and Groups: lines of /proc/PID/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            fields[key] = [int(v) for v in value.split()]
    return fields


def gate_with(peers, extra_server: str, pki=None):
    pki = pki or peers.pki
    backend = peers.backend()
    responder = peers.responder(pki=pki)
    port = free_port()
    gate = peers.gate(revocation_config(pki, port, backend.port, responders=[responder.url],
                                        extra_server=extra_server))
    gate.port, gate.backend, gate.pki = port, backend, pki
    return gate


@as_root
def test_user_and_group_are_dropped_after_binding_and_traffic_still_flows(peers):
    gate = gate_with(peers, 'user = "nobody"\ngroup = "nogroup"')
    gate.wait_event("privileges_dropped")
    status = ids(gate.pid)
    assert status["Uid"] == [NOBODY] * 4, status
    assert status["Gid"] == [NOGROUP] * 4, status
    assert status["Groups"] == [NOGROUP], status
    # After the drop: a handshake, a fresh OCSP lookup over the network, the backend connection.
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_method"]) == ("good", "ocsp"), close
    expect_reject(gate, "client-revoked", "SSLV3_ALERT_CERTIFICATE_REVOKED")
    gate.stop_cleanly()


@as_root
def test_user_alone_also_takes_its_primary_group(peers):
    gate = gate_with(peers, 'user = "nobody"')
    gate.wait_event("privileges_dropped")
    status = ids(gate.pid)
    assert status["Uid"] == [NOBODY] * 4 and status["Gid"] == [pwd.getpwnam("nobody").pw_gid] * 4, status
    expect_accept(gate, "client-good")
    gate.stop_cleanly()


def test_without_user_nothing_changes(peers):
    gate = gate_with(peers, "")
    expect_accept(gate, "client-good")
    assert not gate.events("privileges_dropped")
    assert ids(gate.pid)["Uid"][0] == os.geteuid()
    gate.stop_cleanly()


@pytest.fixture
def public_dir():
    """A folder under /tmp that an unprivileged account can reach (pytest's are root-only)."""
    path = Path(tempfile.mkdtemp(prefix="ocspgate-public-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def world_readable_pki(peers, public_dir: Path) -> Path:
    """A copy of the session PKI that anyone can read (keys mode 0644)."""
    copy = public_dir / "pki"
    shutil.copytree(peers.pki, copy)
    for path in [copy, *copy.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return copy


@as_root
def test_a_drop_that_fails_stops_the_start(peers, public_dir):
    pki = world_readable_pki(peers, public_dir)
    port = free_port()
    config = public_dir / "drop-fails.toml"
    # Started as nobody, asked to become root: setgroups() is refused.
    config.write_text(revocation_config(pki, port, free_port(), extra_server='user = "root"'))
    os.chmod(config, 0o644)

    def as_nobody():
        os.setgroups([])
        os.setgid(NOGROUP)
        os.setuid(NOBODY)

    run = subprocess.run([ocspgate_binary(), "--config", str(config)], preexec_fn=as_nobody, timeout=20,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert run.returncode == 1, run.stdout
    assert "cannot drop privileges: setgroups(0): Operation not permitted" in run.stdout, run.stdout
    assert '"event":"listening"' not in run.stdout.replace(" ", ""), run.stdout


def test_unknown_user_is_a_configuration_error(peers):
    config = peers.workdir / "unknown-user.toml"
    config.write_text(revocation_config(peers.pki, free_port(), free_port(),
                                        extra_server='user = "no-such-user-here"\ngroup = "no-such-group-here"'))
    run = subprocess.run([ocspgate_binary(), "--config", str(config), "--check-config"], timeout=20,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert run.returncode == 1
    assert 'server.user: no user named "no-such-user-here" on this system' in run.stdout, run.stdout
    assert 'server.group: no group named "no-such-group-here" on this system' in run.stdout, run.stdout


def test_private_key_readable_by_others_is_warned_about(peers, public_dir):
    pki = world_readable_pki(peers, public_dir)
    gate = gate_with(peers, "", pki=pki)
    warning = gate.wait_event("key_file_permissions")[0]
    assert warning["level"] in ("warning", "warn"), warning
    assert (warning["key"], warning["file"], warning["mode"]) == (
        "listener[0].tls.private_key", str(pki / "server.key"), "0644"), warning
    expect_accept(gate, "client-good")  # a warning, not a refusal
    gate.stop_cleanly()


def test_private_key_readable_by_owner_only_is_not_warned_about(peers, tmp_path):
    pki = tmp_path / "pki"
    shutil.copytree(peers.pki, pki)
    os.chmod(pki / "server.key", 0o600)
    gate = gate_with(peers, "", pki=pki)
    expect_accept(gate, "client-good")
    assert not gate.events("key_file_permissions"), gate.events("key_file_permissions")
    gate.stop_cleanly()


def pem_body_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("-----")]


def test_logs_carry_no_key_material_and_no_full_certificates(peers):
    gate = gate_with(peers, "")  # log_level = "debug": the most the logs ever say
    expect_accept(gate, "client-good")
    expect_reject(gate, "client-revoked", "SSLV3_ALERT_CERTIFICATE_REVOKED")
    gate.stop_cleanly()
    log = gate.output()
    assert gate.events("close") and "-----BEGIN" not in log
    secrets = {name: pem_body_lines(peers.pki / name) for name in
               ("server.key", "client-good.key", "ocsp-signer.key", "server.pem", "client-good.pem",
                "client-revoked.pem", "issuing-ca.pem")}
    for name, lines in secrets.items():
        for line in lines:
            assert line[:40] not in log, f"{name} appears in the log"
        der = subprocess.run(["openssl", "base64", "-d"], input="\n".join(lines).encode(),
                             capture_output=True, check=True).stdout
        assert der[:24].hex() not in log.lower(), f"{name} appears in the log as hex"
