"""A real redis-server (Debian's) on a free loopback port, for the shared-cache tests, and a
minimal RESP client to look into it and to make it misbehave (DEBUG SLEEP, CONFIG SET)."""
import socket
from pathlib import Path

from harness import Process, free_port, wait_until


def _encode(*args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _read_reply(f):
    line = f.readline()
    assert line.endswith(b"\r\n"), f"truncated reply {line!r}"
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise AssertionError(f"unexpected reply {line!r}")


class RedisServer(Process):
    """redis-server --port N --save '' --appendonly no, on 127.0.0.1; `extra` adds options."""

    def __init__(self, workdir: Path, *, name: str = "redis", port: int | None = None, extra=(),
                 password: str | None = None):
        self.port = port or free_port()
        self.workdir = workdir
        self.password = password
        self.socket_path = workdir / f"{name}-{self.port}.sock"
        argv = ["redis-server", "--port", self.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", workdir, "--enable-debug-command", "local", "--unixsocket", self.socket_path, *extra]
        if password:
            argv += ["--requirepass", password]
        super().__init__(argv, workdir / f"{name}-{self.port}.log")
        wait_until(lambda: self._ping() or not self.alive(), 10, "redis-server to answer PING")
        assert self.alive(), self.output()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _ping(self) -> bool:
        try:
            return self.command("PING") == "PONG"
        except OSError:
            return False

    def command(self, *args, timeout: float = 5):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            with s.makefile("rb") as f:
                if self.password:
                    s.sendall(_encode("AUTH", self.password))
                    _read_reply(f)
                s.sendall(_encode(*args))
                return _read_reply(f)

    def keys(self, pattern: str = "*") -> set[bytes]:
        return set(self.command("KEYS", pattern))
