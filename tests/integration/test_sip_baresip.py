"""A native SIP-over-TLS phone: baresip registers through ocspgate (TLS with its client
certificate) at Kamailio, which accepts only REGISTERs that carry ocspgate's identity headers."""
import shutil

import pytest

from harness import Process, free_port, revocation_config, wait_until
from sip_peers import Kamailio

pytestmark = pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip is not installed")

SUBJECT = "CN=client-good,O=ocspgate test"


def baresip(tmp_path, pki, gate_port: int) -> Process:
    home = tmp_path / "baresip"
    home.mkdir()
    (home / "config").write_text(f"""
sip_listen 127.0.0.1:0
sip_certificate {pki / 'client-good-combined.pem'}
sip_cafile {pki / 'clients-ca.pem'}
module_path /usr/lib/baresip/modules
module g711.so
module_app account.so
""")
    (home / "accounts").write_text(
        f"<sip:alice@127.0.0.1:{gate_port};transport=tls>;regint=60;auth_pass=unused\n")
    return Process(["baresip", "-f", home, "-t", "15"], tmp_path / "baresip.log")


def test_baresip_registers_over_tls_through_the_gate(peers, tmp_path):
    kamailio = Kamailio(tmp_path)
    peers._started.append(kamailio.stop)
    responder = peers.responder()
    port = free_port()
    config = revocation_config(peers.pki, port, kamailio.port, responders=[responder.url])
    gate = peers.gate(config.replace('protocol = "tcp"', 'protocol = "sip"'))
    phone = baresip(tmp_path, peers.pki, port)
    peers._started.append(phone.stop)

    line = wait_until(lambda: next((l for l in kamailio.output().splitlines() if "ocspgate-test: REGISTER" in l), None),
                      15, "Kamailio to log baresip's REGISTER")
    assert f"subject=[{SUBJECT}]" in line, line
    wait_until(lambda: "200 OK" in phone.output(), 10, "baresip to report its registration")
    accept = gate.wait_event("accept")[0]
    assert accept["subject"] == SUBJECT and accept["revocation"] == "good", accept
