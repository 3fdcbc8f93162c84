"""Hand-over of the listening sockets, so a restart or a binary upgrade refuses no client:
systemd socket activation (LISTEN_PID/LISTEN_FDS, simulated by a wrapper that puts the socket
at fd 3 and execs ocspgate in the same process) and the SIGUSR2 binary upgrade (the running
process starts the binary again with its sockets and drains once the new one listens).
"""
import os
import shutil
import tempfile
import signal
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from harness import (Ocspgate, Process, free_port, listener_config, ocspgate_binary, recv_exactly, round_trip,
                     tls_connect, wait_until)

# Puts the socket given as argv[1] at fd 3 and execs argv[2:] with LISTEN_PID = its own pid
# (an exec keeps the pid), as systemd does for an activated service.
ACTIVATE = """
import os, sys
fd = int(sys.argv[1])
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1", LISTEN_FDNAMES="sockets-unit")
os.execv(sys.argv[2], sys.argv[2:])
"""


class ActivatedGate(Ocspgate):
    """ocspgate started by socket activation of `sock` (which the test keeps, like systemd)."""

    def __init__(self, workdir: Path, config: str, sock: socket.socket, name: str):
        self.config_path = workdir / f"{name}.toml"
        self.config_path.write_text(config)
        wrapper = workdir / "activate.py"
        wrapper.write_text(ACTIVATE)
        argv = [sys.executable, wrapper, sock.fileno(), ocspgate_binary(), "--config", self.config_path]
        self.argv = [str(a) for a in argv]
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        import subprocess
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, pass_fds=(sock.fileno(),))
        import harness
        harness.STARTED.append(self)
        wait_until(lambda: self.events("listening") or not self.alive(), 10, "ocspgate to listen")
        assert self.alive(), f"ocspgate exited at start:\n{self.output()}"


def activation_socket(port: int) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


def test_socket_activation_adopts_the_socket_and_a_restart_refuses_nobody(tmp_path, pki, echo_backend):
    port = free_port()
    config = listener_config(pki, port, echo_backend.port, extra_server="workers = 2")
    sock = activation_socket(port)
    try:
        first = ActivatedGate(tmp_path, config, sock, "first")
        inherited = first.wait_event("listener_inherited")[0]
        assert inherited["address"] == f"127.0.0.1:{port}" and inherited["sockets"] == 1, inherited
        assert not first.events("inherited_socket_unused")
        # Both workers serve the one socket (the second on a duplicate).
        for i in range(6):
            assert round_trip(pki, port, "client-good", f"a{i}".encode()) == f"a{i}".encode()
        first.stop_cleanly()

        # No ocspgate runs now, but the socket (held here, as systemd holds it) still listens:
        # a phone that connects waits in the accept queue, and the next process serves it.
        waiting = socket.create_connection(("127.0.0.1", port), timeout=5)
        waiting.close()  # the TCP connection was accepted by the kernel: not refused
        result = {}

        def connect_during_restart():
            try:
                result["echo"] = round_trip(pki, port, "client-good", b"queued", timeout=15)
            except Exception as e:  # reported by the assertion below
                result["error"] = repr(e)

        client = threading.Thread(target=connect_during_restart)
        client.start()
        time.sleep(0.3)
        second = ActivatedGate(tmp_path, config, sock, "second")
        client.join(20)
        assert result.get("echo") == b"queued", result
        assert second.wait_event("accept")  # the queued phone was served by the new process
        second.stop_cleanly()
    finally:
        sock.close()


def test_an_activated_socket_no_listener_wants_is_closed_with_a_warning(tmp_path, pki, echo_backend):
    port, other = free_port(), free_port()
    sock = activation_socket(other)
    try:
        gate = ActivatedGate(tmp_path, listener_config(pki, port, echo_backend.port), sock, "gate")
        unused = gate.wait_event("inherited_socket_unused")[0]
        assert unused["address"] == f"127.0.0.1:{other}" and unused["name"] == "sockets-unit", unused
        assert round_trip(pki, port, "client-good") == b"ping"  # bound its own address as usual
        gate.stop_cleanly()
    finally:
        sock.close()


def test_without_listen_pid_for_this_process_nothing_is_adopted(tmp_path, pki, echo_backend):
    """LISTEN_* meant for another process (a parent) are ignored: ocspgate binds itself."""
    port = free_port()
    path = tmp_path / "gate.toml"
    path.write_text(listener_config(pki, port, echo_backend.port))
    env = dict(os.environ, LISTEN_PID="1", LISTEN_FDS="1")
    gate_log = tmp_path / "gate.log"
    p = Process([ocspgate_binary(), "--config", path], gate_log, env=env)
    wait_until(lambda: "listening" in p.output() or not p.alive(), 10, "listening")
    assert p.alive(), p.output()
    assert "listener_inherited" not in p.output()
    assert round_trip(pki, port, "client-good") == b"ping"
    assert p.stop(15) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]


class Load:
    """Real TLS clients with certificates connecting one after another on two threads, each
    connection a full round trip; every failure is kept. Bounded in count and time."""

    def __init__(self, pki, port, max_seconds=40.0, max_connections=20000):
        self.pki, self.port = pki, port
        self.deadline = time.monotonic() + max_seconds
        self.max_connections = max_connections
        self.ok, self.failures = 0, []
        self.ok_times = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(t,)) for t in range(2)]
        for t in self.threads:
            t.start()

    def _run(self, t):
        i = 0
        while not self.stop.is_set() and time.monotonic() < self.deadline and self.ok + len(self.failures) < self.max_connections:
            payload = f"t{t}-{i}".encode()
            i += 1
            try:
                with tls_connect(self.pki, self.port, cert="client-good", timeout=10) as c:
                    c.sendall(payload)
                    got = recv_exactly(c, len(payload))
                if got != payload:
                    raise AssertionError(f"echo {got!r} for {payload!r}")
                with self.lock:
                    self.ok += 1
                    self.ok_times.append(time.monotonic())
            except Exception as e:
                with self.lock:
                    self.failures.append(repr(e))

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)


def upgrade_config(pki, port, backend_port, admin_port, workers, extra_server=""):
    return listener_config(pki, port, backend_port, extra_server=f"workers = {workers}\n{extra_server}") + \
        f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n'


def readyz(admin_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/readyz", timeout=5) as r:
        return r.status


def run_upgrade(tmp_path, pki, echo_backend, old_workers, new_workers, extra_server=""):
    port, admin_port = free_port(), free_port()
    old = Ocspgate(tmp_path, upgrade_config(pki, port, echo_backend.port, admin_port, old_workers, extra_server),
                   name="old")
    if new_workers != old_workers:  # the new process reads the file as it is at the upgrade
        old.config_path.write_text(upgrade_config(pki, port, echo_backend.port, admin_port, new_workers,
                                                  extra_server))
    new_pid = None
    load = Load(pki, port)
    held = tls_connect(pki, port, cert="client-good")  # open across the upgrade: drained, not cut
    try:
        wait_until(lambda: load.ok >= 20, 20, "load before the upgrade")
        old.proc.send_signal(signal.SIGUSR2)
        ready = old.wait_event("upgrade_ready", timeout=30)[0]
        new_pid = ready["pid"]
        assert new_pid != old.pid
        old.wait_event("drain")
        held.sendall(b"still here")
        assert recv_exactly(held, 10) == b"still here"  # the old process finishes what it has
        held.close()
        # The old process drains and exits by itself, cleanly.
        old.proc.wait(30)
        old_exit = time.monotonic()
        assert old.proc.returncode == 0, old.output()[-4000:]
        assert old.events("stopped")
        # Clients keep being served, now by the new process alone.
        served_before = load.ok
        wait_until(lambda: load.ok >= served_before + 40, 30, "load after the old process exited")
        load.finish()
        assert load.failures == [], load.failures[:5]
        assert any(t > old_exit for t in load.ok_times)
        assert pid_alive(new_pid)
        assert readyz(admin_port) == 200  # the admin socket was handed over too
        out = old.output()  # the new process inherited the old one's stdout
        assert "AddressSanitizer" not in out and "runtime error:" not in out, out[-4000:]
        inherited = old.events("listener_inherited")
        assert inherited and inherited[0]["sockets"] == old_workers, inherited
        assert not old.events("inherited_socket_unused")
        # The new process drains and stops cleanly too (it writes to the same log).
        os.kill(new_pid, signal.SIGTERM)
        wait_until(lambda: not pid_alive(new_pid), 15, "the new process to exit")
        wait_until(lambda: len(old.events("stopped")) == 2, 10, "the new process's stopped line")
        out = old.output()
        assert "AddressSanitizer" not in out and "runtime error:" not in out and "LeakSanitizer" not in out, out[-4000:]
        return old, new_pid
    finally:
        load.finish()
        held.close()
        if new_pid and pid_alive(new_pid):
            os.kill(new_pid, signal.SIGTERM)
            wait_until(lambda: not pid_alive(new_pid), 15, "the new process to exit")


def test_binary_upgrade_refuses_no_client(tmp_path, pki, echo_backend):
    old, _ = run_upgrade(tmp_path, pki, echo_backend, old_workers=2, new_workers=2)
    assert old.events("upgrade")[0]["sockets"] == 3  # two workers' sockets and the admin one
    assert old.events("signal", signal="upgrade")


def test_binary_upgrade_to_fewer_workers_keeps_every_socket(tmp_path, pki, echo_backend):
    """Three sockets handed to one worker: it listens on all of them (closing one would drop
    the connections queued in its backlog)."""
    run_upgrade(tmp_path, pki, echo_backend, old_workers=3, new_workers=1)


def test_a_failed_upgrade_leaves_the_old_process_serving(tmp_path, pki, echo_backend):
    port, admin_port = free_port(), free_port()
    old = Ocspgate(tmp_path, upgrade_config(pki, port, echo_backend.port, admin_port, 2), name="old")
    good = old.config_path.read_text()
    old.config_path.write_text(good.replace('protocol = "tcp"', 'protocol = "nonsense"'))
    old.proc.send_signal(signal.SIGUSR2)
    failed = old.wait_event("upgrade_failed", timeout=30)[0]
    assert "exited before it was listening" in failed["error"], failed
    assert old.alive()
    assert round_trip(pki, port, "client-good") == b"ping"
    assert readyz(admin_port) == 200
    # A second attempt with a good file works.
    old.config_path.write_text(good)
    old.proc.send_signal(signal.SIGUSR2)
    new_pid = old.wait_event("upgrade_ready", timeout=30)[0]["pid"]
    try:
        old.proc.wait(30)
        assert old.proc.returncode == 0
        assert round_trip(pki, port, "client-good") == b"ping"
    finally:
        if pid_alive(new_pid):
            os.kill(new_pid, signal.SIGTERM)
            wait_until(lambda: not pid_alive(new_pid), 15, "the new process to exit")


def test_the_load_sees_the_refusals_of_a_plain_restart(tmp_path, pki, echo_backend):
    """Control for the tests above: the same load across a stop and a fresh start (no hand-over)
    does see failed connections, so its zero above means something."""
    port = free_port()
    config = listener_config(pki, port, echo_backend.port, extra_server="workers = 2")
    old = Ocspgate(tmp_path, config, name="old")
    load = Load(pki, port, max_seconds=30)
    try:
        wait_until(lambda: load.ok >= 20, 20, "load before the restart")
        old.stop_cleanly()
        time.sleep(0.2)
        new = Ocspgate(tmp_path, config, name="new")
        served = load.ok
        wait_until(lambda: load.ok >= served + 20, 20, "load after the restart")
    finally:
        load.finish()
    assert load.failures, "a plain restart refused nobody: the load cannot tell"
    new.stop_cleanly()


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_binary_upgrade_after_a_privilege_drop(pki, echo_backend):
    """Started as root with [server] user: the new process starts as that user already (the
    old one dropped root before SIGUSR2) and must not fail trying to drop again."""
    public = Path(tempfile.mkdtemp(prefix="ocspgate-public-"))
    try:
        os.chmod(public, 0o755)
        copy = public / "pki"
        shutil.copytree(pki, copy)
        for path in [copy, *copy.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        old, new_pid = run_upgrade(public, copy, echo_backend, 2, 2, 'user = "nobody"\ngroup = "nogroup"')
        drops = old.events("privileges_dropped")
        assert len(drops) == 2 and drops[1].get("text") == "already running as these ids", drops
    finally:
        shutil.rmtree(public, ignore_errors=True)
