"""The image of docker/Dockerfile, run with its own default config (docker/ocspgate.toml, ports
moved to free ones) in front of a real `openssl ocsp` responder and an echo backend."""
import os
import shutil
import threading
import time

import pytest
from harness import Backend, OcspResponder, expect_accept, expect_reject, free_port, tls_connect, recv_exactly
from podman import GateContainer, logged_events, podman, repo_file, substitute, uid_of

DRAIN_S = 8  # drain_timeout in docker/ocspgate.toml
STOP_GRACE_S = 10  # what `podman stop` waits before SIGKILL


@pytest.fixture
def gate(gate_image, pki, tmp_path):
    """The container with a copy of the shipped config and the PKI at /etc/ocspgate; .pki,
    .port, .backend, .responder and .admin are set."""
    responder = OcspResponder(tmp_path, pki)
    backend = Backend("echo")
    port, admin = free_port(), f"127.0.0.1:{free_port()}"
    etc = tmp_path / "etc"
    shutil.copytree(pki, etc / "pki")
    etc.chmod(0o755)
    (etc / "pki").chmod(0o755)
    for key in (etc / "pki").glob("*.key"):  # as the README says: the key for uid 10001 only
        os.chown(key, 10001, 10001)
        key.chmod(0o600)
    (etc / "ocspgate.toml").write_text(substitute(repo_file("docker/ocspgate.toml"), {
        "0.0.0.0:5061": f"127.0.0.1:{port}",
        "127.0.0.1:5060": f"127.0.0.1:{backend.port}",
        "127.0.0.1:9901": admin,
        "http://127.0.0.1:8888": responder.url,
    }))
    # No OCSPGATE_ADMIN: the probe must find the moved admin address in the config itself.
    container = GateContainer(tmp_path, etc, f"ocspgate-test-{port}")
    container.pki, container.port, container.backend, container.responder, container.admin = pki, port, backend, responder, admin
    yield container
    container.stop()
    backend.close()
    responder.stop()


def test_logs_are_json_lines_on_stdout_by_default(gate):
    logs = podman("logs", gate.name)  # the container's stdout and stderr, kept apart
    listening = logged_events(logs.stdout, "listening")
    assert listening and listening[0]["level"] == "info", logs.stdout + logs.stderr
    assert not logged_events(logs.stderr), logs.stderr


def test_healthcheck_finds_a_moved_admin_address_in_the_config_and_can_fail(gate):
    assert gate.admin != "127.0.0.1:9901"
    r = podman("healthcheck", "run", gate.name, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    # OCSPGATE_ADMIN overrides the config: pointed at a closed port the probe must fail, or it
    # proves nothing.
    closed = gate.exec("env", f"OCSPGATE_ADMIN=127.0.0.1:{free_port()}", "ocspgate-probe", "/healthz")
    assert closed.returncode != 0


def test_runs_as_a_non_root_user(gate):
    assert uid_of(gate.main_pid()) == [10001] * 4
    assert gate.exec("id", "-un").stdout.strip() == "ocspgate"


def test_good_certificate_is_forwarded(gate):
    close = expect_accept(gate, "client-good", b"hello through the container")
    assert close["revocation"] == "good" and close["revocation_source"] == gate.responder.url, close
    assert gate.backend.connections == 1


def test_revoked_certificate_gets_certificate_revoked(gate):
    close = expect_reject(gate, "client-revoked", "SSLV3_ALERT_CERTIFICATE_REVOKED")
    assert close["reason"] == "certificate revoked", close
    assert gate.backend.connections == 0


def test_stop_without_connections_is_quick_and_clean(gate):
    started = time.monotonic()
    code = gate.stop()
    assert code == 0, gate.output()[-3000:]
    assert time.monotonic() - started < 3
    assert gate.events("stopped"), gate.output()[-3000:]


def test_stop_drains_open_connections_within_the_deadline(gate):
    client = tls_connect(gate.pki, gate.port, "client-good")
    client.sendall(b"before")
    assert recv_exactly(client, 6) == b"before"
    started = time.monotonic()
    stopping = threading.Thread(target=lambda: setattr(gate, "exit_code", gate.stop()))
    stopping.start()
    gate.wait_event("signal", action="drain")
    # Draining: not ready any more, but the open connection still works.
    assert gate.exec("ocspgate-probe", "/readyz").returncode != 0
    client.sendall(b"during")
    assert recv_exactly(client, 6) == b"during"
    stopping.join(STOP_GRACE_S + 10)
    elapsed = time.monotonic() - started
    client.close()
    assert gate.exit_code == 0, f"exit {gate.exit_code} (137 = SIGKILL after the grace period)\n{gate.output()[-3000:]}"
    assert DRAIN_S - 1 <= elapsed < STOP_GRACE_S, elapsed
    close = gate.events("close")
    assert len(close) == 1 and close[0]["decision"] == "accept", close
