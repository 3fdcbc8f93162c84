"""Client certificates are verified against client_ca; failures are refused and logged."""
import ssl

import pytest

from harness import Ocspgate, free_port, listener_config, s_client, tls_connect


def start(tmp_path, pki, backend, **kw):
    port = free_port()
    g = Ocspgate(tmp_path, listener_config(pki, port, backend.port, **kw))
    g.port = port
    return g


def expect_refused(pki, port, cert):
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        with tls_connect(pki, port, cert=cert) as c:
            c.sendall(b"must not arrive")
            assert c.recv(1) == b""  # TLS 1.3: the alert arrives on the first read
            raise ConnectionResetError("closed without alert")


def test_certificate_from_unknown_ca_is_refused(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend)
    expect_refused(pki, g.port, "client-untrusted")
    close = g.wait_event("close")[0]
    assert close["decision"] == "reject" and close["reason"] == "untrusted issuer"
    assert close["subject"].startswith("CN=client-untrusted")
    assert echo_backend.connections == 0
    g.stop_cleanly()


def test_missing_certificate_is_refused_when_required(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend)
    expect_refused(pki, g.port, None)
    close = g.wait_event("close")[0]
    assert close["decision"] == "reject" and close["reason"] == "no client certificate"
    assert echo_backend.connections == 0
    g.stop_cleanly()


def test_missing_certificate_is_allowed_when_optional(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend, extra_tls='verify_client = "optional"')
    with tls_connect(pki, g.port, cert=None) as c:
        c.sendall(b"anon")
        assert c.recv(4) == b"anon"
    g.stop_cleanly()


def test_untrusted_certificate_is_refused_even_when_optional(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend, extra_tls='verify_client = "optional"')
    expect_refused(pki, g.port, "client-untrusted")
    g.stop_cleanly()


def test_s_client_with_untrusted_certificate_gets_an_alert(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend)
    code, out = s_client(pki, g.port, "client-untrusted", stdin=b"hello\n")
    assert "alert" in out, out
    assert echo_backend.connections == 0
    g.stop_cleanly()


def test_tls_1_1_is_refused(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend)
    code, out = s_client(pki, g.port, "client-good", extra=["-tls1_1"])
    assert code != 0 and "CONNECTED" in out and "Cipher is (NONE)" in out, out
    g.stop_cleanly()
