"""A real OpenLDAP (Debian's slapd 2.5) and ldapsearch for the LDAP integration tests.

`Slapd` builds a throwaway slapd.conf and mdb database in its own folder, loads entries with
slapadd, and runs slapd in the foreground with `-d stats` (so its log shows every ACCEPT with
the address it believes the client has) on three listeners: ldap://, pldap:// (PROXY protocol)
and ldaps:// (the test PKI's server certificate, which has IP SAN 127.0.0.1).
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import harness
from harness import Process, free_port

SUFFIX = "dc=example,dc=org"
SLAPD = "/usr/sbin/slapd"


def people_ldif(count: int) -> str:
    entries = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n",
               f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n"]
    for i in range(count):
        entries.append(f"dn: uid=user{i:05d},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\n"
                       f"uid: user{i:05d}\ncn: User {i}\nsn: Number{i}\nmail: user{i:05d}@example.org\n"
                       f"description: {'entry ' * 8}{i}\n")
    return "\n".join(entries)


def slapd_conf(directory: Path, pki: Path) -> str:
    return f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {directory}/slapd.pid
argsfile {directory}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
sizelimit unlimited
TLSCertificateFile {pki}/server-chain.pem
TLSCertificateKeyFile {pki}/server.key
TLSCACertificateFile {pki}/clients-ca.pem

database mdb
maxsize 268435456
suffix "{SUFFIX}"
rootdn "cn=admin,{SUFFIX}"
rootpw secret
directory {directory}/db
index objectClass eq
"""


class Slapd(Process):
    def __init__(self, workdir: Path, pki: Path, entries: int = 3000):
        self.dir = workdir
        (workdir / "db").mkdir(parents=True, exist_ok=True)
        conf = workdir / "slapd.conf"
        conf.write_text(slapd_conf(workdir, pki))
        ldif = workdir / "data.ldif"
        ldif.write_text(people_ldif(entries))
        subprocess.run(["/usr/sbin/slapadd", "-q", "-f", conf, "-l", ldif], check=True, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.port, self.proxy_port, self.ldaps_port = free_port(), free_port(), free_port()
        urls = (f"ldap://127.0.0.1:{self.port}/ pldap://127.0.0.1:{self.proxy_port}/ "
                f"ldaps://127.0.0.1:{self.ldaps_port}/")
        super().__init__([SLAPD, "-f", conf, "-h", urls, "-d", "stats"], workdir / "slapd.log")
        # One slapd serves a whole test module and is stopped by its fixture: keep it out of the
        # per-test registry whose processes conftest kills after every test.
        if self in getattr(harness, "STARTED", []):
            harness.STARTED.remove(self)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.alive():
            if ldapsearch(f"ldap://127.0.0.1:{self.port}", base="", scope="base", timeout=5).returncode == 0:
                return
            time.sleep(0.1)
        out = self.output()
        self.stop()
        raise AssertionError(f"slapd did not start:\n{out[-3000:]}")


def ldap_env(pki: Path | None, cert: str | None = "client-good", ca: str = "clients-ca") -> dict:
    """ldapsearch's TLS settings come from these variables; system ldap.conf is ignored."""
    env = dict(os.environ, LDAPCONF="/dev/null", LDAPRC="/dev/null")
    if pki is not None:
        env.update(LDAPTLS_CACERT=str(pki / f"{ca}.pem"), LDAPTLS_REQCERT="demand")
        if cert:
            env.update(LDAPTLS_CERT=str(pki / f"{cert}.pem"), LDAPTLS_KEY=str(pki / f"{cert}.key"))
    return env


def ldapsearch(url: str, *, pki: Path | None = None, cert: str | None = "client-good", starttls: bool = False,
               base: str = SUFFIX, scope: str = "sub", filter: str = "(objectClass=*)", timeout: float = 30,
               attrs=()) -> subprocess.CompletedProcess:
    argv = ["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-o", "nettimeout=10", "-H", url, "-b", base,
            "-s", scope, filter, *attrs]
    if starttls:
        argv.insert(1, "-ZZ")
    return subprocess.run(argv, env=ldap_env(pki, cert), capture_output=True, timeout=timeout)


def ldap_listener(name: str, protocol: str, port: int, backend_port: int, *, revocation: str | None = None,
                  extra: str = "", extra_tables: str = "", pki: Path) -> str:
    lines = [f'[[listener]]', f'name = "{name}"', f'protocol = "{protocol}"', f'listen = "127.0.0.1:{port}"',
             f'backend = "127.0.0.1:{backend_port}"', 'connect_timeout = "3s"']
    if revocation:
        lines.append(f'revocation = "{revocation}"')
    lines.append(extra)
    lines += ["", "[listener.tls]", f'certificate = "{pki}/server-chain.pem"', f'private_key = "{pki}/server.key"',
              f'client_ca = "{pki}/clients-ca.pem"', extra_tables, ""]
    return "\n".join(lines)


def gate_config(listeners: list[str], responder_url: str | None = None, profiles: dict | None = None) -> str:
    """ocspgate with `listeners`; `profiles` maps [revocation.NAME] to its responder URL
    (`responder_url` alone is the profile "ocsp")."""
    head = '[server]\nlog_format = "json"\nlog_level = "debug"\nhandshake_timeout = "5s"\ndrain_timeout = "2s"\n\n'
    profiles = dict(profiles or {})
    if responder_url:
        profiles["ocsp"] = responder_url
    tail = "".join(f'\n[revocation.{name}]\nmethods = ["ocsp"]\n\n[revocation.{name}.ocsp]\nresponders = ["{url}"]\n'
                   'use_aia = false\ntimeout = "2s"\n' for name, url in profiles.items())
    return head + "\n".join(listeners) + tail
