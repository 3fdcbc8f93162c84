"""Response shapes seen from real CAs' responders (#19 point 3), each built from real DER: the
responses are made at test time by the real `openssl ocsp` responder (offline, -reqin/-respout,
as pre-signing responders do) or answered live by it, then served to ocspgate as they are,
under HTTP framings real servers use (HTTP/1.0, chunked, odd content types, Cache-Control,
redirects). Shapes proven elsewhere: responder ID by key hash or by name and responses without
certificates (test_revocation_responders.py), no nextUpdate (test_revocation_status.py), tryLater
(test_revocation_failures.py)."""
import socket
import subprocess
import threading
import time

import pytest

from harness import expect_accept, expect_reject

REVOKED, UNKNOWN = "SSLV3_ALERT_CERTIFICATE_REVOKED", "SSLV3_ALERT_CERTIFICATE_UNKNOWN"


def presigned(peers, name, certs=("client-good",), *, signer="ocsp-signer", request=(), respond=(), nmin=5):
    """A response made by `openssl ocsp` from its index for a request about `certs` (issued by
    issuing-ca, in that order, no nonce), as a responder that pre-signs would serve it.
    `request`: options of the request (e.g. -sha256); `respond`: of the responder."""
    pki, work = peers.pki, peers.workdir
    req, resp = work / f"{name}.req", work / f"{name}.der"
    argv = ["openssl", "ocsp", "-issuer", pki / "issuing-ca.pem", *request]  # -sha256 before the -cert it applies to
    for cert in certs:
        argv += ["-cert", pki / f"{cert}.pem"]
    argv += ["-no_nonce", "-reqout", req]
    subprocess.run([str(a) for a in argv], check=True, capture_output=True, timeout=30)
    argv = ["openssl", "ocsp", "-index", pki / "index.txt", "-CA", pki / "issuing-ca.pem",
            "-rsigner", pki / f"{signer}.pem", "-rkey", pki / f"{signer}.key", "-reqin", req, "-respout", resp,
            *(["-nmin", nmin] if nmin is not None else []), *respond]
    subprocess.run([str(a) for a in argv], check=True, capture_output=True, timeout=30)
    return resp.read_bytes()


def described(der_path) -> str:
    """`openssl ocsp -respin -resp_text`: what the DER really holds, to prove the shape."""
    return subprocess.run(["openssl", "ocsp", "-respin", str(der_path), "-resp_text", "-noverify"],
                          capture_output=True, text=True, timeout=30).stdout


def http_reply(body: bytes, *, version="HTTP/1.1", status="200 OK", headers=(), chunked=False) -> bytes:
    head = [f"{version} {status}", *headers]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        half = len(body) // 2
        payload = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:]) if part)
        payload += b"0\r\n\r\n"
    else:
        payload = body
        if version != "HTTP/1.0":
            head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


class RawResponder:
    """Answers every HTTP request on 127.0.0.1 with the same bytes, then closes (so an HTTP/1.0
    reply without a length ends at the close). `requests` counts the requests answered."""

    def __init__(self, reply: bytes):
        self.reply, self.requests = reply, 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self._read_request(conn)
                    conn.sendall(self.reply)
                    self.requests += 1
                except OSError:
                    pass

    @staticmethod
    def _read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(4096)
            if not chunk:
                return
            body += chunk

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


@pytest.fixture
def raw(peers):
    started = []

    def start(reply: bytes) -> RawResponder:
        r = RawResponder(reply)
        started.append(r)
        return r

    yield start
    for r in started:
        r.close()


# ---- several SingleResponses, in any order ------------------------------------------------

@pytest.mark.parametrize("order", [("client-good", "client-revoked"), ("client-revoked", "client-good")],
                         ids=["ours-first", "ours-last"])
def test_response_about_several_certificates_is_read_for_the_one_asked_about(peers, raw, order):
    der = presigned(peers, "several", order)
    text = described(peers.workdir / "several.der")
    assert text.count("Cert Status:") == 2, text
    responder = raw(http_reply(der, headers=["Content-Type: application/ocsp-response"]))
    gate = peers.proxy(responders=[responder.url])
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_source"]) == ("good", responder.url)
    close = expect_reject(gate, "client-revoked", REVOKED)
    assert close["revocation"] == "revoked"
    gate.stop_cleanly()


# ---- CertID hash algorithm other than the request's ---------------------------------------

def test_openssl_rcid_answer_with_serial_zero_is_no_matching_response(peers, raw):
    # A responder quirk: `openssl ocsp -rcid sha256` (OpenSSL 3.0) re-hashes the CertID with
    # SHA-256 but writes serial 0 into it, so the answer names no certificate of ours. It must
    # fail closed as no_matching_response, never be taken for the certificate asked about.
    der = presigned(peers, "rcid", respond=["-rcid", "sha256"])
    text = described(peers.workdir / "rcid.der")
    assert "Hash Algorithm: sha256" in text and "Serial Number: 00\n" in text, text
    responder = raw(http_reply(der, headers=["Content-Type: application/ocsp-response"]))
    gate = peers.proxy(responders=[responder.url])
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert "no_matching_response" in close["revocation_detail"], close
    gate.stop_cleanly()


def test_presigned_response_to_a_sha256_request_is_matched_to_our_sha1_request(peers, raw):
    # A responder that pre-signed per SHA-256 CertID and serves that to any request.
    der = presigned(peers, "sha256", request=["-sha256"])
    assert "Hash Algorithm: sha256" in described(peers.workdir / "sha256.der")
    responder = raw(http_reply(der, headers=["Content-Type: application/ocsp-response"]))
    gate = peers.proxy(responders=[responder.url])
    close = expect_accept(gate, "client-good")
    assert close["revocation"] == "good"
    close = expect_reject(gate, "client-revoked", UNKNOWN)  # the response is about client-good only
    assert "no_matching_response" in close["revocation_detail"], close
    gate.stop_cleanly()


# ---- responder ID, certificates -----------------------------------------------------------

@pytest.mark.parametrize("by_key", [False, True], ids=["by-name", "by-key"])
def test_presigned_response_with_extra_certificates_is_accepted(peers, raw, by_key):
    # -rother: certificates beyond the signer's (here the CA chain), as CA products send.
    chain = peers.workdir / "other.pem"
    chain.write_bytes((peers.pki / "issuing-ca.pem").read_bytes() + (peers.pki / "root-ca.pem").read_bytes())
    der = presigned(peers, "rother", respond=["-rother", chain, *(["-resp_key_id"] if by_key else [])])
    text = described(peers.workdir / "rother.der")
    assert text.count("BEGIN CERTIFICATE") == 3, text  # the signer and the two others
    assert ("Responder Id: O = " in text) != by_key
    responder = raw(http_reply(der, headers=["Content-Type: application/ocsp-response"]))
    gate = peers.proxy(responders=[responder.url])
    close = expect_accept(gate, "client-good")
    assert close["revocation"] == "good"
    gate.stop_cleanly()


# ---- no nextUpdate: cached per max_age and max_cache_ttl, never forever -------------------

def test_response_without_next_update_is_cached_for_max_cache_ttl_only(peers, raw):
    der = presigned(peers, "nonext", nmin=None)
    assert "Next Update" not in described(peers.workdir / "nonext.der")
    responder = raw(http_reply(der, headers=["Content-Type: application/ocsp-response"]))
    gate = peers.proxy(responders=[responder.url], extra_ocsp='max_age = "1h"\nmax_cache_ttl = "1s"')
    expect_accept(gate, "client-good")
    expect_accept(gate, "client-good")
    assert responder.requests == 1  # the second came from the cache
    time.sleep(1.3)
    expect_accept(gate, "client-good")
    assert responder.requests == 2  # cached no longer than max_cache_ttl
    gate.stop_cleanly()


# ---- responseStatus without responseBytes -------------------------------------------------

STATUS_ONLY = {  # OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED }, as openssl ocsp sends them
    "malformed_request": 1, "internal_error": 2, "try_later": 3, "sig_required": 5, "unauthorized": 6,
}


@pytest.mark.parametrize("kind", list(STATUS_ONLY))
def test_status_only_response_is_no_answer_and_fails_closed(peers, raw, kind):
    der = bytes([0x30, 0x03, 0x0A, 0x01, STATUS_ONLY[kind]])
    responder = raw(http_reply(der, headers=["Content-Type: application/ocsp-response"]))
    gate = peers.proxy(responders=[responder.url])
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert close["revocation"] == "undetermined"
    assert kind in close["revocation_detail"], close
    gate.stop_cleanly()


# ---- HTTP framing and headers -------------------------------------------------------------

FRAMINGS = {
    "http1.0-close-delimited": dict(version="HTTP/1.0", headers=["Content-Type: application/ocsp-response"]),
    "chunked": dict(chunked=True, headers=["Content-Type: application/ocsp-response"]),
    "no-content-type": dict(),
    "content-type-with-parameters": dict(headers=["Content-Type: Application/OCSP-Response; charset=binary"]),
    "octet-stream": dict(headers=["Content-Type: application/octet-stream"]),
}


@pytest.mark.parametrize("framing", list(FRAMINGS))
def test_http_framings_and_content_types_real_servers_send_are_read(peers, raw, framing):
    der = presigned(peers, "framed")
    responder = raw(http_reply(der, **FRAMINGS[framing]))
    gate = peers.proxy(responders=[responder.url])
    close = expect_accept(gate, "client-good")
    assert (close["revocation"], close["revocation_source"]) == ("good", responder.url)
    gate.stop_cleanly()


def test_cache_control_max_age_bounds_how_long_the_answer_is_cached(peers, raw):
    der = presigned(peers, "maxage", nmin=60)  # nextUpdate in an hour
    responder = raw(http_reply(der, headers=["Content-Type: application/ocsp-response",
                                             "Cache-Control: max-age=1, public, no-transform, must-revalidate"]))
    gate = peers.proxy(responders=[responder.url])  # max_cache_ttl: the default hour
    expect_accept(gate, "client-good")
    expect_accept(gate, "client-good")
    assert responder.requests == 1
    time.sleep(1.3)
    expect_accept(gate, "client-good")
    assert responder.requests == 2  # max-age=1 cut the hour that nextUpdate allowed
    gate.stop_cleanly()


def test_cache_control_no_cache_answers_this_handshake_and_is_not_kept(peers, raw):
    der = presigned(peers, "nocache", nmin=60)
    responder = raw(http_reply(der, headers=["Content-Type: application/ocsp-response", "Cache-Control: no-cache"]))
    gate = peers.proxy(responders=[responder.url])
    expect_accept(gate, "client-good")
    expect_accept(gate, "client-good")
    assert responder.requests == 2
    gate.stop_cleanly()


@pytest.mark.parametrize("status", ["301 Moved Permanently", "302 Found", "307 Temporary Redirect"])
def test_redirect_is_not_followed_and_fails_closed(peers, raw, status):
    # The place it points to would answer "good": following it would be a way round the
    # configured responder (and to another scheme or host), so it is refused.
    target = raw(http_reply(presigned(peers, "target"), headers=["Content-Type: application/ocsp-response"]))
    responder = raw(http_reply(b"", status=status, headers=[f"Location: {target.url}/"]))
    gate = peers.proxy(responders=[responder.url])
    close = expect_reject(gate, "client-good", UNKNOWN)
    assert close["revocation"] == "undetermined"
    assert f"HTTP status {status.split()[0]}" in close["revocation_detail"], close
    assert target.requests == 0
    gate.stop_cleanly()
