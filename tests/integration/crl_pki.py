"""CRLs for the CRL conformance tests (RFC 5280 §5, §6.3), made with the openssl CLI from the
session PKI's CA keys, as a CA running `openssl ca` would publish them.

Each CRL gets a scratch `openssl ca` database of its own (which certificates it lists, and
why), its own cRLNumber and its own `crl_ext` section, so a test says exactly what the CA
published: partitions by reason (issuingDistributionPoint onlySomeReasons), delta CRLs
(deltaCRLIndicator, in OpenSSL's generic `ASN1:INTEGER` syntax since it has no other),
freshestCRL, entries on hold or removeFromCRL, past or future dates, CRLs signed by a
separate CRL-signing certificate, partitions by distribution point, onlyContainsCACerts,
indirectCRL and unknown critical extensions. Two kinds no CA would publish on purpose are made
otherwise: a CRL with an unknown critical entry extension (python3-cryptography, as `openssl ca`
writes none) and one whose signature was changed after signing. Nothing here is written into the
session PKI directory.
"""
from __future__ import annotations

import datetime
import secrets
import subprocess
from pathlib import Path

HOLD = "certificateHold,holdInstructionReject"  # `openssl ca` wants a hold instruction with it
REMOVE = "removeFromCRL"
KEY_COMPROMISE = "keyCompromise"


def openssl_time(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime("%Y%m%d%H%M%SZ")


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def run(*argv, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(map(str, argv))} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def run_bytes(*argv) -> bytes:
    done = subprocess.run([str(a) for a in argv], capture_output=True)
    assert done.returncode == 0, f"{' '.join(map(str, argv))} failed:\n{done.stderr.decode(errors='replace')}"
    return done.stdout


class CrlMaker:
    """Writes CRLs (PEM) and CRL-signer certificates into `workdir`."""

    def __init__(self, pki: Path, workdir: Path):
        self.pki, self.workdir = pki, workdir
        self.workdir.mkdir(parents=True, exist_ok=True)

    def index_row(self, cert: str, revocation: str) -> str:
        """One `openssl ca` database row revoking `cert` (a PEM's stem in the PKI or the
        workdir) for `revocation` ("reason" or "reason,hold instruction"), an hour ago."""
        path = self._pem_of(cert)
        out = run("openssl", "x509", "-in", path, "-noout", "-serial", "-enddate", "-subject", "-nameopt", "compat")
        serial_line, enddate_line, subject_line = out.splitlines()[:3]
        serial = serial_line.split("=", 1)[1]
        enddate = datetime.datetime.strptime(enddate_line.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
        subject = subject_line.split("=", 1)[1]
        revoked_at = (now() - datetime.timedelta(hours=1)).strftime("%y%m%d%H%M%SZ")
        return f"R\t{enddate.strftime('%y%m%d%H%M%SZ')}\t{revoked_at},{revocation}\t{serial}\tunknown\t{subject}\n"

    def _pem_of(self, cert: str) -> Path:
        path = self.pki / f"{cert}.pem"
        return path if path.exists() else self.workdir / f"{cert}.pem"

    def crl(self, name: str, *, number: int, revoked: dict[str, str] | None = None, extensions: str = "",
            ca: str = "issuing-ca", signer: str | None = None, last_update: datetime.datetime | None = None,
            next_update: datetime.datetime | None = None) -> Path:
        """`name`.pem: a CRL of `ca` numbered `number`, listing `revoked` ({cert: reason}),
        with `extensions` (lines of a `crl_ext` section; [sections] may follow), signed with
        the key of `signer` (a certificate made by crl_signer(); default: `ca` itself)."""
        scratch = self.workdir / f"{name}.ca"
        scratch.mkdir()
        (scratch / "index.txt").write_text("".join(self.index_row(c, r) for c, r in (revoked or {}).items()))
        (scratch / "index.txt.attr").write_text("unique_subject = no\n")
        (scratch / "crlnumber").write_text(f"{number:02X}\n")
        key_holder = self.workdir / signer if signer else self.pki / ca
        (scratch / "ca.cnf").write_text(f"""[ca]
default_ca = this_ca
[this_ca]
dir              = {scratch}
database         = $dir/index.txt
certificate      = {key_holder}.pem
private_key      = {key_holder}.key
new_certs_dir    = $dir
serial           = $dir/serial
default_md       = sha256
default_crl_days = 7
crlnumber        = $dir/crlnumber
policy           = policy_any
crl_extensions   = crl_ext
[policy_any]
commonName = supplied
[crl_ext]
authorityKeyIdentifier = keyid:always
{extensions}
""")
        out = self.workdir / f"{name}.pem"
        dates = []
        if last_update:
            dates += ["-crl_lastupdate", openssl_time(last_update)]
        if next_update:
            dates += ["-crl_nextupdate", openssl_time(next_update)]
        run("openssl", "ca", "-batch", "-gencrl", "-config", scratch / "ca.cnf", "-out", out, *dates)
        return out

    def with_entry_extension(self, name: str, *, number: int, revoked: str, oid: str, ca: str = "issuing-ca") -> Path:
        """`name`.pem: a CRL of `ca` numbered `number` listing `revoked` (keyCompromise) with a
        critical entry extension `oid` (value NULL). `openssl ca` writes no entry extensions but
        its own, so this one is built with python3-cryptography (which signs through OpenSSL)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import ObjectIdentifier
        issuer = x509.load_pem_x509_certificate((self.pki / f"{ca}.pem").read_bytes())
        key = serialization.load_pem_private_key((self.pki / f"{ca}.key").read_bytes(), None)
        listed = x509.load_pem_x509_certificate(self._pem_of(revoked).read_bytes())
        at = now().replace(tzinfo=None)
        entry = (x509.RevokedCertificateBuilder().serial_number(listed.serial_number)
                 .revocation_date(at - datetime.timedelta(hours=1))
                 .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
                 .add_extension(x509.UnrecognizedExtension(ObjectIdentifier(oid), b"\x05\x00"), critical=True)
                 .build())
        crl = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
               .last_update(at - datetime.timedelta(minutes=5)).next_update(at + datetime.timedelta(days=7))
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key()), critical=False)
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_revoked_certificate(entry).sign(key, hashes.SHA256()))
        out = self.workdir / f"{name}.pem"
        out.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        return out

    def tampered(self, crl: Path, name: str) -> Path:
        """`name`.pem: `crl` with the last byte of its signature changed, so that it no longer
        verifies with any key (everything else, the signed content included, is untouched)."""
        der = bytearray(run_bytes("openssl", "crl", "-in", crl, "-outform", "DER"))
        der[-1] ^= 0x01
        raw = self.workdir / f"{name}.der"
        raw.write_bytes(bytes(der))
        out = self.workdir / f"{name}.pem"
        run("openssl", "crl", "-inform", "DER", "-in", raw, "-out", out)
        return out

    def crl_signer(self, name: str = "crl-signer", *, ca: str = "issuing-ca", issuer: str = "root-ca") -> Path:
        """`name`.pem/.key: a separate CRL-signing certificate for `ca` (its subject, a new key,
        keyUsage cRLSign only), certified by `issuer`."""
        subject = run("openssl", "x509", "-in", self.pki / f"{ca}.pem", "-noout", "-subject",
                      "-nameopt", "compat").strip().split("=", 1)[1]
        cnf = self.workdir / f"{name}.cnf"
        cnf.write_text("""[req]
distinguished_name = req_dn
[req_dn]
[crl_signer]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
""")
        run("openssl", "req", "-x509", "-noenc", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-keyout", self.workdir / f"{name}.key", "-out", self.workdir / f"{name}.pem", "-subj", subject,
            "-config", cnf, "-extensions", "crl_signer", "-days", "30", "-sha256",
            "-set_serial", f"0x{secrets.randbits(63) | 1:x}",
            "-CA", self.pki / f"{issuer}.pem", "-CAkey", self.pki / f"{issuer}.key")
        return self.workdir / f"{name}.pem"


def only_some_reasons(*reasons: str) -> str:
    """crl_ext lines for an issuingDistributionPoint limited to `reasons` (OpenSSL's names:
    keyCompromise, CACompromise, affiliationChanged, superseded, cessationOfOperation,
    certificateHold, privilegeWithdrawn, AACompromise)."""
    return f"issuingDistributionPoint = critical, @idp\n[idp]\nonlysomereasons = {', '.join(reasons)}\n"


def delta_of(base_number: int) -> str:
    """crl_ext line that makes a CRL a delta on top of complete CRL `base_number`."""
    return f"deltaCRL = critical, ASN1:INTEGER:{base_number}\n"


def naming_deltas(url: str = "http://127.0.0.1:9/delta.crl") -> str:
    """crl_ext line announcing delta CRLs (freshestCRL)."""
    return f"freshestCRL = URI:{url}\n"


def issuing_distribution_point(*, full_name: str | None = None, only_ca: bool = False, only_user: bool = False,
                               indirect: bool = False, reasons: tuple[str, ...] = ()) -> str:
    """crl_ext lines for a critical issuingDistributionPoint (RFC 5280 §5.2.5): the distribution
    point `full_name` (a URI), onlyContainsCACerts / onlyContainsUserCerts, indirectCRL, and
    onlySomeReasons `reasons`."""
    fields = [f"fullname = URI:{full_name}"] if full_name else []
    fields += ["onlyCA = TRUE"] if only_ca else []
    fields += ["onlyuser = TRUE"] if only_user else []
    fields += ["indirectCRL = TRUE"] if indirect else []
    fields += [f"onlysomereasons = {', '.join(reasons)}"] if reasons else []
    return "issuingDistributionPoint = critical, @idp\n[idp]\n" + "".join(f"{f}\n" for f in fields)


UNKNOWN_OID = "1.3.6.1.4.1.55555.1"  # a private-arc OID no CRL reader knows


def unknown_critical_extension(oid: str = UNKNOWN_OID) -> str:
    """crl_ext line for a critical CRL extension nobody understands (its value: NULL)."""
    return f"{oid} = critical, ASN1:NULL\n"


def issue_client(pki: Path, name: str, extensions: str) -> None:
    """A client certificate from issuing-ca with `extensions` (lines of an openssl.cnf
    extension section, e.g. crlDistributionPoints naming a test's own server), written as
    PKI/NAME.pem, .key and -chain.pem, where the harness looks for clients."""
    key, csr, ext, pem = (pki / f"{name}{suffix}" for suffix in (".key", ".csr", ".ext", ".pem"))
    ext.write_text("basicConstraints = CA:FALSE\nkeyUsage = digitalSignature\nextendedKeyUsage = clientAuth\n"
                   + extensions)
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", f"/O=ocspgate test/CN={name}")
    run("openssl", "x509", "-req", "-in", csr, "-CA", pki / "issuing-ca.pem", "-CAkey", pki / "issuing-ca.key",
        "-CAcreateserial", "-CAserial", pki / f"{name}.srl", "-days", "30", "-sha256", "-extfile", ext, "-out", pem)
    (pki / f"{name}-chain.pem").write_bytes(pem.read_bytes() + (pki / "issuing-ca.pem").read_bytes())
