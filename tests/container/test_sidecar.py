"""The Kubernetes sidecar of docker/k8s-sidecar.yaml under `podman kube play` (hostNetwork):
Kamailio behind ocspgate in one pod, config from the ConfigMap, certificates from the Secret.
A SIP phone (sipp through socat's TLS, sip_peers) registers with a good certificate; a revoked
one is refused and never reaches Kamailio; `podman kube down` removes the pod."""
import re

import harness
import pytest
from harness import OcspResponder, free_port, refusal, wait_until
from podman import logged_events, podman, repo_file, substitute
from redis_peer import RedisServer
from sip_peers import Socat, listening, run_sipp_uac

POD = "sip-ocspgate"
GATE, KAMAILIO = f"{POD}-ocspgate", f"{POD}-kamailio"
VOLUMES = ("ocspgate-config", "ocspgate-pki")  # what kube play makes of the ConfigMap and the Secret
PKI_FILES = ("server-chain.pem", "server.key", "clients-ca.pem")


def secret_for_podman43(pki) -> str:
    """The Secret `ocspgate-pki` as Podman 4.3 mounts it: it writes `data` values to the files
    without base64-decoding them, so they are given raw here (a cluster gets
    `kubectl create secret generic`, README "Kubernetes sidecar")."""
    items = "".join(f"  {name}: |\n" + "".join(f"    {line}\n" for line in (pki / name).read_text().splitlines())
                    for name in PKI_FILES)
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: ocspgate-pki\ndata:\n{items}"


class Pod:
    def __init__(self, manifest, secret):
        self.manifest = manifest
        self.down()  # what an interrupted earlier run left
        podman("secret", "create", "ocspgate-pki", secret)
        podman("kube", "play", manifest, timeout=120)

    def logs(self, container: str) -> str:
        r = podman("logs", container, check=False)
        return r.stdout + r.stderr

    def gate_events(self, event=None, **fields):
        return logged_events(self.logs(GATE), event, **fields)

    def down(self):
        podman("kube", "down", self.manifest, check=False, timeout=60)
        podman("volume", "rm", "--force", *VOLUMES, check=False)
        podman("secret", "rm", "ocspgate-pki", check=False)


@pytest.fixture(scope="module")
def pod(gate_image, kamailio_image, pki, tmp_path_factory):
    work = tmp_path_factory.mktemp("sidecar")
    responder = OcspResponder(work, pki)
    redis = RedisServer(work)
    for started in (responder, redis):
        harness.STARTED.remove(started)  # they serve the whole module: conftest must not stop them per test
    port, sip_port, admin = free_port(), free_port(), f"127.0.0.1:{free_port()}"
    manifest = work / "k8s-sidecar.yaml"
    manifest.write_text(substitute(repo_file("docker/k8s-sidecar.yaml"), {
        "0.0.0.0:5061": f"127.0.0.1:{port}",
        "127.0.0.1:5060": f"127.0.0.1:{sip_port}",
        "127.0.0.1:9901": admin,
        "http://ocsp.example.internal:8080": responder.url,
        "redis://ocspgate-redis:6379/0": redis.url,
    }))
    secret = work / "secret.yaml"
    secret.write_text(secret_for_podman43(pki))
    p = Pod(manifest, secret)
    p.pki, p.port, p.responder, p.redis, p.work = pki, port, responder, redis, work
    wait_until(lambda: p.gate_events("listening"), 60, f"ocspgate in the pod to listen:\n{p.logs(GATE)}")
    wait_until(lambda: listening(sip_port), 30, f"Kamailio in the pod to listen:\n{p.logs(KAMAILIO)}")
    yield p
    p.down()
    responder.stop()
    redis.stop()


def phone_registers(pod, cert: str) -> tuple[int, str]:
    socat = Socat(pod.work, pod.pki, pod.port, cert=cert, name=f"socat-{cert}")
    try:
        return run_sipp_uac(pod.work, "uac_register.xml", socat.port, name=f"uac-{cert}")
    finally:
        socat.stop()


def registered(pod, cn: str) -> list[str]:
    return re.findall(rf"sidecar: REGISTER .*subject=\[CN={cn},[^]]*\].*", pod.logs(KAMAILIO))


def test_liveness_probe_runs_as_the_healthcheck(pod):
    r = podman("healthcheck", "run", GATE, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_readiness_probe_command_answers_ready(pod):
    assert podman("exec", GATE, "/usr/bin/ocspgate-probe", "/readyz", check=False).returncode == 0


def test_ocspgate_runs_as_non_root_with_no_capabilities(pod):
    assert podman("exec", GATE, "id", "-u").stdout.strip() == "10001"
    status = podman("exec", GATE, "cat", "/proc/1/status").stdout
    assert re.search(r"^CapEff:\s+0+$", status, re.M), status


def test_phone_with_good_certificate_registers_through_the_sidecar(pod):
    code, output = phone_registers(pod, "client-good")
    assert code == 0, output[-2000:] + pod.logs(KAMAILIO)[-3000:] + pod.logs(GATE)[-3000:]
    line = wait_until(lambda: registered(pod, "client-good"), 10, "Kamailio to log the REGISTER")[0]
    assert f"revocation=[good;{pod.responder.url}" in line, line
    # The sidecar shared what it fetched: the fleet's Redis holds the signed answer.
    wait_until(lambda: pod.redis.keys("ocspgate:ocsp:*"), 10, "the answer in the shared cache")


def test_phone_with_revoked_certificate_is_refused(pod):
    assert refusal(pod.pki, pod.port, "client-revoked").reason == "SSLV3_ALERT_CERTIFICATE_REVOKED"
    code, output = phone_registers(pod, "client-revoked")
    assert code != 0, output
    rejected = wait_until(lambda: pod.gate_events("close", decision="reject"), 10, "ocspgate's rejections")
    assert {e["reason"] for e in rejected} == {"certificate revoked"}, rejected
    assert not registered(pod, "client-revoked"), pod.logs(KAMAILIO)[-3000:]


def test_kube_down_removes_the_pod(pod):
    r = podman("kube", "down", pod.manifest, check=False, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert podman("pod", "exists", POD, check=False).returncode == 1
    assert podman("container", "exists", GATE, check=False).returncode == 1
