"""Interop with an OCSP responder that is not OpenSSL (#19 point 4): Bouncy Castle's OCSP
builder (Debian's libbcpkix-java: its own ASN.1 encoder and ECDSA, in Java), run as a real
process (java/BcOcspResponder.java). Default configuration, POST and GET, good / revoked /
unknown, and each nonce mode against a responder that echoes the nonce, one that ignores it and
one that answers with another.

Why this one: on Debian 12 `apt-cache search ocsp` finds only libbcpkix-java; Dogtag's OCSP
subsystem is not packaged, GnuTLS's `ocsptool` is a client, python3-cryptography builds
responses but signs through OpenSSL; strongSwan's `pki` (5.9.8) was not evaluated."""
import shutil
import time
from pathlib import Path

import pytest

from harness import Process, expect_accept, expect_reject, free_port, ocsp_query

JAVA = shutil.which("java")
JARS = [Path("/usr/share/java") / f"{name}.jar" for name in ("bcprov", "bcpkix", "bcutil")]
RESPONDER = Path(__file__).parent / "java" / "BcOcspResponder.java"
REVOKED, UNKNOWN = "SSLV3_ALERT_CERTIFICATE_REVOKED", "SSLV3_ALERT_CERTIFICATE_UNKNOWN"
GET = 'request = "get"'

pytestmark = pytest.mark.skipif(not JAVA or not all(j.exists() for j in JARS),
                                reason="needs java and libbcpkix-java (scripts/install-deps)")


class BcResponder(Process):
    """BcOcspResponder on 127.0.0.1 for issuing-ca, signing as ocsp-signer; ready once it
    prints "ready" (the JDK compiles the source first: a few seconds)."""

    def __init__(self, workdir: Path, pki: Path, nonce: str, name: str):
        self.port = free_port()
        argv = [JAVA, "-cp", ":".join(map(str, JARS)), RESPONDER, self.port, pki / "issuing-ca.pem",
                pki / "ocsp-signer.pem", pki / "ocsp-signer.key", pki / "index.txt", nonce]
        super().__init__(argv, workdir / f"{name}.log")
        deadline = time.monotonic() + 60
        while "ready" not in self.output():
            assert self.alive() and time.monotonic() < deadline, f"BcOcspResponder did not start:\n{self.output()}"
            time.sleep(0.1)
        # A cold JVM's first answer (class loading, the first signature) can take longer than
        # a lookup's timeout: one query by `openssl ocsp` warms it up, and is not counted.
        assert ocsp_query(pki, self.url, nonce=False, timeout=30).returncode == 0, self.output()
        self._baseline = {m: self.output().count(f"request {m}") for m in ("GET", "POST")}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self, method: str) -> int:
        """Requests by `method` since the warm-up."""
        return self.output().count(f"request {method}") - self._baseline[method]


@pytest.fixture
def bc(peers):
    def start(nonce="echo"):
        r = BcResponder(peers.workdir, peers.pki, nonce, f"bc{len(peers._started)}")
        peers._started.append(r.stop)
        return r
    return start


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_good_revoked_and_unknown_under_the_default_configuration(peers, bc, method):
    ocsp = bc()
    gate = peers.proxy(responders=[ocsp.url], nonce=None, timeout="3s", extra_ocsp=GET if method == "GET" else "")
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_source"]) == ("good", ocsp.url), close
    assert "nonce" not in close.get("revocation_detail", ""), close  # echoed: nothing to say
    close = expect_reject(gate, "client-revoked", REVOKED)
    assert close["revocation"] == "revoked"
    close = expect_reject(gate, "client-unknown", UNKNOWN)
    assert close["revocation"] == "unknown"
    assert ocsp.requests(method) == 3 and ocsp.requests("POST" if method == "GET" else "GET") == 0
    gate.stop_cleanly()


@pytest.mark.parametrize("mode", ["off", "prefer", "require"])
def test_every_nonce_mode_accepts_a_responder_that_echoes_the_nonce(peers, bc, mode):
    ocsp = bc("echo")
    gate = peers.proxy(responders=[ocsp.url], nonce=mode, timeout="3s")
    close = expect_accept(gate, "client-good")
    assert close["revocation"] == "good"
    gate.stop_cleanly()


@pytest.mark.parametrize("mode", ["off", "prefer"])
def test_a_responder_that_ignores_the_nonce_is_accepted_unless_required(peers, bc, mode):
    ocsp = bc("ignore")
    gate = peers.proxy(responders=[ocsp.url], nonce=mode, timeout="3s")
    close = expect_accept(gate, "client-good")
    assert close["revocation"] == "good"
    if mode == "prefer":
        assert close["revocation_detail"].startswith("response without nonce accepted as current"), close
    gate.stop_cleanly()


def test_require_refuses_a_responder_that_ignores_the_nonce(peers, bc):
    ocsp = bc("ignore")
    gate = peers.proxy(responders=[ocsp.url], nonce="require", timeout="3s")
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert "nonce_missing" in close["revocation_detail"], close
    gate.stop_cleanly()


@pytest.mark.parametrize("mode", ["prefer", "require"])
def test_a_response_with_another_nonce_is_refused_in_every_mode_that_sends_one(peers, bc, mode):
    ocsp = bc("other")
    gate = peers.proxy(responders=[ocsp.url], nonce=mode, timeout="3s")
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert "nonce_mismatch" in close["revocation_detail"], close
    gate.stop_cleanly()


def test_off_sends_no_nonce_so_none_can_be_wrong(peers, bc):
    ocsp = bc("other")  # adds its wrong nonce only to requests that carry one
    gate = peers.proxy(responders=[ocsp.url], nonce="off", timeout="3s")
    assert expect_accept(gate, "client-good")["revocation"] == "good"
    gate.stop_cleanly()
