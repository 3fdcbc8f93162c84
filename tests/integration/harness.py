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


_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, and one this test process has not handed out before: the
    kernel may give a just-closed ephemeral port again, and two of them in one config (a
    listener and the admin endpoint) then collide."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


_held_refused: list[socket.socket] = []


def refused_port() -> int:
    """A port where connections are refused for as long as this test process runs: bound and
    never listened on, so that no other process, a test file running in parallel included, can
    listen there (a free_port() that nothing listens on now may be taken by one a moment later)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _held_refused.append(s)
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


# Every Process started by a test; conftest's autouse fixture kills what a failed test left.
STARTED: list["Process"] = []


class Process:
    """A child process whose stdout+stderr go to a file that tests can read while it runs."""

    def __init__(self, argv, log_path: Path, env=None, cwd=None):
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        STARTED.append(self)

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

    def sanitized(self) -> bool:
        """True for an AddressSanitizer build, whose quarantine of freed memory makes RSS
        figures meaningless."""
        return "libasan" in Path(f"/proc/{self.pid}/maps").read_text()

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop_cleanly(self, timeout: float = 15.0):
        """SIGTERM, then demand exit code 0 and no sanitizer report."""
        self._demand_clean_exit(self.stop(15, timeout))

    def exit_cleanly(self, timeout: float = 15.0):
        """Wait for an exit already under way (after a drain) without signalling again: a second
        SIGTERM means "stop now", and one that lands while the process is already closing its
        signal handlers meets the default action. Demand exit code 0 and no sanitizer report."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self._demand_clean_exit(self.stop(9, 5))

    def _demand_clean_exit(self, code: int):
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


def client_hello() -> bytes:
    """A real ClientHello (Python's ssl, no certificate), as a client's first bytes on the wire."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    obj = ctx.wrap_bio(incoming, outgoing)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        return outgoing.read()
    raise AssertionError("the handshake did not wait for the server")


def recv_exactly(sock, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def s_client(pki: Path, port: int, cert: str | None, stdin: bytes = b"", extra=(), timeout: float = 10,
             hold: float = 1.0, lines: tuple[bytes, ...] = ()):
    """Runs `openssl s_client`, sends `stdin` and keeps its input open for `hold` seconds so
    answers can arrive before it quits; returns (exit code, combined output). `lines` go after
    `stdin` one at a time, 0.2 s apart (the first 0.5 s in): s_client takes a command ("k", "K", "Q") only at the
    start of what one read returns."""
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(pki / "clients-ca.pem"),
            "-verify_return_error", *extra]
    if cert:
        argv += ["-cert", str(pki / f"{cert}.pem"), "-key", str(pki / f"{cert}.key"),
                 "-cert_chain", str(pki / "issuing-ca.pem")]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        proc.stdin.write(stdin)
        proc.stdin.flush()
        for i, line in enumerate(lines):
            time.sleep(0.5 if i == 0 else 0.2)  # the first after the handshake
            proc.stdin.write(line)
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


# ---- revocation peers --------------------------------------------------------------------

def ocsp_query(pki: Path, url: str, cert: str = "client-good", issuer: str = "issuing-ca", nonce: bool = True,
               respout: Path | None = None, timeout: float = 5) -> subprocess.CompletedProcess:
    """One `openssl ocsp` client query (signature not verified); `respout` keeps the DER response."""
    argv = ["openssl", "ocsp", "-issuer", pki / f"{issuer}.pem", "-cert", pki / f"{cert}.pem", "-url", url,
            "-noverify", "-timeout", str(max(1, int(timeout)))]
    if not nonce:
        argv.append("-no_nonce")
    if respout is not None:
        argv += ["-respout", respout]
    return subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=timeout + 5, text=True)


def fetch_ocsp_response(pki: Path, url: str, path: Path, cert: str = "client-good", nonce: bool = True) -> bytes:
    """A DER response captured (into `path`) from a real responder, for replaying through
    FakeHttpResponder."""
    r = ocsp_query(pki, url, cert, nonce=nonce, respout=path)
    assert r.returncode == 0, r.stdout
    return path.read_bytes()


def mark_revoked(index: Path, cert_pem: Path):
    """Marks the certificate `R` in an `openssl ca` index file, by replacing the file (so a
    running `openssl ocsp` sees a new inode and mtime and reloads it)."""
    serial = subprocess.check_output(["openssl", "x509", "-in", str(cert_pem), "-noout", "-serial"],
                                     text=True).strip().split("=", 1)[1].upper()
    rows, found = [], False
    for line in index.read_text().splitlines():
        cols = line.split("\t")
        if cols[3].upper() == serial:
            cols[0], cols[2], found = "R", time.strftime("%y%m%d%H%M%SZ", time.gmtime()) + ",keyCompromise", True
        rows.append("\t".join(cols))
    assert found, f"serial {serial} not in {index}"
    tmp = index.with_name(index.name + ".new")
    tmp.write_text("\n".join(rows) + "\n")
    os.replace(tmp, index)


def issue_certificate(pki: Path, outdir: Path, name: str, cn: str, *, server: bool = False,
                      valid_seconds: int | None = None) -> Path:
    """A new leaf signed by `issuing-ca`, written as OUTDIR/NAME.pem, .key and -chain.pem.
    `server`: serverAuth with IP:127.0.0.1 (else clientAuth). `valid_seconds`: notAfter that
    many seconds from now (openssl runs under libfaketime, shifted back, to get it)."""
    key, csr, ext = outdir / f"{name}.key", outdir / f"{name}.csr", outdir / f"{name}.ext"
    pem, chain = outdir / f"{name}.pem", outdir / f"{name}-chain.pem"
    ext.write_text("basicConstraints = CA:FALSE\nkeyUsage = digitalSignature\n" +
                   ("extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1, DNS:localhost\n" if server
                    else "extendedKeyUsage = clientAuth\n"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", csr, "-subj", f"/O=ocspgate test/CN={cn}"],
                   check=True, capture_output=True)
    env = faketime_env(f"-{86400 - valid_seconds}") if valid_seconds is not None else None
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", pki / "issuing-ca.pem", "-CAkey",
                    pki / "issuing-ca.key", "-CAcreateserial", "-CAserial", outdir / "serial.srl",
                    "-days", "1" if valid_seconds is not None else "30", "-sha256", "-extfile", ext, "-out", pem],
                   check=True, capture_output=True, env=env)
    chain.write_bytes(pem.read_bytes() + (pki / "issuing-ca.pem").read_bytes())
    return pem


def faketime_env(offset: str) -> dict:
    """Environment that runs a program under libfaketime at `offset` (e.g. "-10d"), as
    `faketime -f OFFSET` would. Preloading the library directly keeps one process: the
    `faketime` wrapper forks, so stopping the wrapper would orphan the real program."""
    import glob
    libs = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    assert libs, "libfaketime not found (Debian package faketime)"
    preload = ":".join(filter(None, [libs[0], os.environ.get("LD_PRELOAD")]))
    return dict(os.environ, LD_PRELOAD=preload, FAKETIME=offset)


class OcspResponder(Process):
    """`openssl ocsp` answering for one CA on 127.0.0.1, optionally under libfaketime.

    It is ready once a real OCSP query succeeds (never probe it with a bare TCP connect).
    `requests` counts the requests after that probe, from the "OCSP Request Data" blocks that
    `-text` prints (stdout is line-buffered through stdbuf so the count is live). The probe
    sends no nonce, so "OCSP Nonce" in output() means someone else's request carried one.
    """

    def __init__(self, workdir: Path, pki: Path, *, index: Path | str = "index.txt", ca: str = "issuing-ca",
                 signer: str = "ocsp-signer", nmin: int | None = 5, extra=(), faketime: str | None = None,
                 name: str = "ocsp", probe_cert: str | None = None, port: int | None = None):
        self.pki = pki
        self.ca = ca
        self.probe_cert = probe_cert or ("issuing-ca" if ca == "root-ca" else "client-good")
        index = Path(index) if Path(index).is_absolute() else pki / index
        for attempt in range(1 if port else 3):
            self.port = port or free_port()
            argv = ["openssl", "ocsp", "-index", index, "-port", self.port, "-CA", pki / f"{ca}.pem",
                    "-rsigner", pki / f"{signer}.pem", "-rkey", pki / f"{signer}.key"]
            argv += ["-nmin", nmin] if nmin is not None else []
            argv += [*extra, "-ignore_err", "-text"]
            argv = ["stdbuf", "-oL", "-eL", *argv]
            super().__init__(argv, workdir / f"{name}-{attempt}.log", env=faketime_env(faketime) if faketime else None)
            if self._wait_ready():
                break
            self.stop()
        else:
            raise AssertionError(f"openssl ocsp did not start:\n{self.output()}")
        self._baseline = self.total_requests()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait_ready(self, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            if self.query(self.probe_cert, nonce=False).returncode == 0:
                return True
            time.sleep(0.05)
        return False

    def query(self, cert: str = "client-good", nonce: bool = True) -> subprocess.CompletedProcess:
        return ocsp_query(self.pki, self.url, cert, issuer=self.ca, nonce=nonce)

    def total_requests(self) -> int:
        return self.output().count("OCSP Request Data")

    @property
    def requests(self) -> int:
        """Requests since the responder became ready (readiness probes excluded)."""
        return self.total_requests() - self._baseline


class FakeHttpResponder:
    """A misbehaving OCSP/CRL server on 127.0.0.1, in a thread. Modes:

    - "hang":   reads the request, never answers (until close()).
    - "status": answers HTTP `status` with an empty body.
    - "body":   answers 200 with `body` (garbage, a fixed DER error, a replayed response, a CRL...).
    - "proxy":  waits `delay` seconds, then forwards the request to `upstream` and relays the answer.
    - "get-400": answers every GET with HTTP 400 and proxies POSTs, like a responder whose GET
                 support is broken (one version fails to strip the leading "/" of the path).

    `mode` may be changed while it runs. `requests` counts requests received, `methods` lists
    their methods in order; `in_flight` counts those not answered yet.
    """

    def __init__(self, mode: str, *, status: int = 500, body: bytes = b"", delay: float = 0.0,
                 upstream: str | None = None, content_type: str = "application/ocsp-response", port: int = 0):
        import http.server

        self.mode, self.status, self.body, self.delay, self.upstream = mode, status, body, delay, upstream
        self.content_type = content_type
        self.requests = 0
        self.methods = []
        self.in_flight = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, b"", "GET")

            def do_POST(self):
                fake._handle(self, self.rfile.read(int(self.headers.get("Content-Length", 0))), "POST")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handle(self, handler, request_body: bytes, method: str):
        import urllib.request

        with self._lock:
            self.requests += 1
            self.methods.append(method)
            self.in_flight += 1
        try:
            mode = self.mode
            if mode == "get-400":
                mode = "refuse-get" if method == "GET" else "proxy"
            if mode == "hang":
                self._closing.wait()
                return
            if mode == "refuse-get":
                status, body = 400, b""
            elif mode == "status":
                status, body = self.status, b""
            elif mode == "body":
                status, body = 200, self.body
            elif mode == "proxy":
                if self._closing.wait(self.delay):
                    return
                req = urllib.request.Request(self.upstream + handler.path, data=request_body or None,
                                             headers={"Content-Type": "application/ocsp-request"})
                with urllib.request.urlopen(req, timeout=5) as answer:
                    status, body = answer.status, answer.read()
            else:
                raise AssertionError(f"unknown mode {mode}")
            handler.send_response(status)
            handler.send_header("Content-Type", self.content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self):
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(2)


def toml_list(values) -> str:
    return json.dumps([str(v) for v in values])


def revocation_config(pki: Path, listen_port: int, backend_port: int, *, responders=(), methods=("ocsp",),
                      unknown="revoked", check="leaf", use_aia=False, prefer="configured", nonce="prefer",
                      timeout="1s", crl_files=(), crl_urls=(), issuers=(), extra_profile="", extra_ocsp="",
                      extra_crl="", profile="r", **listener_kw) -> str:
    """A listener whose client certificates are checked by the [revocation.`profile`] built here.

    `use_aia` defaults to false (unlike the product) because the session PKI's AIA points at
    port 8888, which is nobody's responder here. `issuers` is [(issuer PEM path, [URL, ...]), ...].
    `nonce`: a mode ("off", "prefer", "require"), a boolean (True is "prefer", False "off"), or
    None to leave the key out (the product's default).
    """
    nonce_mode = {True: "prefer", False: "off"}.get(nonce, nonce)
    nonce_line = f'nonce = "{nonce_mode}"' if nonce_mode is not None else ""
    issuer_tables = "".join(
        f"\n[[revocation.{profile}.ocsp.issuer]]\ncertificate = \"{cert}\"\nresponders = {toml_list(urls)}\n"
        for cert, urls in issuers)
    tail = f"""
[revocation.{profile}]
methods = {toml_list(methods)}
check = "{check}"
unknown = "{unknown}"
{extra_profile}

[revocation.{profile}.ocsp]
responders = {toml_list(responders)}
use_aia = {str(use_aia).lower()}
prefer = "{prefer}"
{nonce_line}
timeout = "{timeout}"
{extra_ocsp}
{issuer_tables}
[revocation.{profile}.crl]
files = {toml_list(crl_files)}
urls = {toml_list(crl_urls)}
timeout = "{timeout}"
{extra_crl}
"""
    extra_listener = listener_kw.pop("extra_listener", "")
    return listener_config(pki, listen_port, backend_port, extra_listener=f'revocation = "{profile}"\n{extra_listener}',
                           tail=tail, **listener_kw)


def round_trip(pki: Path, port: int, cert: str, payload: bytes = b"ping", **kw) -> bytes:
    """Connects with `cert`, sends `payload`, returns what came back."""
    with tls_connect(pki, port, cert=cert, **kw) as c:
        c.sendall(payload)
        return recv_exactly(c, len(payload))


def refusal(pki: Path, port: int, cert: str, **kw) -> ssl.SSLError:
    """Connects with `cert` and expects a TLS alert, during the handshake (TLS 1.2) or on the
    first read (TLS 1.3); returns the SSLError (its `.reason` names the alert)."""
    try:
        with tls_connect(pki, port, cert=cert, **kw) as c:
            data = c.recv(1)
    except ssl.SSLError as e:
        return e
    raise AssertionError(f"connection with {cert} was not refused by an alert (read {data!r})")


def expect_accept(gate, cert: str, payload: bytes = b"ping", **kw) -> dict:
    """`cert` gets through `gate` (an Ocspgate with .pki, .port): the payload echoes back.
    Returns the connection's `close` event, which says accept."""
    with tls_connect(gate.pki, gate.port, cert=cert, **kw) as c:
        peer = f"127.0.0.1:{c.getsockname()[1]}"
        c.sendall(payload)
        assert recv_exactly(c, len(payload)) == payload
    close = gate.wait_event("close", peer=peer)[0]
    assert close["decision"] == "accept", close
    return close


def expect_reject(gate, cert: str, alert: str, timeout: float = 5, **kw) -> dict:
    """`cert` is refused with the TLS alert `alert` (an ssl reason such as
    "SSLV3_ALERT_CERTIFICATE_REVOKED") and `gate.backend` sees no connection and no byte.
    Returns the connection's `close` event, which says reject."""
    backend = gate.backend
    connections, received = backend.connections, len(backend.received)
    ctx = client_context(gate.pki, cert, **kw)
    raw = socket.create_connection(("127.0.0.1", gate.port), timeout=timeout)
    peer = f"127.0.0.1:{raw.getsockname()[1]}"
    try:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as c:
            data = c.recv(1)  # TLS 1.3: the alert comes after the client's handshake is done
        raise AssertionError(f"{cert} was not refused with an alert (read {data!r})")
    except ssl.SSLError as e:
        assert e.reason == alert, f"{cert}: expected alert {alert}, got {e!r}"
    finally:
        raw.close()
    close = gate.wait_event("close", peer=peer)[0]
    assert close["decision"] == "reject", close
    time.sleep(0.15)  # a wrongly forwarded connection would have reached the backend's accept by now
    assert backend.connections == connections and len(backend.received) == received, "the backend was reached"
    return close
