"""`proxy_protocol = true`: the backend connection starts with a PROXY v2 header."""
import struct
import subprocess
import time

import pytest

from harness import MemoryTlsClient, Ocspgate, free_port, listener_config, recv_exactly, tls_connect

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def parse_tlvs(data: bytes) -> dict:
    tlvs = {}
    while data:
        kind, length = data[0], struct.unpack(">H", data[1:3])[0]
        tlvs[kind] = data[3:3 + length]
        data = data[3 + length:]
    return tlvs


def test_backend_receives_client_address_and_tls_facts_first(tmp_path, pki, echo_backend):
    port = free_port()
    g = Ocspgate(tmp_path, listener_config(pki, port, echo_backend.port, extra_listener="proxy_protocol = true"))
    with tls_connect(pki, port) as c:
        client_port = c.getsockname()[1]
        c.sendall(b"payload")
        # The echo backend returns the header too: read it back through the proxy.
        head = recv_exactly(c, 16)
        assert head[:12] == SIGNATURE
        assert head[12] == 0x21 and head[13] == 0x11  # v2 PROXY, TCP over IPv4
        length = struct.unpack(">H", head[14:16])[0]
        rest = recv_exactly(c, length + len(b"payload"))
    src, dst = rest[0:4], rest[4:8]
    sport, dport = struct.unpack(">HH", rest[8:12])
    assert src == bytes([127, 0, 0, 1]) and dst == bytes([127, 0, 0, 1])
    assert sport == client_port and dport == port
    ssl_tlv = parse_tlvs(rest[12:length])[0x20]
    assert ssl_tlv[0] & 0x01 and ssl_tlv[0] & 0x02  # TLS, client certificate on this connection
    assert ssl_tlv[1:5] == b"\x00\x00\x00\x00"    # verified
    sub = parse_tlvs(ssl_tlv[5:])
    assert sub[0x22] == b"client-good"              # CN
    assert sub[0x21].startswith(b"TLSv1.")          # version
    assert rest[length:] == b"payload"               # then the client's bytes, unchanged
    g.stop_cleanly()


def test_no_header_without_the_option(tmp_path, pki, echo_backend):
    port = free_port()
    g = Ocspgate(tmp_path, listener_config(pki, port, echo_backend.port))
    with tls_connect(pki, port) as c:
        c.sendall(b"plain")
        assert recv_exactly(c, 5) == b"plain"
    g.stop_cleanly()


# ---- lengths at the 16-bit limit ---------------------------------------------------------
# Every length in a PROXY v2 header is 16 bits. A client certificate whose CN is ~64 KiB must
# never make ocspgate declare fewer bytes than it sends (the backend would read the rest as
# the client's first bytes): the CN arrives whole, or the client is refused.

MAX_LENGTH = 0xFFFF
ROLE_OID_DER = b"\x06\x03\x55\x04\x48"  # id-at-role (2.5.4.72)
CN_OID_DER = b"\x06\x03\x55\x04\x03"    # id-at-commonName (2.5.4.3)


def issue_long_cn_certificate(pki, name: str, cn_length: int) -> str:
    """A clientAuth leaf signed by issuing-ca whose CN is `cn_length` times "a", written as
    PKI/NAME.pem, .key and -chain.pem; returns NAME (for MemoryTlsClient). `openssl req` holds
    a CN to RFC 5280's 64 characters, so the request names the value id-at-role instead (no
    bound, and its OID has the same encoded length), that OID is swapped for commonName in the
    DER, the request is self-signed as it stands and that certificate is signed by the CA."""
    key, csr, selfsigned, ext = (pki / f"{name}{suffix}" for suffix in (".key", ".csr.der", "-self.pem", ".ext"))
    pem = pki / f"{name}.pem"
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-outform", "DER", "-out", csr,
                    "-subj", f"/O=ocspgate test/2.5.4.72={'a' * cn_length}"], check=True, capture_output=True)
    der = csr.read_bytes()
    assert der.count(ROLE_OID_DER) == 1
    csr.write_bytes(der.replace(ROLE_OID_DER, CN_OID_DER))
    subprocess.run(["openssl", "req", "-in", csr, "-inform", "DER", "-key", key, "-x509", "-days", "1",
                    "-out", selfsigned], check=True, capture_output=True)
    ext.write_text("basicConstraints = CA:FALSE\nkeyUsage = digitalSignature\nextendedKeyUsage = clientAuth\n")
    subprocess.run(["openssl", "x509", "-in", selfsigned, "-CA", pki / "issuing-ca.pem", "-CAkey", pki / "issuing-ca.key",
                    "-CAcreateserial", "-CAserial", pki / "serial.srl", "-days", "30", "-sha256", "-clrext",
                    "-extfile", ext, "-out", pem], check=True, capture_output=True)
    (pki / f"{name}-chain.pem").write_bytes(pem.read_bytes() + (pki / "issuing-ca.pem").read_bytes())
    return name


def split_proxy_header(data: bytes) -> tuple[dict, bytes]:
    """This test's own PROXY v2 reader (not ocspgate's code). Every length must match the
    bytes exactly: the header's over addresses + TLVs, the SSL TLV's over its fixed part and
    sub-TLVs, each sub-TLV's over its value. Returns the fields and what follows the header."""
    assert len(data) >= 16 and data[:12] == SIGNATURE, data[:16]
    assert data[12] == 0x21 and data[13] == 0x11, data[12:14]  # v2 PROXY, TCP over IPv4
    declared = struct.unpack(">H", data[14:16])[0]
    assert len(data) >= 16 + declared, f"declared {declared}, only {len(data) - 16} bytes follow"
    block, rest = data[16:16 + declared], data[16 + declared:]
    tlvs = walk_tlvs(block[12:])
    assert [kind for kind, _ in tlvs] == [0x20], tlvs
    ssl_value = tlvs[0][1]
    assert len(ssl_value) >= 5 and ssl_value[0] == 0x03 and ssl_value[1:5] == b"\0\0\0\0", ssl_value[:5]
    sub = dict(walk_tlvs(ssl_value[5:]))
    return {"declared": declared, "ssl": sub}, rest


def walk_tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """TLVs that tile `data` exactly: a length running past the end fails."""
    out, at = [], 0
    while at < len(data):
        assert len(data) - at >= 3, f"{len(data) - at} stray bytes after the TLVs"
        kind, length = data[at], struct.unpack(">H", data[at + 1:at + 3])[0]
        assert at + 3 + length <= len(data), f"TLV {kind:#x} declares {length}, {len(data) - at - 3} follow"
        out.append((kind, data[at + 3:at + 3 + length]))
        at += 3 + length
    return out


def through_gate(gate, port, pki, cert: str, payload: bytes) -> tuple[str, bytes]:
    """Sends `payload` with `cert`, half-closes and reads to the end; returns (peer, what came
    back) once the gate has logged the connection's close."""
    client = MemoryTlsClient(pki, port, cert=cert, timeout=10)
    peer = f"127.0.0.1:{client.sock.getsockname()[1]}"
    try:
        client.send(payload)
        client.close_write()
        echoed, _ = client.read_to_end()
    except (BrokenPipeError, ConnectionResetError):
        echoed = b""  # the gate closed first, as it does when it refuses after the handshake
    finally:
        client.close()
    gate.wait_event("close", peer=peer)
    return peer, echoed


@pytest.fixture
def gate_with_header(tmp_path, pki, echo_backend):
    port = free_port()
    g = Ocspgate(tmp_path, listener_config(pki, port, echo_backend.port, extra_listener="proxy_protocol = true"))
    g.port, g.backend = port, echo_backend
    yield g
    g.stop_cleanly()


def room_for_cn(gate, pki) -> int:
    """The longest CN that fits next to the version and cipher this client negotiates: learnt
    from a header with client-good's CN, whose declared length minus that CN is the rest."""
    _, echoed = through_gate(gate, gate.port, pki, "client-good", b"")
    header, _ = split_proxy_header(echoed)
    return MAX_LENGTH - (header["declared"] - len(b"client-good"))


def test_cn_filling_the_header_to_65535_bytes_arrives_whole(gate_with_header, pki):
    g, backend = gate_with_header, gate_with_header.backend
    cn_length = room_for_cn(g, pki)
    cert = issue_long_cn_certificate(pki, f"client-cn-{cn_length}", cn_length)
    before = len(backend.received)
    payload = b"first client bytes\r\n" * 100
    peer, echoed = through_gate(g, g.port, pki, cert, payload)
    received = bytes(backend.received[before:])
    header, rest = split_proxy_header(received)
    assert header["declared"] == MAX_LENGTH
    assert header["ssl"][0x22] == b"a" * cn_length
    assert header["ssl"][0x21].startswith(b"TLSv1.") and 0x23 in header["ssl"]
    assert rest == payload
    assert echoed == received  # and nothing else came back through the client's side
    assert g.events("proxy_header_incomplete") == []
    assert g.events("close", peer=peer)[0]["decision"] == "accept"


def test_cn_one_byte_longer_leaves_the_cipher_out_and_warns(gate_with_header, pki):
    g, backend = gate_with_header, gate_with_header.backend
    cn_length = room_for_cn(g, pki) + 1
    cert = issue_long_cn_certificate(pki, f"client-cn-{cn_length}", cn_length)
    before = len(backend.received)
    peer, _ = through_gate(g, g.port, pki, cert, b"payload")
    header, rest = split_proxy_header(bytes(backend.received[before:]))
    assert header["declared"] <= MAX_LENGTH
    assert header["ssl"][0x22] == b"a" * cn_length
    assert 0x23 not in header["ssl"] and 0x21 in header["ssl"]
    assert rest == b"payload"
    warning = g.wait_event("proxy_header_incomplete", peer=peer)
    assert len(warning) == 1 and warning[0]["level"] == "warning", warning
    assert warning[0]["left_out"] == "PP2_SUBTYPE_SSL_CIPHER" and warning[0]["listener"] == "test", warning


# 65 512 is the most any CN can have over IPv4 (65 535 - 12 address bytes - 8 of the SSL TLV -
# 3 of its own sub-TLV head); the report's 65 535-byte CN declared 57 bytes and sent 65 593.
@pytest.mark.parametrize("cn_length", [65513, 65535, 70000])
def test_cn_too_long_for_any_header_refuses_the_client_before_the_backend(gate_with_header, pki, cn_length):
    g, backend = gate_with_header, gate_with_header.backend
    cert = issue_long_cn_certificate(pki, f"client-cn-{cn_length}", cn_length)
    connections, received = backend.connections, len(backend.received)
    peer, echoed = through_gate(g, g.port, pki, cert, b"must not reach the backend")
    close = g.events("close", peer=peer)[0]
    assert close["decision"] == "reject", close
    assert close["reason"] == (f"client certificate CN of {cn_length} bytes does not fit in the PROXY v2 header "
                               f"(at most 65512)"), close
    assert echoed == b""
    time.sleep(0.15)  # a wrongly forwarded connection would have reached the backend's accept by now
    assert backend.connections == connections and len(backend.received) == received
