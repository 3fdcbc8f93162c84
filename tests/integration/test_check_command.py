"""`ocspgate check` (#19 point 5): the real binary runs a listener's revocation profile on one
certificate against a real `openssl ocsp` responder and prints the verdict in the log's words;
exit 0 accept, 1 revoked, 2 unknown or undetermined, 3 usage or config error."""
import json
import subprocess

import pytest

from harness import fetch_ocsp_response, free_port, ocspgate_binary, revocation_config


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
    url = f"http://127.0.0.1:{free_port()}"
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
    down = f"http://127.0.0.1:{free_port()}"
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
    down = f"http://127.0.0.1:{free_port()}"
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
    config = config_for(tmp_path, pki, [], methods=("crl",), crl_files=[pki / "issuing-ca.crl.pem"])
    for cert, code, verdict in (("client-good", 0, "accept"), ("client-revoked", 1, "revoked")):
        r = check("--config", config, "--listener", "test", "--cert", pki / f"{cert}.pem", "--json")
        assert r.returncode == code, (cert, r.stdout, r.stderr)
        out = json.loads(r.stdout)
        assert out["verdict"] == verdict and out["revocation_method"] == "crl", out
        assert out["revocation_source"] == str(pki / "issuing-ca.crl.pem") and out["steps"] == [], out
