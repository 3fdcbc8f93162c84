"""Kamailio as the legacy registrar behind ocspgate: a phone (sipp through socat's TLS)
registers; Kamailio (tests/integration/sip/kamailio.cfg) accepts only REGISTERs that carry
ocspgate's identity headers and logs what it saw. With proxy_protocol = true and Kamailio's
tcp_accept_haproxy, Kamailio sees the phone's own address instead of ocspgate's."""
import re

from harness import free_port, revocation_config, wait_until
from sip_peers import Kamailio, Socat, run_sipp_uac

SUBJECT = "CN=client-good,O=ocspgate test"


def registrar_behind_gate(peers, tmp_path, proxy_protocol: bool):
    kamailio = Kamailio(tmp_path, defines=["WITH_PROXY_PROTOCOL"] if proxy_protocol else [])
    peers._started.append(kamailio.stop)
    responder = peers.responder()
    port = free_port()
    config = revocation_config(peers.pki, port, kamailio.port, responders=[responder.url],
                               extra_listener=f"proxy_protocol = {str(proxy_protocol).lower()}")
    gate = peers.gate(config.replace('protocol = "tcp"', 'protocol = "sip"'))
    socat = Socat(tmp_path, peers.pki, port)
    peers._started.append(socat.stop)
    return kamailio, gate, socat


def registered_line(kamailio) -> str:
    return wait_until(lambda: next((l for l in kamailio.output().splitlines() if "ocspgate-test: REGISTER" in l), None),
                      10, "Kamailio to log the REGISTER")


def test_kamailio_registers_a_phone_with_its_certificate_identity(peers, tmp_path):
    kamailio, gate, socat = registrar_behind_gate(peers, tmp_path, proxy_protocol=False)
    code, output = run_sipp_uac(tmp_path, "uac_register.xml", socat.port)
    assert code == 0, output + kamailio.output()[-3000:]
    line = registered_line(kamailio)
    assert f"subject=[{SUBJECT}]" in line, line
    assert "revocation=[good;http://127.0.0.1:" in line, line
    assert "proto=tcp" in line, line


def test_kamailio_sees_the_phone_address_through_proxy_protocol(peers, tmp_path):
    kamailio, gate, socat = registrar_behind_gate(peers, tmp_path, proxy_protocol=True)
    code, output = run_sipp_uac(tmp_path, "uac_register.xml", socat.port)
    assert code == 0, output + kamailio.output()[-3000:]
    line = registered_line(kamailio)
    assert f"subject=[{SUBJECT}]" in line, line
    # The phone's TCP connection as ocspgate accepted it (socat's side), not ocspgate's own.
    # Kamailio 5.6.3 (Debian 12) reads the PROXY v2 ports byte-swapped (kamailio/kamailio#3683;
    # ocspgate's header is checked byte for byte in test_proxy_protocol.py), so accept that too.
    phone_host, phone_port = gate.wait_event("accept")[0]["peer"].rsplit(":", 1)
    source_host, source_port = re.search(r"src=(\S+)", line).group(1).rsplit(":", 1)
    swapped = int.from_bytes(int(phone_port).to_bytes(2, "big"), "little")
    assert source_host == phone_host, line
    assert int(source_port) in (int(phone_port), swapped), (phone_port, line)
