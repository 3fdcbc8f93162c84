"""docker/compose.yaml is an example that `make container-test` parses and checks but does not
run (README "Compose" says why): its services, the files it mounts and builds from, and the
ocspgate configuration it mounts, validated by the image's own `ocspgate --check-config`."""
import shutil

import yaml
from harness import REPO
from podman import podman

DOCKER = REPO / "docker"
SERVICES = {"pki", "ocsp", "redis", "kamailio", "openldap", "ocspgate"}


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_file_has_the_services_on_the_host_network():
    services = compose()["services"]
    assert set(services) == SERVICES
    assert {s.get("network_mode") for s in services.values()} == {"host"}
    assert services["ocspgate"]["depends_on"]["pki"]["condition"] == "service_completed_successfully"


def test_everything_compose_builds_from_or_mounts_exists():
    for name, service in compose()["services"].items():
        build = service.get("build")
        if build:
            context = DOCKER / (build if isinstance(build, str) else build["context"])
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            assert (context / dockerfile).is_file(), (name, context, dockerfile)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), (name, volume)


def test_compose_ocspgate_config_is_valid_in_the_image(gate_image, pki, tmp_path):
    etc = tmp_path / "etc"
    shutil.copytree(pki, etc / "pki")
    shutil.copy(DOCKER / "compose-ocspgate.toml", etc / "ocspgate.toml")
    for d in (etc, etc / "pki"):
        d.chmod(0o755)
    r = podman("run", "--rm", "--network", "none", "--volume", f"{etc}:/etc/ocspgate:ro", gate_image,
               "--config", "/etc/ocspgate/ocspgate.toml", "--check-config", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "configuration is valid" in r.stdout
