"""Real SIP peers for the SIP front's integration tests: sipp (UAC and UAS over TCP), socat
as the phone's TLS layer (Debian's sipp has no TLS), and Kamailio as a registrar.

Readiness is checked in /proc/net/tcp, never by connecting: a probe connection to socat would
open a TLS connection through ocspgate to the backend and disturb what the test counts.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from harness import Process, free_port, wait_until

SIP_DIR = Path(__file__).resolve().parent / "sip"
SIPP_TIMEOUT_S = 20


def listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (or any address) over TCP/IPv4."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            return True
    return False


def wait_listening(port: int, proc: Process, what: str, timeout: float = 10):
    wait_until(lambda: listening(port) or not proc.alive(), timeout, f"{what} to listen on {port}")
    assert proc.alive(), f"{what} exited at start:\n{proc.output()}"


class Socat(Process):
    """TCP on 127.0.0.1:.port, TLS with `cert` toward ocspgate: the phone's TLS stack."""

    def __init__(self, workdir: Path, pki: Path, gate_port: int, cert: str = "client-good", name: str = "socat"):
        self.port = free_port()
        target = (f"OPENSSL:127.0.0.1:{gate_port},cert={pki / (cert + '-chain.pem')},key={pki / (cert + '.key')},"
                  f"cafile={pki / 'clients-ca.pem'},verify=0")
        super().__init__(["socat", "-d", f"TCP-LISTEN:{self.port},bind=127.0.0.1,fork,reuseaddr", target],
                         workdir / f"{name}.log")
        wait_listening(self.port, self, "socat")


def sipp_argv(scenario: str, port: int, messages: Path, *remote) -> list:
    """Bounded sipp over TCP (one socket, `-t t1`): one call, a global timeout, no stdin."""
    return ["sipp", *remote, "-sf", SIP_DIR / scenario, "-t", "t1", "-i", "127.0.0.1", "-p", port,
            "-m", "1", "-nostdin", "-timeout", f"{SIPP_TIMEOUT_S}s", "-timeout_error", "-recv_timeout", "10000",
            "-trace_msg", "-message_file", messages, "-trace_err", "-error_file", messages.with_suffix(".err")]


class SippUas(Process):
    """sipp as the legacy SIP server (plain TCP); `messages` is what it sent and received."""

    def __init__(self, workdir: Path, scenario: str, name: str = "uas"):
        self.port = free_port()
        self.messages = workdir / f"{name}-messages.log"
        super().__init__(sipp_argv(scenario, self.port, self.messages), workdir / f"{name}.log", cwd=workdir)
        wait_listening(self.port, self, "sipp UAS")

    def wait(self, timeout: float = SIPP_TIMEOUT_S + 5) -> int:
        return self.proc.wait(timeout)

    def seen(self) -> str:
        return self.messages.read_text(errors="replace") if self.messages.exists() else ""


def run_sipp_uac(workdir: Path, scenario: str, target_port: int, name: str = "uac") -> tuple[int, str]:
    """Runs sipp as the phone against 127.0.0.1:target_port until it ends; (exit code, output)."""
    messages = workdir / f"{name}-messages.log"
    argv = [str(a) for a in sipp_argv(scenario, free_port(), messages, f"127.0.0.1:{target_port}")]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       cwd=workdir, timeout=SIPP_TIMEOUT_S + 10)
    trace = messages.read_text(errors="replace") if messages.exists() else ""
    errors = messages.with_suffix(".err")
    err = errors.read_text(errors="replace") if errors.exists() else ""
    return r.returncode, f"{r.stdout.decode(errors='replace')[-3000:]}\n--- messages ---\n{trace}\n--- errors ---\n{err}"


class Kamailio(Process):
    """Kamailio in the foreground as a TCP registrar on 127.0.0.1:.port (tests/integration/sip/kamailio.cfg)."""

    def __init__(self, workdir: Path, defines=(), name: str = "kamailio"):
        self.port = free_port()
        argv = ["kamailio", "-f", SIP_DIR / "kamailio.cfg", "-DD", "-E", "-L", kamailio_modules(),
                "-l", f"tcp:127.0.0.1:{self.port}", "-Y", workdir, "-P", workdir / f"{name}.pid",
                "-m", "32", "-M", "8"]
        for define in defines:
            argv += ["-A", define]
        super().__init__(argv, workdir / f"{name}.log")
        wait_listening(self.port, self, "kamailio")


def kamailio_modules() -> str:
    out = subprocess.run(["dpkg", "-L", "kamailio"], stdout=subprocess.PIPE, text=True).stdout
    registrar = next(line for line in out.splitlines() if line.endswith("/modules/registrar.so"))
    return str(Path(registrar).parent)
