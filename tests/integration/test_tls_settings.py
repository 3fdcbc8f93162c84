"""[listener.tls] protocol settings through the real binary (#27 point 1): CBC-only TLS 1.2
clients (OpenSSL and GnuTLS) are refused by default and forwarded when configured, and each key
(ciphers, ciphersuites, groups, signature_algorithms, security_level, second_certificate,
min_version with allow_legacy_tls) is shown to change what handshakes succeed."""
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import Ocspgate, free_port, listener_config, ocspgate_binary, s_client

CBC_ECDSA = "ECDHE-ECDSA-AES128-SHA"
DEFAULT_GCM = "ECDHE-ECDSA-AES128-GCM-SHA256"


def start(tmp_path, pki, backend, extra_tls=""):
    port = free_port()
    g = Ocspgate(tmp_path, listener_config(pki, port, backend.port, extra_tls=extra_tls))
    g.port = port
    return g


def forwarded(out: str) -> bool:
    """s_client sent "hello" and printed the echo backend's answer after the handshake."""
    return "Cipher is (NONE)" not in out and out.count("hello") >= 1 and "CONNECTED" in out


def issue(pki: Path, outdir: Path, name: str, key_args: list[str], *, server: bool) -> Path:
    """A leaf of any key type signed by the test PKI's issuing CA: NAME.pem and NAME.key."""
    key, csr, ext, pem = (outdir / f"{name}.{s}" for s in ("key", "csr", "ext", "pem"))
    ext.write_text("basicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\n" +
                   ("extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1\n" if server
                    else "extendedKeyUsage = clientAuth\n"))
    subprocess.run(["openssl", "req", "-new", *key_args, "-nodes", "-keyout", key, "-out", csr,
                    "-subj", f"/O=ocspgate test/CN={name}"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", pki / "issuing-ca.pem", "-CAkey",
                    pki / "issuing-ca.key", "-CAcreateserial", "-CAserial", outdir / "serial.srl",
                    "-days", "2", "-sha256", "-extfile", ext, "-out", pem], check=True, capture_output=True)
    return pem


RSA_2048 = ["-newkey", "rsa:2048"]


def test_cbc_only_tls12_client_is_refused_by_default(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend)
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n", extra=["-tls1_2", "-cipher", CBC_ECDSA])
    assert code != 0 and "Cipher is (NONE)" in out, out
    assert echo_backend.connections == 0
    g.stop_cleanly()


def test_cbc_only_tls12_client_is_forwarded_when_configured(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend, f'ciphers = "{DEFAULT_GCM}:{CBC_ECDSA}"')
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n", extra=["-tls1_2", "-cipher", CBC_ECDSA])
    assert f"Cipher is {CBC_ECDSA}" in out and forwarded(out), out
    assert echo_backend.connections == 1
    g.stop_cleanly()


def gnutls_cli(pki: Path, port: int, priority: str, stdin: bytes = b"hello\n") -> tuple[int, str]:
    argv = ["gnutls-cli", "--priority", priority, "--x509cafile", str(pki / "clients-ca.pem"),
            "--x509certfile", str(pki / "client-good-chain.pem") if (pki / "client-good-chain.pem").exists()
            else str(pki / "client-good.pem"), "--x509keyfile", str(pki / "client-good.key"),
            "-p", str(port), "127.0.0.1"]
    proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=20)
    return proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")


# GnuTLS as many phones configure it: TLS 1.2 only, AES-128-CBC with HMAC-SHA1, ECDHE-ECDSA.
GNUTLS_CBC_ONLY = "NONE:+VERS-TLS1.2:+AES-128-CBC:+SHA1:+ECDHE-ECDSA:+SIGN-ALL:+COMP-NULL:+GROUP-ALL"
needs_gnutls = pytest.mark.skipif(shutil.which("gnutls-cli") is None, reason="gnutls-cli is not installed")


@needs_gnutls
def test_gnutls_cbc_only_client_is_refused_by_default(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend)
    code, out = gnutls_cli(pki, g.port, GNUTLS_CBC_ONLY)
    assert code != 0 and "Received alert [40]: Handshake failed" in out, out
    assert echo_backend.connections == 0
    g.stop_cleanly()


@needs_gnutls
def test_gnutls_cbc_only_client_is_forwarded_when_configured(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend, f'ciphers = "{DEFAULT_GCM}:{CBC_ECDSA}"')
    code, out = gnutls_cli(pki, g.port, GNUTLS_CBC_ONLY)
    assert "Handshake was completed" in out and "AES-128-CBC" in out, out
    g.wait_event("close")
    assert echo_backend.connections == 1
    g.stop_cleanly()


def test_rsa_only_client_gets_the_second_certificate(tmp_path, pki, echo_backend):
    issue(pki, tmp_path, "server-rsa", RSA_2048, server=True)
    g = start(tmp_path, pki, echo_backend,
              f'ciphers = "{DEFAULT_GCM}:AES128-SHA"\n'
              f'second_certificate = "{tmp_path}/server-rsa.pem"\nsecond_private_key = "{tmp_path}/server-rsa.key"')
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n", extra=["-tls1_2", "-cipher", "AES128-SHA"])
    assert "Cipher is AES128-SHA" in out and "CN = server-rsa" in out and forwarded(out), out
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n", extra=["-tls1_2", "-cipher", DEFAULT_GCM])
    assert f"Cipher is {DEFAULT_GCM}" in out and "CN = localhost" in out and forwarded(out), out
    g.stop_cleanly()


def test_rsa_key_exchange_client_is_refused_without_an_rsa_certificate(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend, f'ciphers = "{DEFAULT_GCM}:AES128-SHA"')
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n", extra=["-tls1_2", "-cipher", "AES128-SHA"])
    assert code != 0 and "Cipher is (NONE)" in out, out
    g.stop_cleanly()


def test_groups_restrict_key_exchange(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend, 'groups = "X25519"')
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n", extra=["-groups", "P-256"])
    assert code != 0 and "Cipher is (NONE)" in out, out
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n", extra=["-groups", "X25519"])
    assert forwarded(out), out
    g.stop_cleanly()


def test_ciphersuites_restrict_tls13(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend, 'ciphersuites = "TLS_AES_256_GCM_SHA384"')
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n",
                         extra=["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"])
    assert code != 0 and "Cipher is (NONE)" in out, out
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n",
                         extra=["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"])
    assert "TLS_AES_256_GCM_SHA384" in out and forwarded(out), out
    g.stop_cleanly()


def test_signature_algorithms_restrict_the_handshake(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend, 'signature_algorithms = "ECDSA+SHA384"')
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n", extra=["-tls1_2", "-sigalgs", "ECDSA+SHA256"])
    assert code != 0 and "Cipher is (NONE)" in out, out
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n", extra=["-tls1_2", "-sigalgs", "ECDSA+SHA384"])
    assert forwarded(out), out
    g.stop_cleanly()


def test_security_level_3_refuses_a_2048_bit_rsa_client_certificate(tmp_path, pki, echo_backend):
    issue(pki, tmp_path, "client-rsa", RSA_2048, server=False)
    rsa_client = ["-cert", str(tmp_path / "client-rsa.pem"), "-key", str(tmp_path / "client-rsa.key"),
                  "-cert_chain", str(pki / "issuing-ca.pem")]
    g = start(tmp_path, pki, echo_backend)  # the default level takes a 2048-bit key
    code, out = s_client(pki, g.port, None, stdin=b"hello\n", extra=rsa_client)
    assert forwarded(out), out
    g.stop_cleanly()
    g = start(tmp_path, pki, echo_backend, "security_level = 3")
    code, out = s_client(pki, g.port, None, stdin=b"hello\n", extra=rsa_client)
    assert not forwarded(out), out
    assert echo_backend.connections == 1  # only the first gateway's client
    g.stop_cleanly()


def test_tls_1_1_is_forwarded_only_with_allow_legacy_tls(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend,
              f'min_version = "1.1"\nallow_legacy_tls = true\nsecurity_level = 0\nciphers = "{CBC_ECDSA}"')
    assert 'min_version "1.1" accepts deprecated TLS versions' in g.output()
    code, out = s_client(pki, g.port, "client-good", stdin=b"hello\n",
                         extra=["-tls1_1", "-cipher", f"{CBC_ECDSA}:@SECLEVEL=0"])
    assert "Protocol  : TLSv1.1" in out and forwarded(out), out
    g.stop_cleanly()


def check_config(tmp_path, pki, extra_tls):
    path = tmp_path / "check.toml"
    path.write_text(listener_config(pki, free_port(), free_port(), extra_tls=extra_tls))
    proc = subprocess.run([ocspgate_binary(), "--check-config", "--config", str(path)],
                          capture_output=True, text=True, timeout=20)
    return proc, path


@pytest.mark.parametrize("key,value", [("ciphers", "AES128-SHAA"), ("ciphersuites", "TLS_AES_128_CBC"),
                                       ("groups", "P-255"), ("signature_algorithms", "ECDSA+MD17")])
def test_check_config_reports_strings_openssl_refuses(tmp_path, pki, key, value):
    proc, path = check_config(tmp_path, pki, f'{key} = "{value}"')
    assert proc.returncode != 0
    lines = path.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith(f"{key} ="))
    column = len(key) + 4
    assert f"{path}:{line}:{column}: listener[0].tls.{key}: OpenSSL refuses {key} \"{value}\"" in proc.stderr, \
        proc.stderr


def test_check_config_refuses_legacy_versions_without_allow_legacy_tls(tmp_path, pki):
    proc, path = check_config(tmp_path, pki, 'min_version = "1.0"\nsecurity_level = 0')
    assert proc.returncode != 0 and "set allow_legacy_tls = true" in proc.stderr, proc.stderr
