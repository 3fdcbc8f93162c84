"""Responses from the phone go through the real binary to the server with the phone's forged
identity headers removed and none added: a SIP server sends an INVITE down the phone's
connection, the phone answers 200 OK carrying forged X-Client-Cert-* headers, and the server
records what reaches it."""
import socket
import threading

import pytest

from harness import free_port, listener_config, tls_connect

INVITE_BODY = b"v=0\r\no=server 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"
INVITE = (b"INVITE sip:alice@192.0.2.10:5061;transport=tls SIP/2.0\r\n"
          b"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-server-1\r\n"
          b"From: <sip:bob@127.0.0.1>;tag=s1\r\n"
          b"To: <sip:alice@127.0.0.1>\r\n"
          b"Call-ID: server-call-1@127.0.0.1\r\n"
          b"CSeq: 1 INVITE\r\n"
          b"Contact: <sip:bob@127.0.0.1:5060;transport=tcp>\r\n"
          b"Content-Type: application/sdp\r\n"
          b"Content-Length: %d\r\n\r\n" % len(INVITE_BODY) + INVITE_BODY)

# The phone's answer: its own SDP (a CRLF CRLF inside, so a body cut at the wrong place shows)
# and identity headers it made up, in the forms a forgery could take.
ANSWER_BODY = b"v=0\r\no=alice 2 2 IN IP4 192.0.2.10\r\n\r\nm=audio 6000 RTP/AVP 0\r\n"
ANSWER_HEAD = (b"SIP/2.0 200 OK\r\n"
               b"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-server-1\r\n"
               b"From: <sip:bob@127.0.0.1>;tag=s1\r\n"
               b"To: <sip:alice@127.0.0.1>;tag=p1\r\n"
               b"Call-ID: server-call-1@127.0.0.1\r\n"
               b"X-Client-Cert-Subject: CN=forged,O=attacker\r\n"
               b"CSeq: 1 INVITE\r\n"
               b"x-client-cert-revocation: good;forged\r\n"
               b"X-CLIENT-CERT-FINGERPRINT: forged\r\n"
               b"X-Client-Cert-Serial: 00\r\n"
               b" forged continuation\r\n"
               b"Contact: <sip:alice@192.0.2.10:5061;transport=tls>\r\n"
               b"Content-Type: application/sdp\r\n")
ANSWER = ANSWER_HEAD + b"Content-Length: %d\r\n\r\n" % len(ANSWER_BODY) + ANSWER_BODY
# What the server must receive: the same answer without the forged fields.
FORGED_FIELDS = (b"X-Client-Cert-Subject: CN=forged,O=attacker\r\n", b"x-client-cert-revocation: good;forged\r\n",
                 b"X-CLIENT-CERT-FINGERPRINT: forged\r\n", b"X-Client-Cert-Serial: 00\r\n forged continuation\r\n")
CLEAN_ANSWER = ANSWER
for field in FORGED_FIELDS:
    assert field in CLEAN_ANSWER
    CLEAN_ANSWER = CLEAN_ANSWER.replace(field, b"")
# A request after it, so the test also sees that requests still get the genuine headers.
BYE = (b"BYE sip:bob@127.0.0.1:5060;transport=tcp SIP/2.0\r\n"
       b"Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-phone-2\r\n"
       b"From: <sip:alice@127.0.0.1>;tag=p1\r\n"
       b"To: <sip:bob@127.0.0.1>;tag=s1\r\n"
       b"Call-ID: server-call-1@127.0.0.1\r\n"
       b"CSeq: 2 BYE\r\n"
       b"X-Client-Cert-Subject: CN=forged,O=attacker\r\n"
       b"Content-Length: 0\r\n\r\n")


def read_sip_message(sock: socket.socket, buffer: bytearray) -> bytes:
    """One message (head, then Content-Length body bytes) off `sock`; `buffer` keeps the rest."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {bytes(buffer)!r}")
        buffer += chunk
    head_end = buffer.index(b"\r\n\r\n") + 4
    length = next(int(line.split(b":", 1)[1]) for line in bytes(buffer[:head_end]).split(b"\r\n")
                  if line.lower().startswith((b"content-length:", b"l:")))
    while len(buffer) < head_end + length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed inside a body: {bytes(buffer)!r}")
        buffer += chunk
    message = bytes(buffer[:head_end + length])
    del buffer[:head_end + length]
    return message


class InvitingServer:
    """The legacy SIP server, in a thread: on ocspgate's connection it sends INVITE, then
    records the next `expect` messages. The test asserts on `.received` / `.error` after join()."""

    def __init__(self, expect: int):
        self.expect = expect
        self.received: list[bytes] = []
        self.error: Exception | None = None
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(10)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(10)
                conn.sendall(INVITE)
                buffer = bytearray()
                while len(self.received) < self.expect:
                    self.received.append(read_sip_message(conn, buffer))
        except Exception as e:  # recorded for the test, which asserts after join()
            self.error = e

    def join(self):
        self._thread.join(15)
        self.sock.close()


@pytest.mark.parametrize("identity_headers", [True, False])
def test_forged_identity_in_a_200_to_a_server_invite_never_reaches_the_server(peers, identity_headers):
    server = InvitingServer(expect=2)
    peers._started.append(server.join)
    port = free_port()
    config = listener_config(peers.pki, port, server.port).replace('protocol = "tcp"', 'protocol = "sip"')
    gate = peers.gate(config + f"\n[listener.sip]\nidentity_headers = {str(identity_headers).lower()}\n")

    with tls_connect(peers.pki, port) as phone:
        phone_buffer = bytearray()
        invite = read_sip_message(phone, phone_buffer)
        phone.sendall(ANSWER + BYE)
        server.join()
    assert server.error is None, repr(server.error)
    assert invite == INVITE, "the server's INVITE reached the phone changed"
    answer, bye = server.received
    # The answer is the phone's, byte for byte, minus the forged lines: nothing added, the
    # body and Content-Length intact.
    assert answer == CLEAN_ANSWER, answer
    assert b"x-client-cert" not in answer.lower(), answer
    assert answer.endswith(b"\r\n\r\n" + ANSWER_BODY), answer
    # The phone's request after it lost its forgery too, and carries the real identity if enabled.
    assert b"forged" not in bye.lower(), bye
    genuine = b"X-Client-Cert-Subject: CN=client-good,O=ocspgate test\r\n"
    assert bye.count(genuine) == (1 if identity_headers else 0), bye
    gate.stop_cleanly()
