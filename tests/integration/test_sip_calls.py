"""The SIP front with real SIP software: sipp as phone (through socat's TLS with a client
certificate) and sipp as the legacy server behind ocspgate, with revocation checked by a real
`openssl ocsp` responder."""
import time

from harness import Backend, free_port, revocation_config
from sip_peers import Socat, SippUas, run_sipp_uac

SUBJECT = "CN=client-good,O=ocspgate test"


def sip_gate(peers, backend_port: int, sip_table: str = ""):
    """ocspgate with protocol = "sip" in front of `backend_port`, revocation by OCSP."""
    responder = peers.responder()
    port = free_port()
    config = revocation_config(peers.pki, port, backend_port, responders=[responder.url])
    gate = peers.gate(config.replace('protocol = "tcp"', 'protocol = "sip"') + sip_table)
    gate.port = port
    return gate


def started(peers, process):
    peers._started.append(process.stop)
    return process


def test_register_and_server_hangup_carry_identity_not_forgeries(peers, tmp_path):
    uas = started(peers, SippUas(tmp_path, "uas_check_identity.xml"))
    gate = sip_gate(peers, uas.port)
    socat = started(peers, Socat(tmp_path, peers.pki, gate.port))

    code, output = run_sipp_uac(tmp_path, "uac_register_call.xml", socat.port)
    assert code == 0, output
    assert uas.wait() == 0, uas.output() + uas.seen()

    seen = uas.seen()
    # Every request from the phone (REGISTER, INVITE, ACK) carried the real identity once and
    # no forged copy; its response (200 to the BYE) lost its forged copy and got nothing added.
    assert seen.count(f"X-Client-Cert-Subject: {SUBJECT}\n") == 3, seen
    assert seen.count("X-Client-Cert-Revocation: good;http://127.0.0.1:") == 3, seen
    assert "forged" not in seen.lower(), seen
    answer_to_bye = seen[seen.rindex("TCP message received"):]
    assert "SIP/2.0 200 OK" in answer_to_bye and "X-Client-Cert" not in answer_to_bye, answer_to_bye
    # The BYE the server sent reached the phone through the same connection (sipp UAC got it,
    # answered 200, and the UAS received that 200: its exit code is 0).
    accept = gate.wait_event("accept")[0]
    assert accept["revocation"] == "good", accept


def test_revoked_phone_cannot_send_a_single_message(peers, tmp_path):
    backend = Backend("echo")
    peers._started.append(backend.close)
    gate = sip_gate(peers, backend.port)
    socat = started(peers, Socat(tmp_path, peers.pki, gate.port, cert="client-revoked"))

    code, output = run_sipp_uac(tmp_path, "uac_register.xml", socat.port)
    assert code != 0, output
    close = gate.wait_event("close", decision="reject")[0]
    assert close["revocation"] == "revoked", close
    time.sleep(0.2)
    assert backend.connections == 0 and backend.received == b"", "the backend was reached"
