"""Issue #18 point 7: the CRL conformance cases run twice, through ocspgate (the real binary,
`openssl s_client` as the client) and through OpenSSL's own path validation
(`openssl verify -crl_check_all -use_deltas -extended_crl`), on the same CRL files made by
crl_pki.py. Each case asserts the pair (ocspgate, openssl verify) for client-good and
client-revoked, so a change of behaviour on either side is noticed; docs/CRL.md ("Cross-check
with `openssl verify`") explains every difference.

ocspgate's outcome: "forwarded" (the payload came back through the backend), or "refused:
certificate_revoked" / "refused: certificate_unknown" (the alert s_client printed; the
backend saw nothing). OpenSSL's: "OK", or "depth N: <error text>" from `openssl verify`.

OpenSSL gets, besides the case's CRLs, the root's CRL that lists nothing (so that
-crl_check_all can decide the intermediate and the outcome is about the leaf's CRLs), unless
the case brings its own root CRL. ocspgate runs with check = "leaf" unless the case says
otherwise. The revoked intermediate is run both ways: check = "chain" against -crl_check_all,
check = "leaf" against -crl_check (the leaf's CRL only)."""
from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from crl_pki import (HOLD, KEY_COMPROMISE, REMOVE, UNKNOWN_OID, CrlMaker, delta_of, issuing_distribution_point,
                     naming_deltas, now, only_some_reasons, unknown_critical_extension)
from harness import s_client, wait_until

COMPROMISES = ("keyCompromise", "CACompromise", "AACompromise")
OTHER_REASONS = ("affiliationChanged", "superseded", "cessationOfOperation", "certificateHold", "privilegeWithdrawn")
CLIENT_DP = "http://127.0.0.1:8889/issuing-ca.crl"  # the session PKI's clients' CRL distribution point
OTHER_DP = "http://127.0.0.1:8889/partition-2.crl"

FORWARDED, REVOKED, UNKNOWN = "forwarded", "refused: certificate_revoked", "refused: certificate_unknown"
OK = "OK"


@dataclass
class Setup:
    """What one case gives both sides."""
    crls: list[Path]       # ocspgate's crl.files, and openssl's CRLs
    root_crl: bool = True  # openssl also gets the session's root CRL (lists nothing)
    untrusted: list[Path] = field(default_factory=list)  # more -untrusted certificates for openssl
    extra_crl: str = ""    # lines of ocspgate's [revocation.NAME.crl]
    check: str = "leaf"    # ocspgate's check
    # (file, replacement): ocspgate starts with `file` (one of `crls`), which is then replaced
    # by `replacement` while it runs; openssl gets `replacement` instead of `file`.
    then: tuple[Path, Path] | None = None


def reasons_complete(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.crl("compromises", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                        extensions=only_some_reasons(*COMPROMISES)),
                  m.crl("others", number=1, extensions=only_some_reasons(*OTHER_REASONS))])


def reasons_incomplete(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.crl("compromises", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                        extensions=only_some_reasons(*COMPROMISES))])


def delta_revokes(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.crl("base", number=10, extensions=naming_deltas()),
                  m.crl("delta", number=11, revoked={"client-revoked": KEY_COMPROMISE}, extensions=delta_of(10))])


def delta_removes_from_hold(m: CrlMaker, pki: Path) -> Setup:
    # client-good on hold in the base, taken off in the delta; client-revoked revoked in the base.
    return Setup([m.crl("base", number=10, revoked={"client-good": HOLD, "client-revoked": KEY_COMPROMISE},
                        extensions=naming_deltas()),
                  m.crl("delta", number=11, revoked={"client-good": REMOVE}, extensions=delta_of(10))])


def delta_missing(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.crl("base", number=10, revoked={"client-revoked": KEY_COMPROMISE}, extensions=naming_deltas())])


def signer_crls(m: CrlMaker, signer_revoked: bool = False) -> tuple[Path, Path, Path]:
    signer = m.crl_signer()
    signed = m.crl("signed-by-signer", number=3, revoked={"client-revoked": KEY_COMPROMISE}, signer="crl-signer")
    roots = m.crl("root", number=3, ca="root-ca", revoked={"crl-signer": KEY_COMPROMISE} if signer_revoked else {})
    return signer, signed, roots


def signer_configured(m: CrlMaker, pki: Path) -> Setup:
    signer, signed, roots = signer_crls(m)
    return Setup([signed, roots], root_crl=False, untrusted=[signer], extra_crl=f'signers = ["{signer}"]')


def signer_not_configured(m: CrlMaker, pki: Path) -> Setup:
    _, signed, roots = signer_crls(m)
    return Setup([signed, roots], root_crl=False)


def signer_revoked(m: CrlMaker, pki: Path) -> Setup:
    signer, signed, roots = signer_crls(m, signer_revoked=True)
    return Setup([signed, roots], root_crl=False, untrusted=[signer], extra_crl=f'signers = ["{signer}"]')


def expired(m: CrlMaker, pki: Path, grace: str = "") -> Setup:
    crl = m.crl("expired", number=2, revoked={"client-revoked": KEY_COMPROMISE},
                last_update=now() - datetime.timedelta(days=8), next_update=now() - datetime.timedelta(hours=1))
    return Setup([crl], extra_crl=f'grace = "{grace}"' if grace else "")


def from_the_future(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.crl("future", number=2, revoked={"client-revoked": KEY_COMPROMISE},
                        last_update=now() + datetime.timedelta(hours=1),
                        next_update=now() + datetime.timedelta(days=7))])


def rolled_back(m: CrlMaker, pki: Path) -> Setup:
    # The CA's CRL 5 revokes client-revoked; someone puts back CRL 4, from before that.
    newer = m.crl("newer", number=5, revoked={"client-revoked": KEY_COMPROMISE})
    older = m.crl("older", number=4)
    configured = m.workdir / "issuing.crl"
    shutil.copyfile(newer, configured)
    return Setup([configured], then=(configured, older))


def two_numbers_one_time(m: CrlMaker, pki: Path) -> Setup:
    # Two complete CRLs with the same thisUpdate: number 4 (lists nothing) given before 5.
    at = now().replace(microsecond=0) - datetime.timedelta(minutes=1)
    return Setup([m.crl("older", number=4, last_update=at),
                  m.crl("newer", number=5, revoked={"client-revoked": KEY_COMPROMISE}, last_update=at)])


def partition_of_the_clients_dp(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.crl("partition", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                        extensions=issuing_distribution_point(full_name=CLIENT_DP))])


def partition_of_another_dp(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.crl("partition", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                        extensions=issuing_distribution_point(full_name=OTHER_DP))])


def only_ca_certs(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.crl("only-ca", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                        extensions=issuing_distribution_point(only_ca=True))])


def indirect(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.crl("indirect", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                        extensions=issuing_distribution_point(indirect=True))])


def unknown_critical_crl_extension(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.crl("critical", number=1, revoked={"client-revoked": KEY_COMPROMISE},
                        extensions=unknown_critical_extension())])


def unknown_critical_entry_extension(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.with_entry_extension("critical-entry", number=1, revoked="client-revoked", oid=UNKNOWN_OID)])


def wrong_signature(m: CrlMaker, pki: Path) -> Setup:
    return Setup([m.tampered(m.crl("genuine", number=1, revoked={"client-revoked": KEY_COMPROMISE}), "tampered")])


def revoked_intermediate(check: str):
    def build(m: CrlMaker, pki: Path) -> Setup:
        return Setup([pki / "issuing-ca.crl.pem", pki / "root-ca-revoked.crl.pem"], root_crl=False, check=check)
    return build


@dataclass
class Case:
    name: str
    build: object
    good: tuple[str, str]     # (ocspgate, openssl verify) for client-good
    revoked: tuple[str, str]  # the same for client-revoked
    openssl_flags: tuple[str, ...] = ("-crl_check_all",)


LEAF_REVOKED = "depth 0: certificate revoked"
NO_CRL = "depth 0: unable to get certificate CRL"
SCOPE = "depth 0: different CRL scope"
CRITICAL = "depth 0: unhandled critical CRL extension"

CASES = [
    Case("reason partitions covering every reason", reasons_complete, (FORWARDED, OK), (REVOKED, LEAF_REVOKED)),
    Case("reason partition leaving reasons uncovered", reasons_incomplete, (UNKNOWN, NO_CRL), (REVOKED, LEAF_REVOKED)),
    Case("delta CRL revokes", delta_revokes, (FORWARDED, OK), (REVOKED, LEAF_REVOKED)),
    Case("delta removeFromCRL takes off hold", delta_removes_from_hold, (FORWARDED, OK), (REVOKED, LEAF_REVOKED)),
    Case("base names deltas, none held", delta_missing, (UNKNOWN, OK), (REVOKED, LEAF_REVOKED)),
    Case("separate CRL signer, configured", signer_configured, (FORWARDED, OK), (REVOKED, LEAF_REVOKED)),
    Case("separate CRL signer, not configured", signer_not_configured, (UNKNOWN, NO_CRL), (UNKNOWN, NO_CRL)),
    Case("separate CRL signer, revoked", signer_revoked,
         (UNKNOWN, "depth 0: CRL path validation error"), (UNKNOWN, "depth 0: CRL path validation error")),
    Case("expired CRL", expired, (UNKNOWN, "depth 0: CRL has expired"), (UNKNOWN, "depth 0: CRL has expired")),
    Case("expired CRL within crl.grace", lambda m, pki: expired(m, pki, grace="2h"),
         (FORWARDED, "depth 0: CRL has expired"), (REVOKED, "depth 0: CRL has expired")),
    Case("CRL from the future", from_the_future,
         (UNKNOWN, "depth 0: CRL is not yet valid"), (UNKNOWN, "depth 0: CRL is not yet valid")),
    Case("CRL rolled back to an older number", rolled_back, (UNKNOWN, OK), (UNKNOWN, OK)),
    Case("two CRLs, same thisUpdate, lower cRLNumber first", two_numbers_one_time, (FORWARDED, OK), (REVOKED, OK)),
    Case("partition: IDP names the certificate's DP", partition_of_the_clients_dp,
         (FORWARDED, OK), (REVOKED, LEAF_REVOKED)),
    Case("partition: IDP names another DP", partition_of_another_dp, (UNKNOWN, SCOPE), (UNKNOWN, SCOPE)),
    Case("onlyContainsCACerts CRL, leaf", only_ca_certs, (UNKNOWN, SCOPE), (UNKNOWN, SCOPE)),
    Case("indirect CRL", indirect, (UNKNOWN, OK), (UNKNOWN, LEAF_REVOKED)),
    Case("unknown critical CRL extension", unknown_critical_crl_extension, (UNKNOWN, CRITICAL), (UNKNOWN, CRITICAL)),
    Case("unknown critical CRL entry extension", unknown_critical_entry_extension,
         (UNKNOWN, CRITICAL), (UNKNOWN, CRITICAL)),
    Case("wrong signature", wrong_signature,
         (UNKNOWN, "depth 0: CRL signature failure"), (UNKNOWN, "depth 0: CRL signature failure")),
    Case("revoked intermediate, check = chain", revoked_intermediate("chain"),
         (REVOKED, "depth 1: certificate revoked"), (REVOKED, LEAF_REVOKED)),
    Case("revoked intermediate, check = leaf", revoked_intermediate("leaf"), (FORWARDED, OK), (REVOKED, LEAF_REVOKED),
         openssl_flags=("-crl_check",)),
]

VERIFY_ERROR = re.compile(r"^error (\d+) at (\d+) depth lookup: (.*)$", re.M)


def openssl_verify(pki: Path, workdir: Path, setup: Setup, flags: tuple[str, ...], cert: str) -> str:
    """`openssl verify` of `cert` with the case's CRLs (in one file: -CRLfile takes one)."""
    crls = [setup.then[1] if setup.then and p == setup.then[0] else p for p in setup.crls]
    if setup.root_crl:
        crls.append(pki / "root-ca.crl.pem")
    bundle, untrusted = workdir / "openssl-crls.pem", workdir / "openssl-untrusted.pem"
    bundle.write_bytes(b"".join(p.read_bytes() for p in crls))
    untrusted.write_bytes(b"".join(p.read_bytes() for p in [pki / "issuing-ca.pem", *setup.untrusted]))
    done = subprocess.run(["openssl", "verify", *flags, "-use_deltas", "-extended_crl", "-CAfile", pki / "root-ca.pem",
                           "-untrusted", untrusted, "-CRLfile", bundle, pki / f"{cert}.pem"],
                          capture_output=True, text=True, timeout=30)
    if done.returncode == 0:
        assert done.stdout.strip().endswith(": OK"), done.stdout
        return OK
    errors = VERIFY_ERROR.findall(done.stdout + done.stderr)
    assert errors, done.stdout + done.stderr
    _, depth, text = errors[0]  # the first error stops verification (no -verify_return_error needed)
    return f"depth {depth}: {text}"


PAYLOAD = b"ping via s_client\n"


def through_s_client(gate, cert: str) -> str:
    """One `openssl s_client` connection through `gate` with `cert`: what became of it."""
    backend = gate.backend
    connections = backend.connections
    _, out = s_client(gate.pki, gate.port, cert, stdin=PAYLOAD, hold=0.7)
    if PAYLOAD.decode().strip() in out:
        return FORWARDED
    assert backend.connections == connections, f"{cert} refused but the backend was reached:\n{out}"
    if "SSL alert number 44" in out:
        return REVOKED
    if "SSL alert number 46" in out:
        return UNKNOWN
    return f"other: {out[-400:]}"


def ocspgate_outcomes(peers, setup: Setup) -> tuple[str, str]:
    gate = peers.proxy(methods=["crl"], check=setup.check, crl_files=setup.crls, extra_crl=setup.extra_crl)
    if setup.then:
        # Replacing the file: the store re-reads files whose mtime changed (every 5 s).
        assert through_s_client(gate, "client-revoked") == REVOKED
        configured, replacement = setup.then
        shutil.copyfile(replacement, configured)
        later = os.stat(configured).st_mtime + 10
        os.utime(configured, (later, later))
        wait_until(lambda: through_s_client(gate, "client-good") == UNKNOWN, 20, "the replaced CRL file to be read")
    outcomes = through_s_client(gate, "client-good"), through_s_client(gate, "client-revoked")
    gate.stop_cleanly()
    return outcomes


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_ocspgate_and_openssl_verify_on_the_same_crls(peers, case):
    workdir = peers.workdir / "crls"
    setup = case.build(CrlMaker(peers.pki, workdir), peers.pki)
    verify = {cert: openssl_verify(peers.pki, workdir, setup, case.openssl_flags, cert)
              for cert in ("client-good", "client-revoked")}
    gate = dict(zip(("client-good", "client-revoked"), ocspgate_outcomes(peers, setup)))
    pairs = {cert: (gate[cert], verify[cert]) for cert in gate}
    assert pairs == {"client-good": case.good, "client-revoked": case.revoked}
