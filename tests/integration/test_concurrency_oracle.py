"""The concurrency oracle: concurrent handshakes get the verdict each would get alone.

For each scenario (a revocation profile and a scripted state of its responders and CRL
servers) and each phase of it, the oracle first asks a fresh ocspgate about every certificate
one at a time ("alone"). Then a second ocspgate, started cold, takes many real TLS clients at
once, with the certificates shuffled and their starts jittered, in several rounds: cold cache,
warm cache, and (where the scenario has short TTLs) after its cached answers expired. Every
outcome (accepted and echoed, or refused with which alert) must equal the same certificate's
outcome alone. A phase may keep the previous phase's ocspgate after its caches' TTLs have
passed, so recovery is judged too.

Bounded: CI runs one pass with a fixed seed (seconds). `make oracle` runs more rounds with a
random seed, printed, so a failure can be replayed:
  OCSPGATE_ORACLE_SEED=N OCSPGATE_ORACLE_ROUNDS=R pytest test_concurrency_oracle.py
"""
from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import Callable

import pytest

from concurrent_clients import attempt, run_together
from harness import refused_port

SEED = int(os.environ.get("OCSPGATE_ORACLE_SEED", "20261207"))
ROUNDS = int(os.environ.get("OCSPGATE_ORACLE_ROUNDS", "1"))  # passes of cold/warm/expired rounds
CLIENTS = int(os.environ.get("OCSPGATE_ORACLE_CLIENTS", "18"))
CERTS = ["client-good", "client-revoked", "client-unknown", "client-extra-01", "client-extra-02", "client-noaia"]
SHORT_TTL = 1.0  # seconds; the cache TTLs of scenarios that let answers expire


@dataclass
class Phase:
    name: str
    enter: Callable[[], None] = lambda: None  # sets the peers' state
    keep_gate: bool = False                   # judge the previous phase's ocspgate (caches expired)


@dataclass
class Scenario:
    profile: dict
    phases: list[Phase] = field(default_factory=lambda: [Phase("steady")])
    expiring: bool = False  # answers expire after SHORT_TTL: add a round after they have


class World:
    """The peers of one scenario: a real `openssl ocsp` per CA and CRL servers, each behind a
    relay whose mode and delay the phases change."""

    def __init__(self, peers, pki):
        self.peers, self.pki = peers, pki
        self.leaf_ocsp = peers.responder(name="leaves")
        self.root_ocsp = peers.responder(name="roots", index=pki / "root-index.txt", ca="root-ca", signer="root-ca")
        self.ocsp = peers.fake("proxy", upstream=self.leaf_ocsp.url, delay=0.05)
        self.crl_origin = peers.fake("body", body=(pki / "issuing-ca.crl.der").read_bytes(),
                                     content_type="application/pkix-crl")
        self.crl = peers.fake("proxy", upstream=self.crl_origin.url, delay=0.05)
        self.root_crl_origin = peers.fake("body", body=(pki / "root-ca-revoked.crl.der").read_bytes(),
                                          content_type="application/pkix-crl")
        self.root_crl = peers.fake("proxy", upstream=self.root_crl_origin.url, delay=0.05)
        self.dead = f"http://127.0.0.1:{refused_port()}"

    def set(self, relay, mode="proxy", delay=0.05, status=500):
        relay.mode, relay.delay, relay.status = mode, delay, status


def scenarios(w: World) -> dict[str, Scenario]:
    crl_url = w.crl.url + "/issuing.crl"
    short = f'max_cache_ttl = "{int(SHORT_TTL * 1000)}ms"\nerror_cache_ttl = "{int(SHORT_TTL * 1000)}ms"\nstale_if_error = "0s"'
    return {
        "ocsp-leaf": Scenario(dict(responders=[w.ocsp.url])),
        "ocsp-leaf-slow-unknown-next-crl": Scenario(
            dict(responders=[w.ocsp.url], unknown="next", methods=["ocsp", "crl"], crl_urls=[crl_url]),
            [Phase("slow", lambda: (w.set(w.ocsp, delay=0.3), w.set(w.crl, delay=0.3)))]),
        "crl-leaf": Scenario(dict(methods=["crl"], crl_urls=[crl_url])),
        "crl-leaf-slow": Scenario(dict(methods=["crl"], crl_urls=[crl_url]),
                                  [Phase("slow", lambda: w.set(w.crl, delay=0.3))]),
        "dead-ocsp-then-crl": Scenario(dict(responders=[w.dead], methods=["ocsp", "crl"], crl_urls=[crl_url])),
        "ocsp-chain": Scenario(dict(responders=[w.ocsp.url], check="chain",
                                    issuers=[(w.pki / "root-ca.pem", [w.root_ocsp.url])])),
        "crl-chain-revoked-intermediate": Scenario(
            dict(methods=["crl"], check="chain", crl_urls=[crl_url, w.root_crl.url + "/root.crl"])),
        "ocsp-failing-then-recovering": Scenario(
            dict(responders=[w.ocsp.url], extra_ocsp=short),
            [Phase("failing", lambda: w.set(w.ocsp, mode="status")),
             Phase("recovered", lambda: w.set(w.ocsp), keep_gate=True)]),
        "ocsp-expiring-then-crl-fallback": Scenario(
            dict(responders=[w.ocsp.url], methods=["ocsp", "crl"], crl_urls=[crl_url], extra_ocsp=short),
            [Phase("answering"), Phase("responder hangs", lambda: w.set(w.ocsp, mode="hang"), keep_gate=True)],
            expiring=True),
    }


def alone(peers, pki, profile) -> dict[str, tuple]:
    gate = peers.proxy(extra_server="workers = 1", **profile)
    verdicts = {cert: attempt(pki, gate.port, cert) for cert in CERTS}
    gate.stop_cleanly()
    return verdicts


def together(pki, port, rng, round_name) -> list[tuple[str, str, tuple]]:
    certs = [CERTS[i % len(CERTS)] for i in range(CLIENTS)]
    rng.shuffle(certs)
    outcomes = run_together(pki, port, certs, jitter=0.010, rng=rng)
    return [(round_name, c, o) for c, o in zip(certs, outcomes)]


@pytest.mark.parametrize("name", ["ocsp-leaf", "ocsp-leaf-slow-unknown-next-crl", "crl-leaf", "crl-leaf-slow",
                                  "dead-ocsp-then-crl", "ocsp-chain", "crl-chain-revoked-intermediate",
                                  "ocsp-failing-then-recovering", "ocsp-expiring-then-crl-fallback"])
def test_concurrent_verdicts_equal_the_verdicts_alone(peers, pki, name):
    rng = random.Random(f"{SEED}/{name}")
    world = World(peers, pki)
    scenario = scenarios(world)[name]
    mismatches, gate = [], None
    for phase in scenario.phases:
        phase.enter()
        expected = alone(peers, pki, scenario.profile)
        if gate is None or not phase.keep_gate:
            if gate is not None:
                gate.stop_cleanly()
            gate = peers.proxy(extra_server="workers = 2", **scenario.profile)
        else:
            time.sleep(SHORT_TTL + 0.3)  # what the last phase cached has expired
        outcomes = []
        for n in range(ROUNDS):
            outcomes += together(pki, gate.port, rng, f"{phase.name}: pass {n} cold-or-carried")
            outcomes += together(pki, gate.port, rng, f"{phase.name}: pass {n} warm")
            if scenario.expiring:
                time.sleep(SHORT_TTL + 0.3)
                outcomes += together(pki, gate.port, rng, f"{phase.name}: pass {n} expired")
        mismatches += [(r, c, o, expected[c]) for r, c, o in outcomes if o != expected[c]]
        assert len(set(expected.values())) > 1 or name == "crl-chain-revoked-intermediate" or \
            phase.name == "failing", f"phase {phase.name} cannot tell certificates apart: {expected}"
    gate.stop_cleanly()
    assert not mismatches, (f"seed {SEED}: concurrent verdicts differ from alone ones "
                            f"(round, cert, got, alone):\n" + "\n".join(map(str, mismatches)))
