"""Backends named by host name: resolved off the loop, tried with staggered attempts (RFC 8305),
resolved again on an interval, and a name that does not resolve fails the connection with its
reason. The names come from a test hosts file: ocspgate runs in a private user + mount namespace
(`unshare -rm`) with that file bound over /etc/hosts and an nsswitch.conf of "hosts: files", so
no lookup ever leaves the machine. Every peer listens on loopback."""
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness import Ocspgate, Process, free_port, listener_config, ocspgate_binary, recv_exactly, tls_connect, wait_until


def namespaces_work() -> str | None:
    """None when `unshare -rm` with a bind mount over /etc/hosts works here, else why not."""
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount --bind /etc/hostname /etc/hosts && echo ok"],
                           capture_output=True, text=True, timeout=10)
    return None if probe.stdout.strip() == "ok" else f"unshare -rm unavailable: {probe.stderr.strip()}"


SKIP_REASON = namespaces_work()
pytestmark = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")


def namespace_argv(workdir: Path, hosts: str, argv) -> list:
    """`argv` run with `hosts` as /etc/hosts and the resolver limited to files."""
    hosts_path, nss_path = workdir / "hosts", workdir / "nsswitch.conf"
    hosts_path.write_text(hosts)
    nss_path.write_text("hosts: files\n")
    script = f'mount --bind {hosts_path} /etc/hosts && mount --bind {nss_path} /etc/nsswitch.conf && exec "$@"'
    return ["unshare", "-rm", "sh", "-c", script, "sh", *[str(a) for a in argv]]


class NamespacedOcspgate(Ocspgate):
    """The real binary, as Ocspgate, inside its own mount namespace (it execs: same pid)."""

    def __init__(self, workdir: Path, config: str, hosts: str):
        self.config_path = workdir / "ocspgate.toml"
        self.config_path.write_text(config)
        self.hosts_path = workdir / "hosts"
        Process.__init__(self, namespace_argv(workdir, hosts, [ocspgate_binary(), "--config", self.config_path]),
                         workdir / "ocspgate.log")
        wait_until(lambda: self.events("listening") or not self.alive(), 10, "ocspgate to listen")
        assert self.alive(), f"ocspgate exited at start:\n{self.output()}"


class Echo:
    """An echo server on one loopback address (IPv4 or IPv6), counting its connections."""

    def __init__(self, host: str, port: int = 0):
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn):
        with conn:
            conn.settimeout(10)
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


class TlsEcho(Echo):
    """An echo server speaking TLS with the test PKI's server certificate (SAN: 127.0.0.1, ::1,
    DNS:localhost)."""

    def __init__(self, host: str, pki: Path):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pki / "server-chain.pem", pki / "server.key")
        super().__init__(host)

    def _echo(self, conn):
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        Echo._echo(tls)


class BlackHole:
    """An address that drops SYNs: a listener whose accept queue is full (backlog 0, one
    connection queued, never accepted); Linux drops further SYNs to it, so a connect stays
    pending, as toward a firewalled host, without leaving loopback."""

    def __init__(self, host: str, port: int):
        self.sock = socket.socket()
        self.sock.bind((host, port))
        self.sock.listen(0)
        self.filler = socket.create_connection((host, port), timeout=2)

    def drops_syns(self) -> bool:
        probe = socket.socket()
        probe.settimeout(0.5)
        try:
            probe.connect(self.sock.getsockname())
            return False
        except socket.timeout:
            return True
        finally:
            probe.close()

    def close(self):
        self.filler.close()
        self.sock.close()


def config_for(pki, listen_port: int, backend: str, extra_listener: str = "", connect_timeout: str = "2s") -> str:
    text = listener_config(pki, listen_port, 1, extra_listener=extra_listener)
    text = text.replace('connect_timeout = "2s"', f'connect_timeout = "{connect_timeout}"')
    return text.replace('backend = "127.0.0.1:1"', f'backend = "{backend}"')


def round_trip(pki, port: int, payload: bytes = b"ping\n") -> float:
    """Seconds from the completed TLS handshake to the echo of `payload`."""
    with tls_connect(pki, port, timeout=10) as c:
        started = time.monotonic()
        c.sendall(payload)
        assert recv_exactly(c, len(payload)) == payload
        return time.monotonic() - started


@pytest.fixture
def peers():
    started = []
    yield started
    for peer in started:
        peer.close()


@pytest.mark.parametrize("listening", ["127.0.0.1", "::1"], ids=["ipv4_only", "ipv6_only"])
def test_localhost_reaches_the_one_family_that_listens(tmp_path, pki, peers, listening):
    # localhost -> ::1 then 127.0.0.1 (this machine's own /etc/hosts has no ::1 line, so the
    # test file names both). The family that does not listen refuses at once; the next one is
    # tried without waiting out the attempt delay.
    echo = Echo(listening)
    peers.append(echo)
    port = free_port()
    gate = NamespacedOcspgate(tmp_path, config_for(pki, port, f"localhost:{echo.port}"),
                              "127.0.0.1 localhost\n::1 localhost\n")
    assert round_trip(pki, port) < 2.0
    assert echo.connections == 1
    resolved = gate.wait_event("backend_resolved")[0]
    assert resolved["addresses"] == f"[::1]:{echo.port}, 127.0.0.1:{echo.port}"
    assert gate.wait_event("close")[0]["decision"] == "accept"
    gate.stop_cleanly()


def test_a_black_holed_address_costs_the_attempt_delay_not_the_connect_timeout(tmp_path, pki, peers):
    echo = Echo("127.0.0.3")
    peers.append(echo)
    hole = BlackHole("127.0.0.2", echo.port)
    peers.append(hole)
    assert hole.drops_syns(), "the black hole answered: the test would prove nothing"
    port = free_port()
    gate = NamespacedOcspgate(tmp_path, config_for(pki, port, f"sip-core.test:{echo.port}", connect_timeout="5s"),
                              "127.0.0.2 sip-core.test\n127.0.0.3 sip-core.test\n")
    # The black hole is tried first (file order); without the stagger this waits the whole 5 s
    # connect_timeout and then fails.
    elapsed = round_trip(pki, port)
    assert 0.2 <= elapsed < 1.5, elapsed
    assert echo.connections == 1
    assert gate.wait_event("backend_resolved")[0]["addresses"] == f"127.0.0.2:{echo.port}, 127.0.0.3:{echo.port}"
    gate.stop_cleanly()


def test_only_black_holed_addresses_end_at_the_connect_timeout_with_the_reason(tmp_path, pki, peers):
    port_b = free_port()
    hole = BlackHole("127.0.0.2", port_b)
    peers.append(hole)
    port = free_port()
    gate = NamespacedOcspgate(tmp_path, config_for(pki, port, f"sip-core.test:{port_b}", connect_timeout="1s"),
                              "127.0.0.2 sip-core.test\n")
    with tls_connect(pki, port, timeout=10) as c:
        c.sendall(b"x")
        assert c.recv(16) == b""  # closed, never hung
    close = gate.wait_event("close")[0]
    assert close["reason"] == "backend connect timeout"
    gate.stop_cleanly()


def test_a_name_that_does_not_resolve_fails_the_connection_with_the_reason(tmp_path, pki):
    port = free_port()
    gate = NamespacedOcspgate(tmp_path, config_for(pki, port, "nothing.test:5060"), "127.0.0.1 localhost\n")
    for _ in range(2):  # and the process stays up for the next one
        with tls_connect(pki, port, timeout=10) as c:
            c.sendall(b"x")
            assert c.recv(16) == b""
    closes = gate.wait_event("close", count=2)
    assert all(c["reason"].startswith('backend unreachable: cannot resolve "nothing.test": EAI_NONAME') for c in closes), closes
    failed = gate.wait_event("backend_resolve_failed", count=2)
    assert failed[0]["backend"] == "nothing.test:5060" and failed[0]["listener"] == "test"
    gate.stop_cleanly()


def test_the_name_is_resolved_again_after_the_interval(tmp_path, pki, peers):
    first = Echo("127.0.0.3")
    second = Echo("127.0.0.4", first.port)
    peers += [first, second]
    port = free_port()
    gate = NamespacedOcspgate(tmp_path, config_for(pki, port, f"sip-core.test:{first.port}",
                                                   'backend_resolve_interval = "1s"'),
                              "127.0.0.3 sip-core.test\n")
    round_trip(pki, port)
    assert (first.connections, second.connections) == (1, 0)
    # Rewritten in place: the bind mount shows the same inode's new content.
    gate.hosts_path.write_text("127.0.0.4 sip-core.test\n")
    time.sleep(1.2)
    for _ in range(5):  # the first connection after the interval still uses the old address
        round_trip(pki, port)
        if second.connections:
            break
        time.sleep(0.2)
    assert second.connections >= 1
    assert gate.wait_event("backend_resolved", count=2)[1]["addresses"] == f"127.0.0.4:{first.port}"
    gate.stop_cleanly()


def test_every_address_refusing_makes_the_next_connection_resolve_again(tmp_path, pki, peers):
    port_b = free_port()
    port = free_port()
    gate = NamespacedOcspgate(tmp_path, config_for(pki, port, f"sip-core.test:{port_b}"),
                              "127.0.0.3 sip-core.test\n")
    with tls_connect(pki, port, timeout=10) as c:  # nothing listens on 127.0.0.3 yet
        c.sendall(b"x")
        assert c.recv(16) == b""
    assert gate.wait_event("close")[0]["reason"] == f"backend unreachable: sip-core.test:{port_b} (ECONNREFUSED)"
    gate.hosts_path.write_text("127.0.0.4 sip-core.test\n")
    echo = Echo("127.0.0.4", port_b)
    peers.append(echo)
    round_trip(pki, port)  # well within the 30 s default interval: resolved because all failed
    assert echo.connections == 1
    gate.stop_cleanly()


def test_check_config_warns_about_a_name_that_does_not_resolve(tmp_path, pki):
    config = tmp_path / "check.toml"
    for backend, warned in (("nothing.test:5060", True), ("sip-core.test:5060", False)):
        config.write_text(config_for(pki, free_port(), backend))
        run = subprocess.run(namespace_argv(tmp_path, "127.0.0.3 sip-core.test\n",
                                            [ocspgate_binary(), "--check-config", "--config", config]),
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 0, run.stderr
        assert "configuration is valid" in run.stdout
        warning = 'warning: listener[0].backend: "nothing.test" does not resolve here now'
        assert (warning in run.stderr) == warned, run.stderr


@pytest.mark.parametrize("name, verified", [("localhost", True), ("sip-core.test", False)])
def test_backend_tls_checks_the_backend_name_when_no_server_name_is_set(tmp_path, pki, peers, name, verified):
    # The backend's certificate names DNS:localhost, not sip-core.test: with backend_server_name
    # unset, the name it is reached by is what its certificate must carry (and the SNI sent).
    echo = TlsEcho("127.0.0.1", pki)
    peers.append(echo)
    port = free_port()
    extra = f'backend_tls = true\nbackend_ca = "{pki}/clients-ca.pem"'
    gate = NamespacedOcspgate(tmp_path, config_for(pki, port, f"{name}:{echo.port}", extra),
                              "127.0.0.1 localhost sip-core.test\n")
    if verified:
        round_trip(pki, port)
        assert gate.wait_event("close")[0]["decision"] == "accept"
    else:
        with tls_connect(pki, port, timeout=10) as c:
            c.sendall(b"x")
            assert c.recv(16) == b""
        assert gate.wait_event("close")[0]["reason"] == "backend certificate rejected: name mismatch"
    gate.stop_cleanly()


def test_back_to_back_handshakes_on_a_fresh_start_all_reach_the_backend(tmp_path, pki, peers):
    # Twelve clients connect back to back while nothing is known of the name yet: whichever
    # of them resolve, wait for another's resolution or find the addresses, each is forwarded.
    # (With a files-only resolver the lookups rarely overlap; that one caller resolves while
    # the others wait is unit-tested in tests/proxy/core/backend_addresses_test.cpp.)
    echo = Echo("127.0.0.3")
    peers.append(echo)
    port = free_port()
    gate = NamespacedOcspgate(tmp_path, config_for(pki, port, f"sip-core.test:{echo.port}"),
                              "127.0.0.3 sip-core.test\n")
    sockets = [tls_connect(pki, port, timeout=10) for _ in range(12)]
    results = []

    def exchange(c):
        with c:
            c.sendall(b"hello\n")
            results.append(recv_exactly(c, 6))
    threads = [threading.Thread(target=exchange, args=(c,)) for c in sockets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert results == [b"hello\n"] * 12
    assert len(gate.events("backend_resolved")) == 1
    gate.stop_cleanly()
