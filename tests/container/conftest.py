"""Container tests (`make container-test`): the image of docker/Dockerfile and the Kubernetes
sidecar of docker/k8s-sidecar.yaml, run by Podman with real peers on loopback. The images are
built once per run (Podman caches the layers between runs); build times and the image size
are printed at the end of the run. Kept between runs: the base image, localhost/ocspgate:latest
and its build stage localhost/ocspgate-build:cache; everything else a run makes it removes."""
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

import harness  # noqa: E402
from harness import REPO, make_pki  # noqa: E402
from podman import (BUILD_CACHE_IMAGE, GATE_IMAGE, KAMAILIO_IMAGE, build_image, image_size_mb,  # noqa: E402
                    podman, remove_labelled, remove_superseded_images)

FIGURES: list[str] = []


def pytest_configure(config):
    if os.geteuid() != 0 or shutil.which("podman") is None:
        raise pytest.UsageError("container tests need root and Podman: run `make container-test` "
                                "(scripts/container-base sets the machine up)")


def pytest_terminal_summary(terminalreporter):
    for line in FIGURES:
        terminalreporter.write_line(f"container-test: {line}")


@pytest.fixture(scope="session")
def gate_image():
    seconds = build_image(GATE_IMAGE, REPO / "docker" / "Dockerfile", REPO, cache_tag=BUILD_CACHE_IMAGE)
    remove_superseded_images()
    FIGURES.append(f"{GATE_IMAGE}: built in {seconds:.0f} s, {image_size_mb(GATE_IMAGE):.0f} MB "
                   f"(build-stage cache {BUILD_CACHE_IMAGE}: {image_size_mb(BUILD_CACHE_IMAGE):.0f} MB)")
    return GATE_IMAGE


@pytest.fixture(scope="session")
def kamailio_image(gate_image):
    """The sidecar's SIP server. Removed again at the end of the run unless
    OCSPGATE_KEEP_IMAGES=1: only the base image and the ocspgate image are cached."""
    seconds = build_image(KAMAILIO_IMAGE, REPO / "docker" / "kamailio" / "Dockerfile", REPO / "docker" / "kamailio")
    FIGURES.append(f"{KAMAILIO_IMAGE}: built in {seconds:.0f} s, {image_size_mb(KAMAILIO_IMAGE):.0f} MB")
    yield KAMAILIO_IMAGE
    if os.environ.get("OCSPGATE_KEEP_IMAGES") != "1":
        podman("rmi", KAMAILIO_IMAGE, check=False)
    remove_superseded_images()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True)
def no_stray_containers_or_processes():
    """Whatever a test started and did not stop (it failed half-way) is removed afterwards."""
    yield
    remove_labelled()
    while harness.STARTED:
        process = harness.STARTED.pop()
        if process.alive():
            process.stop(sig=9, timeout=5)
