"""Podman for the container tests: images built once per run, containers and pods that the
tests remove again. Needs root and scripts/container-base (`make container-test` runs both)."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from harness import REPO, Ocspgate, Process, wait_until

GATE_IMAGE = "localhost/ocspgate:latest"
BUILD_CACHE_IMAGE = "localhost/ocspgate-build:cache"  # the Dockerfile's build stage
KAMAILIO_IMAGE = "localhost/ocspgate-kamailio:latest"
LABEL = "ocspgate-container-test"
BUILD_TIMEOUT_S = 3600  # a fresh machine compiles the project inside the build stage


def podman(*args, check: bool = True, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(["podman", *map(str, args)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"podman {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def build_image(tag: str, dockerfile: Path, context: Path, cache_tag: str | None = None) -> float:
    """`podman build` as the README shows it (layers cached between runs); returns seconds.
    With `cache_tag`, the build stage is tagged too, so that its layers (the compiler cache's
    counterpart: installed build dependencies, the compiled tree) are kept as the cache while
    remove_superseded_images() removes the untagged images of earlier builds."""
    started = time.monotonic()
    build = ["build", "--format", "docker", "--pull=never", "--network", "host", "-f", dockerfile]
    podman(*build, "-t", tag, context, timeout=BUILD_TIMEOUT_S)
    if cache_tag:
        podman(*build, "--target", "build", "-t", cache_tag, context, timeout=BUILD_TIMEOUT_S)
    return time.monotonic() - started


def remove_superseded_images():
    """Removes the untagged images that earlier builds of our Dockerfiles left (each rebuild
    after a source change would otherwise keep ~1 GB), leaf by leaf until only layers that a
    tagged image still uses remain. Other images, the base image included, carry no label."""
    for _ in range(50):
        ids = podman("images", "--quiet", "--filter", "dangling=true", "--filter",
                     "label=io.ocspgate.dockerfile", check=False).stdout.split()
        if not ids:
            return
        podman("rmi", *ids, check=False)


def image_size_mb(tag: str) -> float:
    return int(podman("image", "inspect", "--format", "{{.Size}}", tag).stdout) / 1e6


def logged_events(text: str, event: str | None = None, **fields) -> list[dict]:
    """ocspgate's JSON log lines in `text` (Ocspgate.events on any text)."""
    holder = type("Logs", (), {"output": lambda self: text})()
    return Ocspgate.events(holder, event, **fields)


class GateContainer(Process):
    """The ocspgate image run in the foreground (`podman run --rm`, host network) with `etc`
    mounted at /etc/ocspgate; its log is the container's output. Quacks like harness.Ocspgate
    for expect_accept/expect_reject once .pki, .port and .backend are set."""

    def __init__(self, workdir: Path, etc: Path, name: str, admin: str | None = None):
        """`admin`: given to the health probe as OCSPGATE_ADMIN; None lets the probe read the
        address from the config the container runs with."""
        self.name = name
        podman("rm", "--force", "--ignore", name)  # what an interrupted earlier run left
        env = ["--env", f"OCSPGATE_ADMIN={admin}"] if admin else []
        argv = ["podman", "run", "--rm", "--name", name, "--label", LABEL, "--network", "host", *env,
                "--volume", f"{etc}:/etc/ocspgate:ro", GATE_IMAGE]
        super().__init__(argv, workdir / f"{name}.log")
        wait_until(lambda: self.events("listening") or not self.alive(), 60, "the container to listen")
        assert self.alive(), f"the container exited at start:\n{self.output()}"

    def events(self, event: str | None = None, **fields) -> list[dict]:
        return logged_events(self.output(), event, **fields)

    wait_event = Ocspgate.wait_event

    def exec(self, *argv, check: bool = False) -> subprocess.CompletedProcess:
        return podman("exec", self.name, *argv, check=check, timeout=30)

    def main_pid(self) -> int:
        return int(podman("inspect", "--format", "{{.State.Pid}}", self.name).stdout)

    def stop(self, sig=15, timeout: float = 20.0) -> int:
        """`podman stop` (SIGTERM, SIGKILL after 10 s); returns the container's exit code."""
        if self.alive():
            podman("stop", "--ignore", "--time", "10", self.name, check=False, timeout=30)
            try:  # `podman run --rm` still removes the container after `podman stop` returns
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        return super().stop(9, 5)


def remove_labelled():
    """Removes every container this suite started (by label), whatever state it is in."""
    ids = podman("ps", "--all", "--quiet", "--filter", f"label={LABEL}", check=False).stdout.split()
    if ids:
        podman("rm", "--force", *ids, check=False)


def uid_of(pid: int) -> list[int]:
    """Real, effective, saved and filesystem uid of a host process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(v) for v in line.split()[1:]]
    raise AssertionError(f"no Uid line for {pid}")


def repo_file(relative: str) -> str:
    return (REPO / relative).read_text()


def substitute(text: str, replacements: dict[str, str]) -> str:
    """Replaces each key once at least; a missing key means the shipped file changed under the test."""
    for old, new in replacements.items():
        assert old in text, f"{old!r} is not in the shipped file any more; update the test"
        text = text.replace(old, new)
    return text


def inspect_json(*args) -> list[dict]:
    return json.loads(podman(*args, "--format", "json").stdout)
