"""`proxy_protocol = true`: the backend connection starts with a PROXY v2 header."""
import struct

from harness import Backend, Ocspgate, free_port, listener_config, recv_exactly, tls_connect, wait_until

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
