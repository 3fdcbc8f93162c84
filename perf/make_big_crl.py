#!/usr/bin/python3
"""perf/make_big_crl.py: a CRL of N random serials for a CA, in DER, in a second or two.

`openssl ca -gencrl` needs an index row per entry and takes minutes for 500 000; this writes
the TBSCertList's DER directly (each entry SEQUENCE { INTEGER 20 random bytes, UTCTime }, as
perf/micro_crl.cpp builds it through OpenSSL: 500 000 entries make 19.5 MB) and signs it with
the CA's key through `cryptography` (python3-cryptography). The CRL is v2 with a cRLNumber;
thisUpdate and nextUpdate are given in seconds from now, so that a benchmark can make it expire
when it wants the CRL fetched again (ocsp/crl_store.cpp: a fetched CRL is fetched again once
its nextUpdate, plus ocsp.clock_skew, has passed).

    perf/make_big_crl.py --ca pki/issuing-ca.pem --key pki/issuing-ca.key --entries 500000 \
        --number 100 --this-update -60 --next-update 40 --out big.crl
"""
from __future__ import annotations

import argparse
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

SERIAL_BYTES = 20


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + der_length(len(body)) + body


def der_integer(value: int) -> bytes:
    body = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")  # room for a sign bit
    return tlv(0x02, body)


def utc_time(t: float) -> bytes:
    return tlv(0x17, datetime.fromtimestamp(int(t), timezone.utc).strftime("%y%m%d%H%M%SZ").encode())


def signature_algorithm(key) -> tuple[bytes, object]:
    """The AlgorithmIdentifier (DER) and how to sign with `key`: SHA-256 with its type."""
    if isinstance(key, ec.EllipticCurvePrivateKey):  # ecdsa-with-SHA256, no parameters
        return tlv(0x30, bytes.fromhex("06082a8648ce3d040302")), lambda tbs: key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):  # sha256WithRSAEncryption, NULL parameters
        return (tlv(0x30, bytes.fromhex("06092a864886f70d01010b0500")),
                lambda tbs: key.sign(tbs, padding.PKCS1v15(), hashes.SHA256()))
    raise SystemExit(f"make_big_crl: unsupported CA key type {type(key).__name__}")


def revoked_entries(count: int, when: bytes) -> bytes:
    """`count` entries with random positive 20-byte serials (first byte 0x10..0x7f)."""
    random = os.urandom(count * SERIAL_BYTES)
    serial_tag = bytes([0x02, SERIAL_BYTES])
    entry_len = der_length(2 + SERIAL_BYTES + len(when))
    parts = []
    for i in range(count):
        s = bytearray(random[i * SERIAL_BYTES:(i + 1) * SERIAL_BYTES])
        s[0] = (s[0] & 0x6F) | 0x10
        parts.append(b"\x30" + entry_len + serial_tag + bytes(s) + when)
    return b"".join(parts)


def make_crl(ca_pem: bytes, key_pem: bytes, entries: int, number: int, this_update: float,
             next_update: float) -> bytes:
    ca = x509.load_pem_x509_certificate(ca_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    alg, sign = signature_algorithm(key)
    now = time.time()
    crl_number_ext = tlv(0x30, bytes.fromhex("0603551d14") + tlv(0x04, der_integer(number)))  # cRLNumber
    tbs = tlv(0x30, b"".join([
        der_integer(1),  # v2
        alg,
        ca.subject.public_bytes(),
        utc_time(now + this_update),
        utc_time(now + next_update),
        tlv(0x30, revoked_entries(entries, utc_time(now + this_update))) if entries else b"",
        tlv(0xA0, tlv(0x30, crl_number_ext)),
    ]))
    signature = sign(tbs)
    return tlv(0x30, tbs + alg + tlv(0x03, b"\x00" + signature))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ca", required=True, help="the CA certificate (PEM)")
    p.add_argument("--key", required=True, help="its private key (PEM, unencrypted; EC or RSA)")
    p.add_argument("--entries", type=int, default=500000)
    p.add_argument("--number", type=int, default=1, help="cRLNumber")
    p.add_argument("--this-update", type=float, default=-60, help="seconds from now (negative: past)")
    p.add_argument("--next-update", type=float, default=7 * 86400, help="seconds from now")
    p.add_argument("--out", required=True, help="DER output file")
    a = p.parse_args()
    t0 = time.monotonic()
    der = make_crl(Path(a.ca).read_bytes(), Path(a.key).read_bytes(), a.entries, a.number, a.this_update,
                   a.next_update)
    Path(a.out).write_bytes(der)
    print(f"make_big_crl: {a.entries} entries, {len(der)} bytes in {time.monotonic() - t0:.2f} s -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
