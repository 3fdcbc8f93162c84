"""Interop suite (issue #27 point 5): real TLS client stacks through one running ocspgate.

Each case connects one client stack (OpenSSL `s_client`, GnuTLS `gnutls-cli`, NSS `tstclnt`,
Java JSSE, Python `ssl`) with a client certificate of one key type (RSA 2048/4096, ECDSA P-256/P-384,
Ed25519, RSA-PSS), at TLS 1.2 or 1.3, over IPv4 or IPv6 (::1), at chain depth 2 (leaf, issuing
CA, root) or 3 (an extra intermediate), and asserts what the client itself saw:
  good    -> forwarded: the payload written came back from the echo backend;
  revoked -> refused: the client's own output names the `certificate_revoked` alert (44),
             and the backend saw no connection.
The certificates are made for this module under the session PKI's CAs; the revoked ones are
marked `R` in the index of a real `openssl ocsp` responder.

The default run is a representative slice (every client x key type x TLS version at IPv4,
depth 2, plus P-256 at every IPv6/depth combination); `make interop` (OCSPGATE_INTEROP=full)
runs the whole matrix and, with OCSPGATE_INTEROP_REPORT=FILE, writes a table of outcomes.
curl is not here: Debian's curl uses the same OpenSSL as `s_client` (no other TLS stack), and
what it prints of a refusal is OpenSSL's error string again.
"""
from __future__ import annotations

import itertools
import os
import select
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

import harness
from harness import Backend, Ocspgate, OcspResponder, free_port, mark_revoked, revocation_config

PAYLOAD = b"interop-ping-7f3a"
JAVA = shutil.which("java")
JAVA_SOURCE = Path(__file__).parent / "java" / "RefusalClient.java"

KEYS = {  # `openssl genpkey` arguments per client key type
    "rsa2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "rsa4096": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
    "p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    "ed25519": ["-algorithm", "ED25519"],
    "rsapss": ["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"],  # an id-RSASSA-PSS key
}
CLIENTS = ["openssl", "gnutls", "nss", "java", "python"]
VERSIONS = ["1.2", "1.3"]
FAMILIES = ["ipv4", "ipv6"]
DEPTHS = [2, 3]
STATUSES = ["good", "revoked"]
FULL = os.environ.get("OCSPGATE_INTEROP") == "full"

# (client, key type) combinations that cannot work, each with the reason, verified on Debian 12
# (OpenSSL 3.0, GnuTLS 3.7, NSS 3.87, OpenJDK 17); strict xfail, so one that starts working is
# noticed. Every other combination works, Ed25519 and RSA-PSS included.
EXPECTED_FAILURES: dict[tuple[str, str], str] = {
    ("nss", "ed25519"): "NSS 3.87 has no Ed25519 keys: pk12util fails with "
                        "SEC_ERROR_PKCS12_UNABLE_TO_IMPORT_KEY, so tstclnt has no client certificate",
}


def in_default_run(client, key, version, family, depth) -> bool:
    return (family == "ipv4" and depth == 2) or key == "p256"


def cases():
    for client, key, version, family, depth, status in itertools.product(CLIENTS, KEYS, VERSIONS, FAMILIES,
                                                                         DEPTHS, STATUSES):
        if not FULL and not in_default_run(client, key, version, family, depth):
            continue
        marks = []
        reason = EXPECTED_FAILURES.get((client, key))
        if reason:
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        yield pytest.param(client, key, version, family, depth, status, marks=marks,
                           id=f"{client}-{key}-tls{version}-{family}-depth{depth}-{status}")


# ---- the PKI of this module ----------------------------------------------------------------

CLIENT_EXT = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""
CA_EXT = """basicConstraints = critical, CA:TRUE{pathlen}
keyUsage = critical, digitalSignature, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


def openssl(*argv):
    subprocess.run(["openssl", *map(str, argv)], check=True, capture_output=True, timeout=120)


def sign(pki: Path, name: str, subject: str, ca: str, ext: str, key: Path):
    """PKI/NAME.pem for `key` (copied to PKI/NAME.key), signed by PKI/CA."""
    (pki / f"{name}.ext").write_text(ext)
    if key != pki / f"{name}.key":
        shutil.copy(key, pki / f"{name}.key")
    openssl("req", "-new", "-key", key, "-out", pki / f"{name}.csr", "-subj", subject)
    openssl("x509", "-req", "-in", pki / f"{name}.csr", "-CA", pki / f"{ca}.pem", "-CAkey", pki / f"{ca}.key",
            "-CAcreateserial", "-CAserial", pki / f"{ca}.interop.srl", "-days", "30", "-sha256",
            "-extfile", pki / f"{name}.ext", "-out", pki / f"{name}.pem")


def index_row(pem: Path) -> str:
    """A valid (`V`) row of an `openssl ca` index for `pem`; mark_revoked() turns it into `R`."""
    out = subprocess.check_output(["openssl", "x509", "-in", pem, "-noout", "-serial", "-enddate", "-subject",
                                   "-nameopt", "compat"], text=True).splitlines()
    serial, enddate, subject = (line.split("=", 1)[1] for line in out)
    expiry = time.strftime("%y%m%d%H%M%SZ", time.strptime(enddate, "%b %d %H:%M:%S %Y GMT"))
    return f"V\t{expiry}\t\t{serial}\tunknown\t{subject}\n"


def leaf_name(key: str, depth: int, status: str) -> str:
    return f"interop-{key}-d{depth}-{status}"


def make_interop_pki(session_pki: Path, pki: Path):
    """A copy of the session PKI plus, per key type, a good and a revoked leaf under issuing-ca
    (depth 2) and under interop-issuing-ca < interop-intermediate-ca < root-ca (depth 3).
    index.txt (issuing-ca's) and interop-index.txt (interop-issuing-ca's) record them."""
    shutil.copytree(session_pki, pki)
    for ca in ("interop-intermediate-ca", "interop-issuing-ca"):
        openssl("genpkey", *KEYS["p256"], "-out", pki / f"{ca}.key")
    sign(pki, "interop-intermediate-ca", "/O=ocspgate test/CN=ocspgate Interop Intermediate CA", "root-ca",
         CA_EXT.format(pathlen=", pathlen:1"), pki / "interop-intermediate-ca.key")
    sign(pki, "interop-issuing-ca", "/O=ocspgate test/CN=ocspgate Interop Issuing CA", "interop-intermediate-ca",
         CA_EXT.format(pathlen=", pathlen:0"), pki / "interop-issuing-ca.key")
    issuers = {2: ("issuing-ca", ["issuing-ca"]), 3: ("interop-issuing-ca", ["interop-issuing-ca",
                                                                              "interop-intermediate-ca"])}
    indexes = {2: pki / "index.txt", 3: pki / "interop-index.txt"}
    indexes[3].write_text("")
    for key, key_args in KEYS.items():
        shared = pki / f"interop-{key}.key"  # one key per type: key generation (RSA 4096) is the slow part
        openssl("genpkey", *key_args, "-out", shared)
        for depth, (ca, chain_cas) in issuers.items():
            for status in STATUSES:
                name = leaf_name(key, depth, status)
                sign(pki, name, f"/O=ocspgate test/CN={name}", ca, CLIENT_EXT, key=shared)
                (pki / f"{name}-chain.pem").write_bytes(
                    b"".join((pki / f"{n}.pem").read_bytes() for n in [name, *chain_cas]))
                with indexes[depth].open("a") as index:
                    index.write(index_row(pki / f"{name}.pem"))
                if status == "revoked":
                    mark_revoked(indexes[depth], pki / f"{name}.pem")


# ---- the running ocspgate ------------------------------------------------------------------

def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def v6_listener(pki: Path, port: int, backend_port: int) -> str:
    return f"""
[[listener]]
name = "interop-v6"
protocol = "tcp"
listen = "[::1]:{port}"
backend = "127.0.0.1:{backend_port}"
connect_timeout = "2s"
revocation = "r"

[listener.tls]
certificate = "{pki}/server-chain.pem"
private_key = "{pki}/server.key"
client_ca = "{pki}/clients-ca.pem"
"""


class Interop:
    """One ocspgate (IPv4 and IPv6 listeners) in front of one echo backend, checking by OCSP at
    two real responders, shared by every case of the module."""

    def __init__(self, workdir: Path, pki: Path):
        self.pki, self.workdir = pki, workdir
        self.backend = Backend("echo")
        self.responder = OcspResponder(workdir, pki, name="interop-ocsp")
        self.responder3 = OcspResponder(workdir, pki, name="interop-ocsp3", index=pki / "interop-index.txt",
                                        ca="interop-issuing-ca", signer="interop-issuing-ca",
                                        probe_cert=leaf_name("p256", 3, "good"))
        self.ports = {"ipv4": free_port(), "ipv6": free_port() if ipv6_loopback() else None}
        config = revocation_config(pki, self.ports["ipv4"], self.backend.port, responders=[self.responder.url],
                                   issuers=[(pki / "interop-issuing-ca.pem", [self.responder3.url])],
                                   name="interop-v4")
        if self.ports["ipv6"]:
            config += v6_listener(pki, self.ports["ipv6"], self.backend.port)
        self.gate = Ocspgate(workdir, config, name="interop-gate")
        # Shared by the module: not the per-test cleanup's to kill (teardown() stops them).
        for p in (self.responder, self.responder3, self.gate):
            harness.STARTED.remove(p)
        self.java_classes = None

    def teardown(self):
        try:
            self.gate.stop_cleanly()
        finally:
            self.responder3.stop()
            self.responder.stop()
            self.backend.close()


@pytest.fixture(scope="module")
def interop(tmp_path_factory, pki):
    workdir = tmp_path_factory.mktemp("interop")
    make_interop_pki(pki, workdir / "pki")
    setup = Interop(workdir, workdir / "pki")
    yield setup
    setup.teardown()
    write_report(RESULTS)


# ---- the clients ---------------------------------------------------------------------------
# Each returns the client's own output (stdout and stderr); the cases read the outcome from it.

def interactive(argv, timeout: float = 15) -> str:
    """Runs a client that sends its stdin and prints what it receives: writes PAYLOAD and a
    newline, then reads its output until the payload comes back or the client exits, and only
    then closes its stdin (so a TLS 1.3 refusal, read after the handshake, is not missed)."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    try:
        proc.stdin.write(PAYLOAD + b"\n")
        proc.stdin.flush()
    except BrokenPipeError:
        pass
    deadline = time.monotonic() + timeout
    while PAYLOAD not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        out += chunk
    try:
        proc.stdin.close()
    except BrokenPipeError:
        pass
    proc.stdin = None
    try:
        # s_client and gnutls-cli end at end of input; tstclnt waits for the server to close.
        rest, _ = proc.communicate(timeout=1 if PAYLOAD in out else 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        rest, _ = proc.communicate()
    return (out + rest).decode(errors="replace")


def host(family: str) -> str:
    return "127.0.0.1" if family == "ipv4" else "::1"


def run_openssl(interop, cert, version, family) -> str:
    pki = interop.pki
    connect = f"127.0.0.1:{interop.ports[family]}" if family == "ipv4" else f"[::1]:{interop.ports[family]}"
    return interactive(["openssl", "s_client", "-connect", connect, "-CAfile", pki / "clients-ca.pem",
                        "-verify_return_error", "-quiet", "-no_ign_eof", f"-tls1_{version[-1]}", "-cert", pki / f"{cert}.pem",
                        "-key", pki / f"{cert}.key", "-cert_chain", pki / f"{cert}-chain.pem"])


def run_gnutls(interop, cert, version, family) -> str:
    pki = interop.pki
    return interactive(["gnutls-cli", "--x509cafile", pki / "clients-ca.pem", "--x509certfile",
                        pki / f"{cert}-chain.pem", "--x509keyfile", pki / f"{cert}.key",
                        "--priority", f"NORMAL:-VERS-ALL:+VERS-TLS{version}", "-p", str(interop.ports[family]),
                        host(family)])


def run_python(interop, cert, version, family) -> str:
    """Python's ssl module (OpenSSL underneath, but its own API): prints what it saw as the
    others do, "echo <data>" or "alert <ssl reason>"."""
    ctx = harness.client_context(interop.pki, cert, min_version=getattr(ssl.TLSVersion, f"TLSv1_{version[-1]}"),
                                 max_version=getattr(ssl.TLSVersion, f"TLSv1_{version[-1]}"))
    try:
        with socket.create_connection((host(family), interop.ports[family]), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=host(family)) as c:
                c.sendall(PAYLOAD)
                return "echo " + harness.recv_exactly(c, len(PAYLOAD)).decode(errors="replace")
    except ssl.SSLError as e:
        return f"alert {e.reason} ({e})"
    except OSError as e:
        return f"other {e!r}"


def pkcs12(interop, cert) -> Path:
    """CERT.p12 (leaf, its CAs, key; friendly name CERT), password "changeit", made once."""
    p12 = interop.workdir / f"{cert}.p12"
    if not p12.exists():
        openssl("pkcs12", "-export", "-in", interop.pki / f"{cert}-chain.pem", "-inkey", interop.pki / f"{cert}.key",
                "-name", cert, "-out", p12, "-passout", "pass:changeit")
    return p12


# NSS's default signature schemes leave out rsa_pss_pss_* (keys whose SPKI is id-RSASSA-PSS):
# without them tstclnt finds no "suitable client certificate" for the RSA-PSS key. A client that
# uses such keys must enable them, as here.
NSS_SIGNATURE_SCHEMES = ",".join(["ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384", "rsa_pss_rsae_sha256",
                                  "rsa_pss_rsae_sha384", "rsa_pss_pss_sha256", "rsa_pss_pss_sha384",
                                  "rsa_pkcs1_sha256", "rsa_pkcs1_sha384"])


def run_nss(interop, cert, version, family) -> str:
    """NSS's `tstclnt` (libnss3-tools), from a certificate database per client certificate,
    holding its key and chain (nickname CERT) and trusting the root."""
    db = interop.workdir / f"nss-{cert}"
    if not db.exists():
        db.mkdir()
        for argv in (["certutil", "-N", "-d", f"sql:{db}", "--empty-password"],
                     ["pk12util", "-i", pkcs12(interop, cert), "-d", f"sql:{db}", "-W", "changeit", "-K", ""],
                     ["certutil", "-A", "-d", f"sql:{db}", "-n", "root", "-t", "C,,", "-i", interop.pki / "root-ca.pem"]):
            subprocess.run([str(a) for a in argv], check=True, capture_output=True, timeout=60)
    return interactive(["tstclnt", "-h", host(family), "-p", str(interop.ports[family]), "-d", f"sql:{db}",
                        "-n", cert, "-V", f"tls{version}:tls{version}", "-J", NSS_SIGNATURE_SCHEMES, "-f"])


def run_java(interop, cert, version, family) -> str:
    if interop.java_classes is None:  # compiled once: `java File.java` would compile per case
        interop.java_classes = interop.workdir / "java"
        subprocess.run([JAVA, "-m", "jdk.compiler/com.sun.tools.javac.Main", "-d", interop.java_classes,
                        JAVA_SOURCE], check=True, capture_output=True, timeout=120)
    p12 = pkcs12(interop, cert)
    run = subprocess.run([JAVA, "-cp", interop.java_classes, "RefusalClient", host(family),
                          str(interop.ports[family]), p12, "changeit", interop.pki / "clients-ca.pem",
                          f"TLSv{version}", "1", "echo"], capture_output=True, text=True, timeout=60)
    return run.stdout + run.stderr


RUNNERS = {"openssl": run_openssl, "gnutls": run_gnutls, "nss": run_nss, "java": run_java, "python": run_python}

# What each client prints when it reads `certificate_revoked` (alert 44), as seen on Debian 12.
REVOKED_ALERT = {
    "openssl": ["sslv3 alert certificate revoked", "SSL alert number 44"],
    "gnutls": ["Received alert [44]: Certificate was revoked"],
    "nss": ["SSL_ERROR_REVOKED_CERT_ALERT"],
    "java": ["alert certificate_revoked"],
    "python": ["alert SSLV3_ALERT_CERTIFICATE_REVOKED"],
}


def forwarded(client: str, out: str) -> bool:
    if client == "java":
        return "echo ping" in out  # RefusalClient writes "ping" and prints what came back
    if client == "python":
        return f"echo {PAYLOAD.decode()}" in out
    return PAYLOAD.decode() in out  # s_client -quiet, gnutls-cli and tstclnt print what they receive


def read_revoked_alert(client: str, out: str) -> str | None:
    """The line of the client's output that names the alert, or None."""
    for line in out.splitlines():
        if any(s in line for s in REVOKED_ALERT[client]):
            return line.strip()
    return None


def client_available(client: str) -> str | None:
    """Why `client` cannot run here, or None."""
    if client == "gnutls" and not shutil.which("gnutls-cli"):
        return "gnutls-cli not installed (Debian gnutls-bin)"
    if client == "nss" and not (shutil.which("tstclnt") and shutil.which("pk12util")):
        return "tstclnt not installed (Debian libnss3-tools)"
    if client == "java":
        if JAVA is None:
            return "no java (Debian default-jre-headless)"
        modules = subprocess.run([JAVA, "--list-modules"], capture_output=True, text=True, timeout=60).stdout
        if "jdk.compiler@" not in modules:
            return "java without the jdk.compiler module"
    return None


RESULTS: dict[str, str] = {}


def write_report(results: dict[str, str]):
    path = os.environ.get("OCSPGATE_INTEROP_REPORT")
    if not path or not results:
        return
    width = max(map(len, results))
    lines = [f"{case:<{width}}  {outcome}" for case, outcome in sorted(results.items())]
    Path(path).write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("client,key,version,family,depth,status", list(cases()))
def test_interop(interop, client, key, version, family, depth, status):
    why = client_available(client)
    if why:
        pytest.skip(why)
    if interop.ports[family] is None:
        pytest.skip("no IPv6 loopback here")
    case = f"{client}-{key}-tls{version}-{family}-depth{depth}-{status}"
    cert = leaf_name(key, depth, status)
    gate, backend = interop.gate, interop.backend
    connections = backend.connections
    # ocspgate's own record of the refusal: this certificate, found revoked (not unknown, which
    # the profile also refuses), from the responder or the status cache.
    refused = dict(decision="reject", subject=f"CN={cert},O=ocspgate test", revocation="revoked")
    before = len(gate.events("close", **refused))
    expected = EXPECTED_FAILURES.get((client, key))

    def record(outcome: str):
        RESULTS[case] = f"{outcome} (expected: {expected})" if expected else outcome

    record("FAILED before the client's output was read")
    out = RUNNERS[client](interop, cert, version, family)
    if status == "good":
        record("forwarded" if forwarded(client, out) else "NOT forwarded")
        assert forwarded(client, out), f"{case}: the payload did not come back:\n{out[-3000:]}"
    else:
        seen = read_revoked_alert(client, out)
        record(f"refused, the client read: {seen}" if seen else "NO certificate_revoked read")
        assert seen, f"{case}: no certificate_revoked in the client's output:\n{out[-3000:]}"
        gate.wait_event("close", count=before + 1, **refused)
        time.sleep(0.1)  # a wrongly forwarded connection would have reached the backend's accept by now
        assert backend.connections == connections, f"{case}: the backend was reached"
