"""Real processes on loopback for ocspgate's integration tests.

Everything here starts real programs (the ocspgate binary, `openssl ocsp`, backends) on
127.0.0.1, remembers them, and stops them at teardown. ocspgate runs with JSON logs so
tests can wait for and inspect its structured events.
"""
from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PKI_SCRIPT = REPO / "tests" / "pki" / "make-pki.sh"


def ocspgate_binary() -> str:
    path = os.environ.get("OCSPGATE_BIN", str(REPO / "build" / "proxy" / "ocspgate"))
    assert os.access(path, os.X_OK), f"ocspgate binary not found at {path} (set OCSPGATE_BIN)"
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def make_pki(directory: Path, ocsp_port: int = 8888, crl_port: int = 8889) -> Path:
    env = dict(os.environ,
               OCSP_AIA_URL=f"http://127.0.0.1:{ocsp_port}",
               CRL_DP_URL=f"http://127.0.0.1:{crl_port}/issuing-ca.crl")
    subprocess.run(["bash", str(PKI_SCRIPT), str(directory)], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return directory


class Process:
    """A child process whose stdout+stderr go to a file that tests can read while it runs."""

    def __init__(self, argv, log_path: Path, env=None, cwd=None):
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig=15, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


class Ocspgate(Process):
    """The real binary on a config written into `workdir`; logs are JSON lines."""

    def __init__(self, workdir: Path, config: str, name: str = "ocspgate", wait_ready: bool = True):
        self.config_path = workdir / f"{name}.toml"
        self.config_path.write_text(config)
        super().__init__([ocspgate_binary(), "--config", self.config_path], workdir / f"{name}.log")
        if wait_ready:
            wait_until(lambda: self.events("listening") or not self.alive(), 10, "ocspgate to listen")
            assert self.alive(), f"ocspgate exited at start:\n{self.output()}"

    def events(self, event: str | None = None, **fields) -> list[dict]:
        found = []
        for line in self.output().splitlines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event is not None and record.get("event") != event:
                continue
            if all(record.get(k) == v for k, v in fields.items()):
                found.append(record)
        return found

    def wait_event(self, event: str, timeout: float = 10, count: int = 1, **fields) -> list[dict]:
        return wait_until(lambda: (lambda e: e if len(e) >= count else None)(self.events(event, **fields)),
                          timeout, f"{count} '{event}' event(s) with {fields}")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop_cleanly(self, timeout: float = 15.0):
        """SIGTERM, then demand exit code 0 and no sanitizer report."""
        code = self.stop(15, timeout)
        out = self.output()
        assert "AddressSanitizer" not in out and "runtime error:" not in out and "LeakSanitizer" not in out, out[-4000:]
        assert code == 0, f"ocspgate exited with {code}:\n{out[-4000:]}"


def listener_config(pki: Path, listen_port: int, backend_port: int, *, name="test", extra_server="",
                    extra_listener="", extra_tls="", tail="", handshake_timeout="5s") -> str:
    return f"""
[server]
log_format = "json"
log_level = "debug"
handshake_timeout = "{handshake_timeout}"
drain_timeout = "2s"
{extra_server}

[[listener]]
name = "{name}"
protocol = "tcp"
listen = "127.0.0.1:{listen_port}"
backend = "127.0.0.1:{backend_port}"
connect_timeout = "2s"
{extra_listener}

[listener.tls]
certificate = "{pki}/server-chain.pem"
private_key = "{pki}/server.key"
client_ca = "{pki}/clients-ca.pem"
{extra_tls}
{tail}
"""


class Backend:
    """A real TCP backend on loopback, run in a thread: echo (default) or a sink that never reads."""

    def __init__(self, mode: str = "echo", port: int | None = None):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.received = bytearray()
        self.peers: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            self.peers.append(conn)
            if self.mode == "echo":
                threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket):
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                self.received += data
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        for p in self.peers:
            p.close()


def client_context(pki: Path, cert: str | None = "client-good", min_version=ssl.TLSVersion.TLSv1_2,
                   max_version=ssl.TLSVersion.MAXIMUM_SUPPORTED) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki / "clients-ca.pem")
    ctx.minimum_version = min_version
    ctx.maximum_version = max_version
    if cert:
        chain = pki / f"{cert}-chain.pem"
        ctx.load_cert_chain(chain if chain.exists() else pki / f"{cert}.pem", pki / f"{cert}.key")
    return ctx


def tls_connect(pki: Path, port: int, cert: str | None = "client-good", timeout: float = 5, **kw) -> ssl.SSLSocket:
    ctx = client_context(pki, cert, **kw)
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def recv_exactly(sock, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def s_client(pki: Path, port: int, cert: str | None, stdin: bytes = b"", extra=(), timeout: float = 10,
             hold: float = 1.0):
    """Runs `openssl s_client`, sends `stdin` and keeps its input open for `hold` seconds so
    answers can arrive before it quits; returns (exit code, combined output)."""
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(pki / "clients-ca.pem"),
            "-verify_return_error", *extra]
    if cert:
        argv += ["-cert", str(pki / f"{cert}.pem"), "-key", str(pki / f"{cert}.key"),
                 "-cert_chain", str(pki / "issuing-ca.pem")]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        proc.stdin.write(stdin)
        proc.stdin.flush()
        time.sleep(hold)
    except BrokenPipeError:
        pass  # s_client already gave up (refused handshake)
    try:
        proc.stdin.close()
    except BrokenPipeError:
        pass
    proc.stdin = None  # closed by hand: communicate() must not touch it
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(errors="replace")


class MemoryTlsClient:
    """A TLS client over ssl.MemoryBIO, so the test controls the TCP socket itself: it can
    half-close (send close_notify and/or FIN) and still read and decrypt what comes back."""

    def __init__(self, pki: Path, port: int, cert: str | None = "client-good", timeout: float = 5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = client_context(pki, cert).wrap_bio(self.incoming, self.outgoing, server_hostname="127.0.0.1")
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                if not self._fill():
                    raise ConnectionResetError("closed during handshake")
        self._flush()

    def _flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            self.incoming.write_eof()
            return False
        self.incoming.write(data)
        return True

    def send(self, data: bytes):
        self.tls.write(data)
        self._flush()

    def close_write(self, close_notify: bool = True):
        if close_notify:
            try:
                self.tls.unwrap()
            except ssl.SSLWantReadError:
                pass  # our close_notify is out; the peer's comes later
            self._flush()
        self.sock.shutdown(socket.SHUT_WR)

    def read_to_end(self) -> tuple[bytes, bool]:
        """Reads until the peer ends; returns (data, peer sent close_notify)."""
        data = bytearray()
        while True:
            try:
                chunk = self.tls.read(65536)
                if not chunk:  # close_notify seen (SSLObject reports it as b"" once it has)
                    return bytes(data), True
                data += chunk
            except ssl.SSLWantReadError:
                if not self._fill():
                    return bytes(data), False
            except ssl.SSLZeroReturnError:
                return bytes(data), True

    def close(self):
        self.sock.close()
