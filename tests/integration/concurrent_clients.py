"""Many real TLS clients at once through ocspgate, each outcome recorded for comparison.

An outcome is ("accept",) when the payload echoed back through the backend, or
("reject", alert) when the handshake (or, in TLS 1.3, the first read) ended with a TLS alert
(`alert` is Python's ssl reason, e.g. SSLV3_ALERT_CERTIFICATE_REVOKED), or ("closed", what)
when the connection ended without either.
"""
from __future__ import annotations

import random
import socket
import ssl
import threading
import time

from harness import client_context, recv_exactly


def attempt(pki, port: int, cert: str, payload: bytes = b"ping", timeout: float = 10) -> tuple:
    ctx = client_context(pki, cert)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as c:
                c.sendall(payload)
                echoed = recv_exactly(c, len(payload))
        return ("accept",) if echoed == payload else ("closed", f"read {echoed!r}")
    except ssl.SSLError as e:
        return ("reject", e.reason)
    except OSError as e:
        return ("closed", type(e).__name__)


def run_together(pki, port: int, certs: list[str], *, gap: float = 0.0, jitter: float = 0.0,
                 rng: random.Random | None = None, timeout: float = 20) -> list[tuple]:
    """Connects with every cert in `certs` at once (thread i starts gap*i seconds after the
    first, plus up to `jitter` seconds drawn from `rng`); returns the outcomes in `certs` order."""
    rng = rng or random.Random(0)
    delays = [gap * i + rng.uniform(0, jitter) for i in range(len(certs))]
    results: list[tuple | None] = [None] * len(certs)
    start = threading.Barrier(len(certs))

    def client(i: int):
        start.wait()
        time.sleep(delays[i])
        results[i] = attempt(pki, port, certs[i], payload=b"client %03d" % i)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(certs))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return [r if r is not None else ("closed", "client still running") for r in results]
