"""`ocspgate check` (#19 point 5): the real binary runs a listener's revocation profile on one
certificate against a real `openssl ocsp` responder and prints the verdict in the log's words;
exit 0 accept, 1 revoked, 2 unknown or undetermined, 3 usage or config error."""
import json
import subprocess

import pytest

from harness import fetch_ocsp_response, free_port, ocspgate_binary, refused_port, revocation_config


def check(*args, timeout=30):
    return subprocess.run([ocspgate_binary(), "check", *map(str, args)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, text=True)


def config_for(tmp_path, pki, responders, **kw):
    path = tmp_path / "gate.toml"
    path.write_text(revocation_config(pki, free_port(), free_port(), responders=responders, **kw))
    return path


def fields(text):
    """`key: value` lines into a dict (the responder lines are left out)."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(": ")
        if key != "responder":
            out[key] = value
    return out


@pytest.mark.parametrize("cert, code, verdict, status", [
    ("client-good", 0, "accept", "good"),
    ("client-revoked", 1, "revoked", "revoked"),
    ("client-unknown", 2, "unknown", "unknown"),
])
def test_check_prints_the_verdict_the_listener_would_reach(tmp_path, pki, peers, cert, code, verdict, status):
    responder = peers.responder()
    config = config_for(tmp_path, pki, [responder.url])
    r = check("--config", config, "--listener", "test", "--cert", pki / f"{cert}.pem")
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    out = fields(r.stdout)
    assert out["verdict"] == verdict and out["revocation"] == status, r.stdout
    assert out["revocation_method"] == "ocsp" and out["revocation_source"] == responder.url, r.stdout
    assert out["profile"] == "r" and f"CN={cert}" in out["subject"], r.stdout
    assert f"responder: {responder.url} answered=1 failed=0" in r.stdout, r.stdout
    if verdict == "revoked":
        assert out["revocation_reason"] == "keyCompromise" and out["revocation_time"].endswith("Z"), r.stdout
    # The deciding response's own fields: openssl ocsp -nmin 5 gives nextUpdate, signs with the
    # delegated ocsp-signer and echoes the nonce the profile ("prefer") sends.
    assert out["this_update"].endswith("Z") and out["next_update"].endswith("Z"), r.stdout
    assert out["produced_at"].endswith("Z"), r.stdout
    assert out["signer"] == "delegated" and out["nonce"] == "echoed", r.stdout


def test_json_output_and_an_explicit_chain(tmp_path, pki, peers):
    responder = peers.responder()
    config = config_for(tmp_path, pki, [responder.url])
    r = check("--config", config, "--profile", "r", "--cert", pki / "client-revoked.pem",
              "--chain", pki / "issuing-ca.pem", "--json")
    assert r.returncode == 1, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert out["verdict"] == "revoked" and out["revocation_reason"] == "keyCompromise", out
    assert out["responders"] == [{"responder": responder.url, "answered": 1, "failed": 0}], out


def test_a_responder_that_is_down_gives_undetermined_and_exit_2(tmp_path, pki):
    url = f"http://127.0.0.1:{refused_port()}"
    config = config_for(tmp_path, pki, [url], timeout="500ms")
    r = check("--config", config, "--listener", "test", "--cert", pki / "client-good.pem", "--json")
    assert r.returncode == 2, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert out["verdict"] == "undetermined" and out["revocation"] == "undetermined", out
    assert out["responders"][0]["responder"] == url and out["responders"][0]["failed"] >= 1, out
    assert out["revocation_detail"], "says why no method answered"


def test_usage_and_config_errors_exit_3(tmp_path, pki):
    config = config_for(tmp_path, pki, ["http://127.0.0.1:9"])
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nworkers = "two"\n')
    cert = pki / "client-good.pem"
    cases = [
        ("--config", config, "--listener", "test"),                               # --cert missing
        ("--config", config, "--listener", "nope", "--cert", cert),               # no such listener
        ("--config", config, "--profile", "nope", "--cert", cert),                # no such profile
        ("--config", bad, "--listener", "test", "--cert", cert),                  # invalid config
        ("--config", config, "--listener", "test", "--cert", tmp_path / "none"),  # unreadable cert
        ("--config", config, "--profile", "r", "--cert", cert),                   # no issuer known
        ("--listener", "test", "--cert", cert),                                   # --config missing
        ("--config", config, "--no-such-option"),
    ]
    for args in cases:
        r = check(*args)
        assert r.returncode == 3, (args, r.returncode, r.stdout, r.stderr)
        assert r.stderr.strip(), ("says what is wrong", args)


# --- Offline: `ocspgate check --cert LEAF --issuer CA --response resp.der` judges a saved response. ---

@pytest.mark.parametrize("cert, code, verdict", [("client-good", 0, "accept"), ("client-revoked", 1, "revoked"),
                                                 ("client-unknown", 2, "unknown")])
def test_a_saved_response_is_judged_offline_with_its_fields(tmp_path, pki, peers, cert, code, verdict):
    responder = peers.responder()
    saved = tmp_path / f"{cert}.der"
    fetch_ocsp_response(pki, responder.url, saved, cert=cert, nonce=True)
    before = responder.requests
    r = check("--cert", pki / f"{cert}.pem", "--issuer", pki / "issuing-ca.pem", "--response", saved, "--json")
    assert r.returncode == code, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert out["verdict"] == verdict and out["revocation_source"] == str(saved), out
    assert out["response_status"] == "successful" and out["signer"] == "delegated", out
    assert out["responder_id"].startswith(("byName ", "byKey ")), out
    assert out["this_update"].endswith("Z") and out["next_update"].endswith("Z"), out  # -nmin 5
    assert out["produced_at"].endswith("Z") and out["nonce_present"] is True, out
    assert out["nonce"] == "not_sent", out  # nobody sent it a nonce now: a saved answer
    if verdict == "revoked":
        assert out["revocation_reason"] == "keyCompromise", out
    assert responder.requests == before, "offline: the responder is not asked"


def test_a_response_for_another_certificate_or_garbage_is_no_answer(tmp_path, pki, peers):
    responder = peers.responder()
    saved = tmp_path / "good.der"
    fetch_ocsp_response(pki, responder.url, saved, cert="client-good")
    r = check("--cert", pki / "client-revoked.pem", "--issuer", pki / "issuing-ca.pem", "--response", saved)
    assert r.returncode == 2 and "verdict: undetermined" in r.stdout, (r.stdout, r.stderr)
    assert "no_matching_response" in r.stdout, r.stdout
    garbage = tmp_path / "garbage.der"
    garbage.write_bytes(b"\x30\x03\x0a\x01")
    r = check("--cert", pki / "client-good.pem", "--issuer", pki / "issuing-ca.pem", "--response", garbage)
    assert r.returncode == 2 and "malformed" in r.stdout, (r.stdout, r.stderr)
    r = check("--cert", pki / "client-good.pem", "--issuer", pki / "issuing-ca.pem", "--response", tmp_path / "none")
    assert r.returncode == 3 and r.stderr.strip(), (r.stdout, r.stderr)


def test_every_step_is_listed_in_order_with_its_time(tmp_path, pki, peers):
    """A dead first responder, then a live one: both attempts, in order, with when they ended."""
    down = f"http://127.0.0.1:{refused_port()}"
    responder = peers.responder()
    config = config_for(tmp_path, pki, [down, responder.url])
    r = check("--config", config, "--listener", "test", "--cert", pki / "client-good.pem", "--json")
    assert r.returncode == 0, (r.stdout, r.stderr)
    steps = json.loads(r.stdout)["steps"]
    assert [(s["responder"], s["outcome"]) for s in steps] == [(down, "transport"), (responder.url, "answered")], steps
    assert 0 <= steps[0]["after_ms"] <= steps[1]["after_ms"] < 5000, steps
    text = check("--config", config, "--listener", "test", "--cert", pki / "client-good.pem").stdout
    assert f"step: ocsp {down} transport after " in text and f"step: ocsp {responder.url} answered after " in text, text


def test_each_step_has_its_own_time(tmp_path, pki, peers):
    """A refused responder (at once), a hanging one (its 500 ms timeout), then a live one: each
    attempt carries when it ended, not when the whole query did."""
    down = f"http://127.0.0.1:{refused_port()}"
    hang = peers.fake("hang")
    responder = peers.responder()
    config = config_for(tmp_path, pki, [down, hang.url, responder.url], timeout="500ms")
    r = check("--config", config, "--listener", "test", "--cert", pki / "client-good.pem", "--json")
    assert r.returncode == 0, (r.stdout, r.stderr)
    steps = json.loads(r.stdout)["steps"]
    assert [(s["responder"], s["outcome"]) for s in steps] == \
        [(down, "transport"), (hang.url, "timeout"), (responder.url, "answered")], steps
    assert steps[0]["after_ms"] < 300 <= 400 <= steps[1]["after_ms"] <= steps[2]["after_ms"] < 3000, steps


def test_a_crl_profile_decides_from_its_crl_file(tmp_path, pki):
    """The file read (at load), the download of the certificate's CRL DP (no crl.urls: the
    session PKI's DP is 127.0.0.1:8889, nobody's server here) and the judgement are steps; the
    file is listed as the CRL used."""
    crl_file = pki / "issuing-ca.crl.pem"
    config = config_for(tmp_path, pki, [], methods=("crl",), crl_files=[crl_file])
    for cert, code, verdict in (("client-good", 0, "accept"), ("client-revoked", 1, "revoked")):
        r = check("--config", config, "--listener", "test", "--cert", pki / f"{cert}.pem", "--json")
        assert r.returncode == code, (cert, r.stdout, r.stderr)
        out = json.loads(r.stdout)
        assert out["verdict"] == verdict and out["revocation_method"] == "crl", out
        assert out["revocation_source"] == str(crl_file), out
        steps = out["steps"]
        assert [(s["method"], s["action"], s["source"]) for s in steps] == [
            ("crl", "file", str(crl_file)), ("crl", "download", "http://127.0.0.1:8889/issuing-ca.crl"),
            ("crl", "judge", out["serial"])], steps
        assert steps[0]["outcome"] == "read" and steps[0]["bytes"] == crl_file.stat().st_size, steps
        assert steps[2]["outcome"] == verdict.replace("accept", "good"), steps
        assert [(c["source"], c["use"], c["crl_number"]) for c in out["crls"]] == [(str(crl_file), "used", "2")], out
    text = check("--config", config, "--listener", "test", "--cert", pki / "client-good.pem").stdout
    assert f"step: crl file {crl_file} read bytes={crl_file.stat().st_size} in " in text, text
    assert f"crl: {crl_file} used serial=" in text, text


# --- The CRL method's downloads: each URL with its HTTP status, size and time. ---

def crl_server(peers, pki, name="issuing-ca.crl.der", delay=0.0):
    """An HTTP server answering every GET with the CRL file `name`; with `delay`, a relay in
    front of it that waits that long first (as test_crl_verdicts.py serves CRLs)."""
    origin = peers.fake("body", body=(pki / name).read_bytes(), content_type="application/pkix-crl")
    return peers.fake("proxy", upstream=origin.url, delay=delay) if delay else origin


@pytest.mark.parametrize("cert, code, verdict, status", [("client-good", 0, "accept", "good"),
                                                         ("client-revoked", 1, "revoked", "revoked")])
def test_a_crl_download_is_a_step_with_its_status_size_and_time(tmp_path, pki, peers, cert, code, verdict, status):
    url = crl_server(peers, pki).url + "/issuing-ca.crl"
    size = (pki / "issuing-ca.crl.der").stat().st_size
    config = config_for(tmp_path, pki, [], methods=("crl",), crl_urls=[url])
    r = check("--config", config, "--listener", "test", "--cert", pki / f"{cert}.pem", "--json")
    assert r.returncode == code, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert out["verdict"] == verdict and out["revocation_method"] == "crl" and out["revocation_source"] == url, out
    download, judge = out["steps"]
    assert (download["method"], download["action"], download["source"], download["outcome"]) == \
        ("crl", "download", url, "downloaded"), download
    assert download["http_status"] == 200 and download["bytes"] == size, download
    assert 0 <= download["took_ms"] <= download["after_ms"] < 5000, download
    assert (judge["action"], judge["source"], judge["outcome"]) == ("judge", out["serial"], status), judge
    assert download["after_ms"] <= judge["after_ms"], out["steps"]
    crl, = out["crls"]
    assert (crl["source"], crl["use"], crl["serial"], crl["crl_number"], crl["delta"]) == \
        (url, "used", out["serial"], "2", False), crl
    assert "CN=" in crl["issuer"] and crl["this_update"].endswith("Z") and crl["next_update"].endswith("Z"), crl
    text = check("--config", config, "--listener", "test", "--cert", pki / f"{cert}.pem")
    assert text.returncode == code, (text.stdout, text.stderr)
    assert f"step: crl download {url} downloaded http_status=200 bytes={size} in " in text.stdout, text.stdout
    assert f"step: crl judge {out['serial']} {status} in " in text.stdout, text.stdout
    assert f"crl: {url} used serial={out['serial']} issuer=" in text.stdout and " crl_number=2 " in text.stdout, text.stdout


def test_a_slow_crl_download_shows_its_own_time(tmp_path, pki, peers):
    url = crl_server(peers, pki, delay=0.4).url + "/issuing-ca.crl"
    config = config_for(tmp_path, pki, [], methods=("crl",), crl_urls=[url], timeout="3s")
    r = check("--config", config, "--listener", "test", "--cert", pki / "client-good.pem", "--json")
    assert r.returncode == 0, (r.stdout, r.stderr)
    download = json.loads(r.stdout)["steps"][0]
    assert download["action"] == "download" and 350 <= download["took_ms"] <= download["after_ms"] < 3000, download


def test_a_crl_url_answering_404_is_a_failed_step_and_no_answer(tmp_path, pki, peers):
    url = peers.fake("status", status=404).url + "/issuing-ca.crl"
    config = config_for(tmp_path, pki, [], methods=("crl",), crl_urls=[url])
    r = check("--config", config, "--listener", "test", "--cert", pki / "client-good.pem", "--json")
    assert r.returncode == 2, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert out["verdict"] == "undetermined" and url in out["revocation_detail"], out
    download, judge = out["steps"]
    assert (download["source"], download["outcome"], download["http_status"]) == (url, "HTTP status 404", 404), download
    assert (judge["action"], judge["outcome"]) == ("judge", "error"), judge
    assert "crls" not in out, "no CRL was held"
    text = check("--config", config, "--listener", "test", "--cert", pki / "client-good.pem")
    assert text.returncode == 2, (text.stdout, text.stderr)
    assert f"step: crl download {url} HTTP status 404 http_status=404 bytes=0 in " in text.stdout, text.stdout


def test_a_crl_url_nobody_listens_on_is_a_failed_step(tmp_path, pki):
    url = f"http://127.0.0.1:{free_port()}/issuing-ca.crl"
    config = config_for(tmp_path, pki, [], methods=("crl",), crl_urls=[url])
    r = check("--config", config, "--listener", "test", "--cert", pki / "client-good.pem", "--json")
    assert r.returncode == 2, (r.stdout, r.stderr)
    download = json.loads(r.stdout)["steps"][0]
    assert download["source"] == url and download["outcome"] and "http_status" not in download, download


def test_each_crl_held_is_listed_used_or_not_and_why(tmp_path, pki, peers):
    """The newest CRL decides; an older one of the same CA verifies but does not decide; the
    root's CRL is not used (another issuer), as revocation_detail says (docs/CRL.md)."""
    current = crl_server(peers, pki).url + "/current.crl"
    older = crl_server(peers, pki, "issuing-ca-before.crl.pem").url + "/older.crl"
    root = crl_server(peers, pki, "root-ca.crl.der").url + "/root.crl"
    config = config_for(tmp_path, pki, [], methods=("crl",), crl_urls=[older, root, current])
    r = check("--config", config, "--listener", "test", "--cert", pki / "client-revoked.pem", "--json")
    assert r.returncode == 1, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert sorted(s["source"] for s in out["steps"] if s["action"] == "download") == sorted([current, older, root])
    by_source = {c["source"]: c for c in out["crls"]}
    assert (by_source[current]["use"], by_source[current]["crl_number"]) == ("used", "2"), by_source
    assert (by_source[older]["use"], by_source[older]["crl_number"]) == ("not_deciding", "1"), by_source
    assert by_source[root]["use"] == "not_used" and by_source[root]["reason"].startswith("wrong_issuer: "), by_source
    assert f"{root}: wrong_issuer" in out["revocation_detail"], out


def test_ocsp_failing_then_crl_deciding_lists_both_steps_in_order(tmp_path, pki, peers):
    down = f"http://127.0.0.1:{refused_port()}"
    url = crl_server(peers, pki).url + "/issuing-ca.crl"
    config = config_for(tmp_path, pki, [down], methods=("ocsp", "crl"), crl_urls=[url])
    r = check("--config", config, "--listener", "test", "--cert", pki / "client-revoked.pem", "--json")
    assert r.returncode == 1, (r.stdout, r.stderr)
    out = json.loads(r.stdout)
    assert out["revocation_method"] == "crl" and out["revocation_source"] == url, out
    steps = out["steps"]
    assert [(s["method"], s.get("action"), s.get("responder", s.get("source")), s["outcome"]) for s in steps] == [
        ("ocsp", None, down, "transport"), ("crl", "download", url, "downloaded"),
        ("crl", "judge", out["serial"], "revoked")], steps
    assert steps[0]["after_ms"] <= steps[1]["after_ms"] <= steps[2]["after_ms"], steps
    text = check("--config", config, "--listener", "test", "--cert", pki / "client-revoked.pem").stdout
    lines = [line for line in text.splitlines() if line.startswith("step: ")]
    assert [line.split()[1:3] for line in lines] == [["ocsp", down], ["crl", "download"], ["crl", "judge"]], text
