"""What ocspgate says about a decision, in one vocabulary (docs/ARCHITECTURE.md, "Vocabulary"):
refused connections are counted by a bounded `reason` and say it in the close line
(`refusal`); revoked ones carry the revocation reason and time, expired ones `not_after`;
remembered answers say they were remembered and how old they are; no text is repeated; a
responder set up wrongly gets one warning; held CRLs show their age and nextUpdate; and text
taken from a client certificate never makes a line longer than a few hundred bytes."""
import datetime
import json
import socket
import subprocess
import time

from harness import (expect_accept, expect_reject, free_port, issue_certificate, ocspgate_binary, revocation_config,
                     wait_until)
from prometheus import value
from test_admin import get, metrics

REVOKED = "SSLV3_ALERT_CERTIFICATE_REVOKED"
UNKNOWN = "SSLV3_ALERT_CERTIFICATE_UNKNOWN"
EXPIRED = "SSLV3_ALERT_CERTIFICATE_EXPIRED"


def gate_with_admin(peers, **revocation):
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    config = revocation_config(peers.pki, port, backend.port, **revocation)
    gate = peers.gate(config + f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
    gate.port, gate.backend, gate.pki, gate.admin_port = port, backend, peers.pki, admin_port
    return gate


def parse_utc(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def openssl_date(*args) -> datetime.datetime:
    """A date printed by `openssl ... -noout -enddate` (or -lastupdate, -nextupdate)."""
    out = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, check=True).stdout
    text = " ".join(out.strip().split("=", 1)[1].split())  # "Dec  7 05:00:00 2026 GMT", single spaces
    return datetime.datetime.strptime(text, "%b %d %H:%M:%S %Y GMT").replace(tzinfo=datetime.timezone.utc)


def test_refusals_are_counted_by_reason_and_the_close_line_names_it(peers):
    ocsp = peers.responder()
    gate = gate_with_admin(peers, responders=[ocsp.url])
    expect_accept(gate, "client-good")
    revoked = expect_reject(gate, "client-revoked", REVOKED)
    assert revoked["refusal"] == "revoked", revoked
    try:
        expect_reject(gate, "client-untrusted", UNKNOWN)
    except AssertionError:  # the alert for an unknown CA depends on the OpenSSL version
        pass
    untrusted = wait_until(lambda: gate.events("close", refusal="untrusted"), 5, "the untrusted close line")[0]
    assert untrusted["decision"] == "reject", untrusted
    wait_until(lambda: value(metrics(gate), "ocspgate_connections_total", listener="test", decision="reject",
                             reason="untrusted") == 1, 5, "the untrusted refusal to be counted")
    m = metrics(gate)
    assert value(m, "ocspgate_connections_total", listener="test", decision="reject", reason="revoked") == 1
    assert value(m, "ocspgate_connections_total", listener="test", decision="accept") == 1
    reasons = {dict(labels).get("reason") for (name, labels) in m if name == "ocspgate_connections_total"}
    # Every reason is a series of its own, present from the start (zero): a closed set.
    assert {"revoked", "unknown", "undetermined", "expired", "untrusted", "no_certificate",
            "handshake_timeout"} <= reasons, reasons
    gate.stop_cleanly()


def test_a_client_without_a_certificate_is_refused_as_no_certificate(peers):
    ocsp = peers.responder()
    gate = gate_with_admin(peers, responders=[ocsp.url])
    try:
        expect_reject(gate, None, "TLSV13_ALERT_CERTIFICATE_REQUIRED")
    except AssertionError:
        pass  # TLS 1.2 peers see handshake_failure; the close line is what is checked here
    close = wait_until(lambda: gate.events("close", decision="reject"), 5, "the close line")[0]
    assert close["refusal"] == "no_certificate", close
    wait_until(lambda: value(metrics(gate), "ocspgate_connections_total", listener="test", decision="reject",
                             reason="no_certificate") == 1, 5, "the refusal to be counted")
    gate.stop_cleanly()


def test_a_revoked_certificate_logs_the_revocation_reason_and_time_from_ocsp(peers):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url])
    close = expect_reject(gate, "client-revoked", REVOKED)
    # tests/pki/make-pki.sh revokes client-revoked an hour before the PKI is made, keyCompromise.
    assert close["revocation_reason"] == "keyCompromise", close
    revoked_at = parse_utc(close["revocation_time"])
    now = datetime.datetime.now(datetime.timezone.utc)
    assert now - datetime.timedelta(days=30) < revoked_at < now, close
    gate.stop_cleanly()


def test_a_revoked_certificate_logs_the_revocation_reason_and_time_from_a_crl(peers, pki):
    gate = peers.proxy(methods=["crl"], crl_files=[pki / "issuing-ca.crl.pem"])
    close = expect_reject(gate, "client-revoked", REVOKED)
    assert close["revocation_method"] == "crl", close
    assert close["revocation_reason"] == "keyCompromise", close
    assert parse_utc(close["revocation_time"]) < datetime.datetime.now(datetime.timezone.utc), close
    gate.stop_cleanly()


def test_an_expired_certificate_logs_not_after(peers, pki):
    pem = issue_certificate(pki, pki, "client-expiring-vocab", "client-expiring-vocab", valid_seconds=1)
    not_after = openssl_date("x509", "-in", pem, "-noout", "-enddate")
    time.sleep(2.5)
    ocsp = peers.responder()
    gate = gate_with_admin(peers, responders=[ocsp.url])
    close = expect_reject(gate, "client-expiring-vocab", EXPIRED)
    assert close["refusal"] == "expired", close
    assert parse_utc(close["not_after"]) == not_after, close
    wait_until(lambda: value(metrics(gate), "ocspgate_connections_total", listener="test", decision="reject",
                             reason="expired") == 1, 5, "the refusal to be counted")
    gate.stop_cleanly()


def test_an_answer_from_the_status_cache_says_cache_and_its_age(peers):
    ocsp = peers.responder()
    gate = peers.proxy(responders=[ocsp.url])
    first = expect_accept(gate, "client-good")
    assert first["revocation_source"] == ocsp.url and "revocation_age_s" not in first, first
    time.sleep(1.2)
    second = expect_accept(gate, "client-good")
    assert second["revocation_source"] == "cache", second
    assert second["revocation_age_s"] >= 1, second
    gate.stop_cleanly()


def test_a_remembered_failure_says_so_and_the_url_appears_once(peers):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    gate = peers.proxy(responders=[url])
    first = expect_reject(gate, "client-good", UNKNOWN)
    detail = first["revocation_detail"]
    assert detail.count(url) == 1, detail  # was "ocsp: URL: URL: connection refused"
    assert "remembered" not in detail, detail
    time.sleep(1.1)
    second = expect_reject(gate, "client-good", UNKNOWN)
    detail = second["revocation_detail"]
    assert detail.count(url) == 1, detail
    assert "remembered failure, 1 s old" in detail or "remembered failure, 2 s old" in detail, detail
    gate.stop_cleanly()


def test_an_unauthorised_signer_is_warned_about_once_even_when_the_crl_decides(peers, pki):
    bad = peers.responder(signer="ocsp-noeku")
    gate = peers.proxy(responders=[bad.url], methods=["ocsp", "crl"], crl_files=[pki / "issuing-ca.crl.pem"])
    # client-noaia is another certificate, so its own query meets the same signer: no second warning.
    for cert in ("client-good", "client-noaia", "client-good"):
        close = expect_accept(gate, cert)
        assert close["revocation_method"] == "crl", close
    warnings = gate.events("revocation_config_problem")
    assert len(warnings) == 1, warnings
    w = warnings[0]
    assert (w["level"], w["profile"], w["responder"], w["kind"]) == ("warning", "r", bad.url, "unauthorized_signer"), w
    gate.stop_cleanly()


def test_held_crls_show_their_age_and_next_update_in_metrics_and_status(peers, pki):
    crl = pki / "issuing-ca.crl.pem"
    gate = gate_with_admin(peers, methods=["crl"], crl_files=[crl])
    this_ts = openssl_date("crl", "-in", crl, "-noout", "-lastupdate").timestamp()
    next_ts = openssl_date("crl", "-in", crl, "-noout", "-nextupdate").timestamp()
    m = metrics(gate)
    age = value(m, "ocspgate_crl_age_seconds", profile="r", crl=str(crl))
    assert abs(age - (time.time() - this_ts)) <= 5, (age, this_ts)
    assert value(m, "ocspgate_crl_next_update_seconds", profile="r", crl=str(crl)) == int(next_ts)
    status = json.loads(get(gate.admin_port, "/status")[2])
    held = status["held_crls"]
    assert [(h["profile"], h["crl"]) for h in held] == [("r", str(crl))], held
    assert parse_utc(held[0]["next_update"]).timestamp() == next_ts, held
    out = subprocess.run([ocspgate_binary(), "status", "--admin", f"127.0.0.1:{gate.admin_port}"],
                         capture_output=True, text=True, timeout=15)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    rows = lines[lines.index("CRLs held") + 2:]
    assert rows and rows[0].split()[0] == "r" and parse_utc(rows[0].split()[4]).timestamp() == next_ts, out.stdout
    gate.stop_cleanly()


def test_a_huge_certificate_subject_is_capped_in_the_log(peers, pki, tmp_path):
    name = "client-huge-subject"
    units = "".join(f"/OU={i:04d}" + "x" * 56 for i in range(600))  # ~37 KB of subject
    csr, pem = tmp_path / f"{name}.csr", pki / f"{name}.pem"
    (tmp_path / "ext").write_text("basicConstraints = CA:FALSE\nkeyUsage = digitalSignature\n"
                                  "extendedKeyUsage = clientAuth\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", pki / f"{name}.key", "-out", csr, "-subj", f"/O=ocspgate test{units}/CN=huge"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", pki / "issuing-ca.pem", "-CAkey",
                    pki / "issuing-ca.key", "-CAcreateserial", "-CAserial", tmp_path / "serial.srl", "-days", "2",
                    "-sha256", "-extfile", tmp_path / "ext", "-out", pem], check=True, capture_output=True)
    (pki / f"{name}-chain.pem").write_bytes(pem.read_bytes() + (pki / "issuing-ca.pem").read_bytes())
    gate = peers.proxy(methods=["none"])
    close = expect_accept(gate, name)
    assert close["subject"].endswith(" bytes]") and "...[truncated, " in close["subject"], close["subject"][-80:]
    assert len(close["subject"].encode()) < 320, len(close["subject"])
    longest = max(len(line) for line in gate.output().splitlines())
    assert longest < 4096, longest  # every line, the accept line too
    gate.stop_cleanly()


def test_a_silent_client_is_refused_as_handshake_timeout(peers):
    ocsp = peers.responder()
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    config = revocation_config(peers.pki, port, backend.port, responders=[ocsp.url], handshake_timeout="500ms")
    gate = peers.gate(config + f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n')
    gate.admin_port = admin_port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        peer = f"127.0.0.1:{s.getsockname()[1]}"
        assert s.recv(1) == b""  # closed by ocspgate, nothing sent
    close = gate.wait_event("close", peer=peer)[0]
    assert (close["decision"], close["refusal"]) == ("reject", "handshake_timeout"), close
    wait_until(lambda: value(metrics(gate), "ocspgate_connections_total", listener="test", decision="reject",
                             reason="handshake_timeout") == 1, 5, "the refusal to be counted")
    gate.stop_cleanly()
