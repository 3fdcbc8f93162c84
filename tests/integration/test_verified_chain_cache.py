"""A client chain verified once is not re-verified (tls/verified_chain_cache.h), but what the
cache must never skip still happens on every handshake: the client's proof that it holds the
key (CertificateVerify) and the revocation check."""
import re
import subprocess
from pathlib import Path

from harness import Ocspgate, expect_accept, expect_reject, free_port, listener_config, round_trip, s_client


def openssl_text_hex(argv, field: str) -> str:
    """The hex bytes `openssl ... -text` prints under `field:` (e.g. priv, pub), without colons."""
    text = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    m = re.search(rf"^{field}:\n((?:\s+[0-9a-f:]+\n)+)", text, re.M)
    assert m, text
    return re.sub(r"[\s:]", "", m.group(1))


def forged_key(pki: Path, holder: str, other: str, out: Path) -> Path:
    """An EC private key file whose public half is `holder`'s certificate key and whose private
    scalar is `other`'s: what a client has that copied a certificate but not its key. OpenSSL
    clients accept it (they only compare the public halves), so the forgery reaches the server."""
    pub = openssl_text_hex(["openssl", "x509", "-in", pki / f"{holder}.pem", "-noout", "-text"], r"\s*pub")
    priv = openssl_text_hex(["openssl", "pkey", "-in", pki / f"{other}.key", "-noout", "-text"], "priv")
    priv = priv[-64:].rjust(64, "0")  # the scalar, 32 bytes (the text form may add a leading 00)
    conf = out.with_suffix(".cnf")
    conf.write_text(f"""asn1=SEQUENCE:ec_key
[ec_key]
version=INTEGER:1
privateKey=FORMAT:HEX,OCTETSTRING:{priv}
parameters=EXPLICIT:0,OID:prime256v1
publicKey=EXPLICIT:1,FORMAT:HEX,BITSTRING:{pub}
""")
    der = out.with_suffix(".der")
    subprocess.run(["openssl", "asn1parse", "-genconf", conf, "-noout", "-out", der], check=True, capture_output=True)
    subprocess.run(["openssl", "ec", "-inform", "DER", "-in", der, "-out", out], check=True, capture_output=True)
    return out


def start(tmp_path, pki, backend):
    port = free_port()
    g = Ocspgate(tmp_path, listener_config(pki, port, backend.port))
    g.port = port
    return g


def test_forged_key_file_really_carries_the_certificates_public_key(tmp_path, pki):
    key = forged_key(pki, "client-good", "client-extra-01", tmp_path / "forged.key")
    pub = openssl_text_hex(["openssl", "ec", "-in", key, "-noout", "-text"], "pub")
    cert_pub = openssl_text_hex(["openssl", "x509", "-in", pki / "client-good.pem", "-noout", "-text"], r"\s*pub")
    assert pub == cert_pub
    other_priv = openssl_text_hex(["openssl", "pkey", "-in", pki / "client-extra-01.key", "-noout", "-text"], "priv")
    assert openssl_text_hex(["openssl", "ec", "-in", key, "-noout", "-text"], "priv")[-64:] == other_priv[-64:]


def test_same_certificate_with_the_wrong_key_is_refused_after_the_chain_was_accepted(tmp_path, pki, echo_backend):
    g = start(tmp_path, pki, echo_backend)
    for _ in range(3):  # the first verifies the chain, the next are served from the cache
        assert round_trip(pki, g.port, "client-good") == b"ping"
    key = forged_key(pki, "client-good", "client-extra-01", tmp_path / "forged.key")
    for version in ("-tls1_3", "-tls1_2"):
        code, out = s_client(pki, g.port, None, stdin=b"must not arrive\n",
                             extra=("-cert", str(pki / "client-good.pem"), "-key", str(key),
                                    "-cert_chain", str(pki / "issuing-ca.pem"), version))
        assert "decrypt error" in out or "alert" in out, out
    closes = [c for c in g.wait_event("close", count=5) if c["decision"] == "reject"]
    assert len(closes) == 2, closes
    for close in closes:
        assert "bad signature" in close["reason"], close
    assert echo_backend.connections == 3
    assert b"must not arrive" not in bytes(echo_backend.received)
    g.stop_cleanly()


def test_revocation_still_applies_to_a_chain_verified_before(peers):
    responder = peers.responder()
    g = peers.proxy(responders=[responder.url])
    expect_accept(g, "client-good")
    # The chain of client-revoked verifies (and is remembered) before its status refuses it;
    # the second handshake takes the chain from the cache and is still refused.
    for _ in range(2):
        close = expect_reject(g, "client-revoked", "SSLV3_ALERT_CERTIFICATE_REVOKED")
        assert close["reason"] == "certificate revoked"
    g.stop_cleanly()
