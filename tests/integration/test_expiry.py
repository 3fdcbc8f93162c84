"""The certificate expiry monitor ([expiry]): warnings about the listener certificate, the CAs
and client certificates seen in handshakes arrive at a real SMTP server (aiosmtpd), once per
frequency (urgent_frequency within urgent_days), retried until a relay that was down comes up;
/metrics carries the expiry gauges in valid Prometheus text."""
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness import PKI_SCRIPT, Process, expect_accept, faketime_env, free_port, listener_config, wait_until
from prometheus import parse_metrics

SINK = Path(__file__).resolve().parent / "smtp_sink.py"

# Leaf certificates valid 20 days (CAs 10 years): with notify_days = 4000 every certificate is
# in the window, and urgent_days = 25 makes the leaves urgent while the CAs are not.
LEAF_DAYS = 20
WINDOW = 'notify_days = 4000\nurgent_days = 25\n'


@pytest.fixture(scope="module")
def short_pki(tmp_path_factory):
    out = tmp_path_factory.mktemp("short-pki")
    env = dict(os.environ, PKI_DAYS=str(LEAF_DAYS))
    subprocess.run(["bash", str(PKI_SCRIPT), str(out)], check=True, env=env, stdout=subprocess.DEVNULL)
    return out


class SmtpSink(Process):
    """aiosmtpd on 127.0.0.1:port writing each message as JSON into `directory`."""

    def __init__(self, workdir: Path, port: int, directory: Path, tls: tuple[Path, Path] | None = None):
        self.port, self.directory = port, directory
        argv = ["/usr/bin/python3", SINK, port, directory, *(tls or ())]
        super().__init__(argv, workdir / f"smtp-{port}-{time.monotonic_ns()}.log")
        wait_until(lambda: "ready" in self.output() or not self.alive(), 10, "the SMTP sink to listen")
        assert self.alive(), self.output()

    def messages(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted(self.directory.glob("*.json"))]


def expiry_gate(peers, pki, smtp_port, *, expiry="", email_extra="", smtp_timeout="3s", smtp_host="127.0.0.1",
                name="ocspgate"):
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    config = listener_config(pki, port, backend.port) + f"""
[admin]
listen = "127.0.0.1:{admin_port}"

[expiry]
{expiry}

[expiry.email]
smtp = "{smtp_host}:{smtp_port}"
from = "ocspgate@example.com"
to = ["pki-admins@example.com", "noc@example.com"]
timeout = "{smtp_timeout}"
{email_extra}
"""
    gate = peers.gate(config, name=name)
    gate.port, gate.backend, gate.pki, gate.admin_port = port, backend, pki, admin_port
    return gate


def listed(message: dict) -> list[tuple[str, str, str]]:
    """(LEVEL, role, subject) of every certificate an expiry email lists."""
    return re.findall(r"^\[(\w+)\] role=(\S+) .*\n    subject: (.*)$", message["content"], re.M)


def roles_of(message: dict, subject_part: str) -> set[str]:
    return {role for _, role, subject in listed(message) if subject_part in subject}


def test_email_names_the_listener_certificate_its_ca_and_a_client_certificate(peers, short_pki, tmp_path):
    sink = SmtpSink(tmp_path, free_port(), tmp_path / "mail")
    # A relay name is resolved off the loop (localhost: ::1 may come first; the sink is on 127.0.0.1).
    gate = expiry_gate(peers, short_pki, sink.port, expiry=WINDOW + 'frequency = "1h"\nurgent_frequency = "3s"\n',
                       smtp_host="localhost")
    expect_accept(gate, "client-good")
    mail = wait_until(lambda: [m for m in sink.messages() if roles_of(m, "CN=client-good")], 15,
                      "an email naming the client certificate")[0]
    assert mail["mail_from"] == "ocspgate@example.com"
    assert mail["rcpt_tos"] == ["pki-admins@example.com", "noc@example.com"]
    first = sink.messages()[0]
    assert roles_of(first, "CN=localhost") == {"listener"}
    assert "listener_chain" in roles_of(first, "Issuing CA") and "client_ca" in roles_of(first, "Issuing CA")
    assert "client_ca" in roles_of(first, "Root CA")
    assert any(lvl == "URGENT" and role == "peer" for lvl, role, subj in listed(mail) if "CN=client-good" in subj)
    assert "Subject: [ocspgate]" in first["content"]
    # One log line per certificate per warning, with the facts an operator needs.
    line = gate.wait_event("certificate_expiring", role="listener")[0]
    assert line["state"] == "urgent" and line["level"] == "warning" and line["days_left"] in (LEAF_DAYS - 1, LEAF_DAYS) and line["serial"]
    gate.stop_cleanly()


def warning_times(gate, **fields) -> list[float]:
    """When each certificate_expiring line matching `fields` was logged (seconds since the epoch)."""
    from datetime import datetime
    return [datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() for e in gate.events("certificate_expiring", **fields)]


def test_warnings_repeat_per_frequency_and_more_often_when_urgent(peers, short_pki, tmp_path):
    sink = SmtpSink(tmp_path, free_port(), tmp_path / "mail")
    gate = expiry_gate(peers, short_pki, sink.port, expiry=WINDOW + 'frequency = "6s"\nurgent_frequency = "2s"\n')
    time.sleep(14)
    gate.stop_cleanly()
    # Urgent (the listener certificate, 20 days left): every 2 s, never sooner.
    leaf = warning_times(gate, role="listener")
    assert 6 <= len(leaf) <= 8, leaf
    assert all(2.0 <= b - a < 3.0 for a, b in zip(leaf, leaf[1:])), leaf
    # Expiring (the root CA, 10 years left): every 6 s.
    root = [t for t, e in zip(warning_times(gate, role="client_ca"), gate.events("certificate_expiring", role="client_ca"))
            if "Root CA" in e["subject"]]
    assert len(root) == 3, root
    assert all(6.0 <= b - a < 7.0 for a, b in zip(root, root[1:])), root
    # Batched: one email per run that warned (a run warns about the leaves, the root, or both).
    mails = sink.messages()
    assert len(leaf) - 1 <= len(mails) <= len(leaf) + len(root), [m["content"][:300] for m in mails]
    assert sum(1 for m in mails if "client_ca" in roles_of(m, "Root CA")) == 3


def test_relay_down_then_up_gets_the_warning_retried_and_delivered_once(peers, short_pki, tmp_path):
    smtp_port = free_port()
    gate = expiry_gate(peers, short_pki, smtp_port, expiry=WINDOW + 'frequency = "1h"\nurgent_frequency = "1h"\n')
    failed = gate.wait_event("expiry_email_failed", timeout=10)[0]
    assert "ECONNREFUSED" in failed["error"] and failed["attempt"] == 1 and failed["retry_in_ms"] == 1000
    sink = SmtpSink(tmp_path, smtp_port, tmp_path / "mail")
    sent = gate.wait_event("expiry_email_sent", timeout=15)[0]
    assert sent["attempt"] >= 2
    time.sleep(1)
    assert len(sink.messages()) == 1, "delivered more than once"
    assert roles_of(sink.messages()[0], "CN=localhost") == {"listener"}
    gate.stop_cleanly()


def test_starttls_is_used_when_asked_and_the_relay_is_verified(peers, short_pki, tmp_path):
    sink = SmtpSink(tmp_path, free_port(), tmp_path / "mail", tls=(short_pki / "server-chain.pem", short_pki / "server.key"))
    gate = expiry_gate(peers, short_pki, sink.port, expiry=WINDOW + 'frequency = "1h"\nurgent_frequency = "1h"\n',
                       email_extra=f'starttls = true\ntls_ca = "{short_pki}/clients-ca.pem"\n')
    gate.wait_event("expiry_email_sent", timeout=15)
    assert sink.messages()[0]["tls"] is True
    gate.stop_cleanly()


def test_starttls_with_an_untrusted_relay_fails_and_sends_nothing(peers, short_pki, pki, tmp_path):
    sink = SmtpSink(tmp_path, free_port(), tmp_path / "mail", tls=(short_pki / "server-chain.pem", short_pki / "server.key"))
    gate = expiry_gate(peers, short_pki, sink.port, expiry=WINDOW + 'frequency = "1h"\nurgent_frequency = "1h"\n',
                       email_extra=f'starttls = true\ntls_ca = "{pki}/clients-ca.pem"\n')  # another PKI's CAs
    failed = gate.wait_event("expiry_email_failed", timeout=10)[0]
    assert "STARTTLS" in failed["error"], failed
    assert sink.messages() == []
    gate.stop_cleanly()


class FakeRelay:
    """A TCP server on 127.0.0.1 that is not a working SMTP relay: "silent" accepts and never
    speaks, "garbage" greets with bytes that are not SMTP, "reject" refuses the recipients."""

    def __init__(self, mode: str):
        import threading
        self.mode, self.connections = mode, 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.peers = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.peers.append(conn)
            if self.mode == "garbage":
                conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
            elif self.mode == "reject":
                f = conn.makefile("rb")
                conn.sendall(b"220 fake ESMTP\r\n")
                for reply in (b"250-fake\r\n250 8BITMIME\r\n", b"250 sender ok\r\n", b"550 no such user\r\n"):
                    if not f.readline():
                        break
                    conn.sendall(reply)

    def close(self):
        self.sock.close()
        for p in self.peers:
            p.close()


@pytest.mark.parametrize("mode, error", [("silent", "no answer from the relay within 1000 ms (greeting)"),
                                         ("garbage", "not an SMTP reply line"),
                                         ("reject", "RCPT TO:<pki-admins@example.com> refused by")])
def test_a_broken_relay_fails_the_delivery_with_a_clear_error_and_is_retried(peers, short_pki, mode, error):
    relay = FakeRelay(mode)
    try:
        gate = expiry_gate(peers, short_pki, relay.port, expiry='frequency = "1h"\nurgent_frequency = "1h"\n',
                           smtp_timeout="1s")
        failures = gate.wait_event("expiry_email_failed", timeout=15, count=2)
        assert all(error in f["error"] for f in failures), failures
        assert [f["attempt"] for f in failures[:2]] == [1, 2]
        assert relay.connections >= 2
        gate.stop_cleanly()
    finally:
        relay.close()


@pytest.fixture(scope="module")
def expired_pki(tmp_path_factory, pki):
    """A listener certificate issued 30 days ago for 10 days: expired 20 days ago. One
    `openssl req` under libfaketime (a single process: libfaketime's shared state does not
    survive a forking script), next to the session PKI's client CAs."""
    out = tmp_path_factory.mktemp("expired-pki")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "10", "-subj", "/O=ocspgate test/CN=expired-server", "-keyout", out / "server.key",
                    "-out", out / "server-chain.pem"], check=True, env=faketime_env("-30d"),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (out / "clients-ca.pem").write_bytes((pki / "clients-ca.pem").read_bytes())
    return out


def test_an_expired_listener_certificate_is_an_error_repeated_at_the_urgent_frequency(peers, expired_pki, tmp_path):
    sink = SmtpSink(tmp_path, free_port(), tmp_path / "mail")
    gate = expiry_gate(peers, expired_pki, sink.port, expiry='frequency = "1h"\nurgent_frequency = "2s"\n')
    lines = gate.wait_event("certificate_expired", timeout=10, count=2, role="listener")
    assert all(line["level"] == "error" and line["state"] == "expired" for line in lines)
    assert lines[0]["days_left"] in (-21, -20), lines[0]
    mail = wait_until(sink.messages, 10, "an email")[0]
    assert any(level == "EXPIRED" and role == "listener" for level, role, _ in listed(mail)), mail["content"]
    assert "1 expired" in mail["content"]
    # The CAs (10 years) are outside the default 30-day window: not listed, not logged.
    assert not roles_of(mail, "Root CA") and not gate.events("certificate_expiring")
    gate.stop_cleanly()


def http_get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return body


def test_metrics_carry_expiry_gauges_for_configured_and_peer_certificates(peers, short_pki, tmp_path):
    sink = SmtpSink(tmp_path, free_port(), tmp_path / "mail")
    gate = expiry_gate(peers, short_pki, sink.port, expiry=WINDOW + 'frequency = "1h"\nurgent_frequency = "1s"\n')
    expect_accept(gate, "client-good")
    not_after = int(subprocess.check_output(
        ["date", "-d", subprocess.check_output(["openssl", "x509", "-in", short_pki / "server.pem", "-noout",
                                                "-enddate"], text=True).split("=", 1)[1].strip(), "+%s"], text=True))

    def peer_gauge():
        s = parse_metrics(http_get(gate.admin_port, "/metrics").decode())
        return s if any(n == "ocspgate_certificate_days_left" and ("role", "peer") in k for n, k in s) else None

    samples = wait_until(peer_gauge, 5, "a gauge for the client certificate")
    server = {k: v for (n, k), v in samples.items() if n == "ocspgate_certificate_not_after_seconds"
              and ("role", "listener") in k}
    assert list(server.values()) == [not_after]
    assert "CN=localhost" in dict(next(iter(server)))["subject"]
    days = [v for (n, k), v in samples.items() if n == "ocspgate_certificate_days_left" and ("role", "listener") in k]
    assert days and days[0] in (LEAF_DAYS - 1, LEAF_DAYS)
    assert samples[("ocspgate_expiry_emails_total", frozenset({("result", "sent")}))] >= 0
    assert samples[("ocspgate_peer_certificates_tracked", frozenset())] == 1
    gate.stop_cleanly()


def test_expiry_can_be_turned_off(peers, short_pki):
    backend = peers.backend()
    admin_port = free_port()
    gate = peers.gate(listener_config(short_pki, free_port(), backend.port) +
                      f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n[expiry]\nenabled = false\n')
    time.sleep(0.5)
    assert gate.events("certificate_expiring") == []
    assert b"ocspgate_certificate_days_left" not in http_get(admin_port, "/metrics")
    gate.stop_cleanly()


def test_reload_applies_new_expiry_settings_without_repeating_warnings(peers, pki, short_pki, tmp_path):
    import signal
    sink = SmtpSink(tmp_path, free_port(), tmp_path / "mail")
    gate = expiry_gate(peers, pki, sink.port, expiry='frequency = "1h"\nurgent_frequency = "1h"\n')
    time.sleep(1)
    assert gate.events("certificate_expiring") == [], "the session PKI's leaves have 365 days left"
    # A wider window: the listener certificate (365 days) is now due, and warned about once.
    gate.config_path.write_text(gate.config_path.read_text().replace("[expiry]\n", "[expiry]\nnotify_days = 400\n"))
    gate.proc.send_signal(signal.SIGHUP)
    gate.wait_event("reloaded")
    gate.wait_event("certificate_expiring", role="listener")
    wait_until(sink.messages, 10, "the email")
    gate.proc.send_signal(signal.SIGHUP)
    gate.wait_event("reloaded", count=2)
    time.sleep(1.5)
    assert len(gate.events("certificate_expiring", role="listener")) == 1
    assert len(sink.messages()) == 1
    gate.stop_cleanly()
