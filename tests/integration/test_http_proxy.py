"""[revocation.NAME] http_proxy: OCSP requests and CRL downloads through an outbound HTTP proxy,
absolute-form for http://, a CONNECT tunnel for https:// (TLS and its certificate check run end
to end inside it). The proxy here is a small one on loopback that sends every request to
127.0.0.1 at the requested port and records what it was asked."""
import socket
import threading

from harness import expect_accept, expect_reject, free_port
from test_revocation_https import tls_front

REVOKED = "SSLV3_ALERT_CERTIFICATE_REVOKED"


class LoopbackProxy:
    """An HTTP proxy on 127.0.0.1: `requests` holds each request line as received. With
    `refuse_connect`, CONNECT is answered 403."""

    def __init__(self, refuse_connect: bool = False):
        self.refuse_connect = refuse_connect
        self.requests: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, client):
        client.settimeout(10)
        with client:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = client.recv(65536)
                if not chunk:
                    return
                head += chunk
            line, _, rest = head.partition(b"\r\n")
            method, target, version = line.decode().split(" ")
            self.requests.append(line.decode())
            if method == "CONNECT":
                if self.refuse_connect:
                    client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                    return
                upstream = socket.create_connection(("127.0.0.1", int(target.rsplit(":", 1)[1])), timeout=10)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest.partition(b"\r\n\r\n")[2]:
                    upstream.sendall(rest.partition(b"\r\n\r\n")[2])
            else:
                assert target.startswith("http://"), target  # absolute-form, as a proxy needs
                authority, _, path = target[len("http://"):].partition("/")
                port = int(authority.rsplit(":", 1)[1]) if ":" in authority else 80
                upstream = socket.create_connection(("127.0.0.1", port), timeout=10)
                upstream.sendall(f"{method} /{path} {version}\r\n".encode() + rest)
            with upstream:
                self._relay(client, upstream)

    @staticmethod
    def _relay(a, b):
        def pump(src, dst):
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        t = threading.Thread(target=pump, args=(b, a), daemon=True)
        t.start()
        pump(a, b)
        t.join(10)

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


def start_proxy(peers, **kw) -> LoopbackProxy:
    proxy = LoopbackProxy(**kw)
    peers._started.append(proxy.close)
    return proxy


def test_ocsp_over_http_goes_through_the_proxy_in_absolute_form(peers):
    ocsp = peers.responder()
    proxy = start_proxy(peers)
    url = f"http://localhost:{ocsp.port}/"
    gate = peers.proxy(responders=[url], extra_profile=f'http_proxy = "{proxy.url}"')
    assert expect_accept(gate, "client-good")["revocation_source"] == url
    expect_reject(gate, "client-revoked", REVOKED)
    assert proxy.requests == [f"POST http://localhost:{ocsp.port}/ HTTP/1.1"] * 2
    gate.stop_cleanly()


def test_https_responder_is_reached_through_a_connect_tunnel(peers):
    ocsp = peers.responder()
    https_port = int(tls_front(peers, ocsp.port, require_client_cert=False).rsplit(":", 1)[1].rstrip("/"))
    proxy = start_proxy(peers)
    url = f"https://localhost:{https_port}/"  # the server certificate names DNS:localhost
    gate = peers.proxy(responders=[url], extra_profile=f'http_proxy = "{proxy.url}"',
                       extra_ocsp=f'tls_ca = "{peers.pki}/clients-ca.pem"')
    assert expect_accept(gate, "client-good")["revocation_source"] == url
    assert proxy.requests == [f"CONNECT localhost:{https_port} HTTP/1.1"]
    assert ocsp.requests == 1
    gate.stop_cleanly()


def test_a_refused_connect_is_an_error_naming_the_proxys_answer(peers):
    ocsp = peers.responder()
    https_port = int(tls_front(peers, ocsp.port, require_client_cert=False).rsplit(":", 1)[1].rstrip("/"))
    proxy = start_proxy(peers, refuse_connect=True)
    gate = peers.proxy(responders=[f"https://localhost:{https_port}/"], extra_profile=f'http_proxy = "{proxy.url}"',
                       extra_ocsp=f'tls_ca = "{peers.pki}/clients-ca.pem"')
    close = expect_reject(gate, "client-good", "SSLV3_ALERT_CERTIFICATE_UNKNOWN")
    assert "the proxy refused CONNECT: HTTP/1.1 403 Forbidden" in close["revocation_detail"], close
    assert ocsp.requests == 0
    gate.stop_cleanly()


def test_a_proxy_that_is_down_fails_closed_and_the_responder_is_never_asked_directly(peers):
    ocsp = peers.responder()
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    gate = peers.proxy(responders=[ocsp.url], extra_profile=f'http_proxy = "{dead_proxy}"')
    close = expect_reject(gate, "client-good", "SSLV3_ALERT_CERTIFICATE_UNKNOWN")
    assert "proxy: cannot connect to 127.0.0.1" in close["revocation_detail"], close
    assert ocsp.requests == 0
    gate.stop_cleanly()


def test_crl_download_goes_through_the_proxy(peers, pki):
    origin = peers.fake("body", body=(pki / "issuing-ca.crl.der").read_bytes(), content_type="application/pkix-crl")
    proxy = start_proxy(peers)
    crl_url = f"http://localhost:{origin.port}/issuing-ca.crl"
    gate = peers.proxy(methods=["crl"], crl_urls=[crl_url], extra_profile=f'http_proxy = "{proxy.url}"')
    assert expect_accept(gate, "client-good")["revocation_method"] == "crl"
    expect_reject(gate, "client-revoked", REVOKED)
    assert proxy.requests == [f"GET {crl_url} HTTP/1.1"]  # one download served both
    gate.stop_cleanly()
