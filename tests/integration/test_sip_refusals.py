"""The SIP front's own answers, seen by a TLS client on the wire: CRLF keep-alive pongs, and
400 / 513 refusals that close the connection before anything reaches the backend."""
import time

from harness import Backend, MemoryTlsClient, free_port, listener_config, recv_exactly, tls_connect

REGISTER_HEAD = (b"REGISTER sip:127.0.0.1 SIP/2.0\r\n"
                 b"Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-77\r\n"
                 b"From: <sip:alice@127.0.0.1>;tag=a77\r\n"
                 b"To: <sip:alice@127.0.0.1>\r\n"
                 b"Call-ID: refusal-77@192.0.2.10\r\n"
                 b"CSeq: 77 REGISTER\r\n")


def sip_gate(peers, sip_table: str = ""):
    backend = Backend("echo")
    peers._started.append(backend.close)
    port = free_port()
    config = listener_config(peers.pki, port, backend.port).replace('protocol = "tcp"', 'protocol = "sip"')
    gate = peers.gate(config + sip_table)
    gate.port, gate.backend, gate.pki = port, backend, peers.pki
    return gate


def refused(gate, data: bytes) -> bytes:
    """Sends `data`, reads until ocspgate closes; asserts that it closed and that the backend
    received nothing."""
    client = MemoryTlsClient(gate.pki, gate.port)
    client.send(data)
    answer, _ = client.read_to_end()
    client.close()
    time.sleep(0.1)
    assert gate.backend.received == b"", gate.backend.received
    return answer


def test_double_crlf_ping_is_answered_with_one_crlf(peers):
    gate = sip_gate(peers)
    with tls_connect(peers.pki, gate.port) as c:
        c.sendall(b"\r\n\r\n")
        assert recv_exactly(c, 2) == b"\r\n"
        c.sendall(REGISTER_HEAD + b"Content-Length: 0\r\n\r\n")  # still open and forwarding
        echoed = recv_exactly(c, len(REGISTER_HEAD) + 100)
    assert echoed.startswith(REGISTER_HEAD[:30]), echoed
    assert bytes(gate.backend.received).startswith(b"REGISTER "), "the ping went to the backend"
    gate.stop_cleanly()


def test_ping_passes_to_the_backend_when_configured(peers):
    gate = sip_gate(peers, '\n[listener.sip]\nkeepalive = "pass"\n')
    with tls_connect(peers.pki, gate.port) as c:
        c.sendall(b"\r\n\r\n")
        assert recv_exactly(c, 4) == b"\r\n\r\n"  # the echo backend's copy
    assert gate.backend.received == b"\r\n\r\n"


def test_request_without_content_length_is_answered_400_and_closed(peers):
    gate = sip_gate(peers)
    answer = refused(gate, REGISTER_HEAD + b"\r\n")
    assert answer.startswith(b"SIP/2.0 400 Bad Request\r\n"), answer
    assert b"\r\nVia: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-77\r\n" in answer, answer
    assert b"\r\nCall-ID: refusal-77@192.0.2.10\r\n" in answer, answer
    assert b"\r\nCSeq: 77 REGISTER\r\n" in answer, answer
    assert answer.endswith(b"Content-Length: 0\r\n\r\n"), answer
    close = gate.wait_event("close")[0]
    assert close["reason"] == "sip: missing Content-Length (mandatory over TLS)", close


def test_garbage_is_closed_without_reaching_the_backend(peers):
    gate = sip_gate(peers)
    assert refused(gate, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == b""
    assert gate.wait_event("close")[0]["reason"] == "sip: malformed start line"


def test_oversized_request_is_answered_513_and_closed(peers):
    gate = sip_gate(peers, "\n[listener.sip]\nmax_message_size = 2048\n")
    body = b"x" * 4096
    answer = refused(gate, REGISTER_HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert answer.startswith(b"SIP/2.0 513 Message Too Large\r\n"), answer
    assert b"\r\nCall-ID: refusal-77@192.0.2.10\r\n" in answer, answer
    assert gate.wait_event("close")[0]["reason"] == "sip: message larger than max_message_size"
