"""The fleet's shared OCSP response cache ([cache.shared], #20) with a real redis-server:
a second, cold instance decides from what the first one stored without asking the responder;
what Redis holds is validated like a fresh response (garbage, another certificate's response
and a response signed by a key that may not answer are refused, counted, and replaced); and a
Redis that is killed, slow or full never fails or delays a handshake beyond `timeout`."""
import datetime
import select
import socket
import subprocess
import threading
import time
import urllib.request

from concurrent_clients import run_together
from crl_pki import CrlMaker, now
from harness import (expect_accept, expect_reject, free_port, refusal, revocation_config, round_trip,
                     wait_until)
from prometheus import parse_metrics, value
from redis_peer import RedisServer

REVOKED, UNKNOWN = "SSLV3_ALERT_CERTIFICATE_REVOKED", "SSLV3_ALERT_CERTIFICATE_UNKNOWN"
PREFIX = "fleet-test:"


def shared_gate(peers, redis_url: str, responders, *, name="ocspgate", extra_cache="", **kw):
    """ocspgate with an echo backend, one [revocation] profile, [cache.shared] and [admin]."""
    backend = peers.backend()
    port, admin_port = free_port(), free_port()
    config = revocation_config(peers.pki, port, backend.port, responders=responders, **kw)
    config += f'\n[cache.shared]\nurl = "{redis_url}"\nkey_prefix = "{PREFIX}"\n{extra_cache}\n'
    config += f'\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n'
    gate = peers.gate(config, name=name)
    gate.port, gate.backend, gate.pki, gate.admin_port = port, backend, peers.pki, admin_port
    return gate


def metrics(gate) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{gate.admin_port}/metrics", timeout=5) as r:
        return parse_metrics(r.read().decode())


def stored_key(redis, before: set) -> bytes:
    """The one key that appeared since `before` (the write-back is asynchronous)."""
    wait_until(lambda: len(redis.keys(PREFIX + "*") - before) == 1, 5, "the response to be written to Redis")
    (key,) = redis.keys(PREFIX + "*") - before
    return key


def test_second_instance_decides_from_the_shared_cache_without_the_responder(peers, tmp_path):
    redis = RedisServer(tmp_path)
    ocsp = peers.responder()
    a = shared_gate(peers, redis.url, [ocsp.url], name="a")
    assert expect_accept(a, "client-good")["revocation_source"] == ocsp.url
    good_key = stored_key(redis, set())
    assert expect_reject(a, "client-revoked", REVOKED)["revocation_source"] == ocsp.url
    revoked_key = stored_key(redis, {good_key})
    assert ocsp.requests == 2
    ttl = redis.command("TTL", revoked_key)
    assert 0 < ttl <= 5 * 60, ttl  # nextUpdate is 5 minutes away (-nmin 5), below max_ttl's hour
    assert redis.command("GET", good_key)[:1] == b"\x30"  # the DER OCSPResponse as signed

    b = shared_gate(peers, redis.url, [ocsp.url], name="b")  # a separate process, cold cache
    good = expect_accept(b, "client-good")
    assert (good["revocation"], good["revocation_source"]) == ("good", "shared_cache"), good
    revoked = expect_reject(b, "client-revoked", REVOKED)
    assert (revoked["revocation"], revoked["revocation_source"]) == ("revoked", "shared_cache"), revoked
    assert ocsp.requests == 2  # B asked the responder nothing
    samples = metrics(b)
    assert value(samples, "ocspgate_shared_cache_hits_total", profile="r") == 2
    assert value(samples, "ocspgate_revocation_responder_queries_total", profile="r") == 0
    assert value(samples, "ocspgate_shared_cache_duration_seconds_count", profile="r") == 2
    assert value(metrics(a), "ocspgate_shared_cache_misses_total", profile="r") == 2
    assert value(metrics(a), "ocspgate_shared_cache_writes_total", profile="r") == 2
    a.stop_cleanly()
    b.stop_cleanly()


def test_simultaneous_handshakes_share_one_redis_get(peers, tmp_path):
    redis = RedisServer(tmp_path)
    ocsp = peers.responder()
    a = shared_gate(peers, redis.url, [ocsp.url], name="a")
    expect_accept(a, "client-good")
    stored_key(redis, set())
    a.stop_cleanly()
    ocsp.stop()  # from now on only Redis can answer
    b = shared_gate(peers, redis.url, [ocsp.url], name="b", extra_cache='timeout = "3s"',
                    extra_server="workers = 2")
    expect_reject(b, "client-extra-06", UNKNOWN)  # a loop connects; nobody answers for this one
    redis.command("CONFIG", "RESETSTAT")
    # Redis sleeps while the handshakes arrive: they all wait on the first one's GET.
    sleeper = threading.Thread(target=lambda: redis.command("DEBUG", "SLEEP", "0.8", timeout=10))
    sleeper.start()
    time.sleep(0.1)
    clients = 12
    outcomes = run_together(b.pki, b.port, ["client-good"] * clients)
    sleeper.join(10)
    assert outcomes == [("accept",)] * clients, outcomes
    closes = b.wait_event("close", count=clients, decision="accept")
    assert {c["revocation_source"] for c in closes} == {"shared_cache"}, closes
    stats = redis.command("INFO", "commandstats").decode()
    get_calls = [line for line in stats.splitlines() if line.startswith("cmdstat_get:")]
    assert get_calls and get_calls[0].startswith("cmdstat_get:calls=1,"), stats
    b.stop_cleanly()


def test_forged_entries_for_a_revoked_certificate_do_not_let_it_in(peers, tmp_path, pki):
    redis = RedisServer(tmp_path)
    ocsp = peers.responder()
    a = shared_gate(peers, redis.url, [ocsp.url], name="a")
    expect_accept(a, "client-good")
    good_key = stored_key(redis, set())
    expect_reject(a, "client-revoked", REVOKED)
    revoked_key = stored_key(redis, {good_key})
    a.stop_cleanly()
    genuine_good = redis.command("GET", good_key)
    # A "good" answer for client-revoked, signed by a key that may not answer for its CA (the
    # server certificate's: no OCSPSigning), from the database before it was revoked.
    wrong_signer = peers.responder(index="index-before.txt", signer="server", probe_cert="client-revoked")
    wrong_path = tmp_path / "wrong-signer.der"
    from harness import fetch_ocsp_response
    wrongly_signed = fetch_ocsp_response(pki, wrong_signer.url, wrong_path, cert="client-revoked", nonce=False)
    wrong_signer.stop()
    # A genuine "good" for client-revoked from before its revocation, by the real signer, but
    # stale: produced a day ago, its nextUpdate 5 minutes after that.
    old_responder = peers.responder(index="index-before.txt", faketime="-1d", probe_cert="client-revoked")
    stale_good = fetch_ocsp_response(pki, old_responder.url, tmp_path / "stale.der", cert="client-revoked", nonce=False)
    old_responder.stop()

    forgeries = [
        (b"not an OCSP response", "malformed"),
        (genuine_good[: len(genuine_good) // 2], "malformed"),       # truncated
        (genuine_good, "no_matching_response"),                      # signed, but for client-good
        (wrongly_signed, "unauthorized_signer"),                     # good, signed by the wrong key
        (stale_good, "expired"),                                     # good, genuine, but stale
    ]
    for i, (forged, reason) in enumerate(forgeries):
        redis.command("SET", revoked_key, forged, "EX", 300)
        gate = shared_gate(peers, redis.url, [ocsp.url], name=f"b{i}")
        refused = expect_reject(gate, "client-revoked", REVOKED)
        assert (refused["revocation"], refused["revocation_source"]) == ("revoked", ocsp.url), refused
        assert f"shared cache entry rejected ({reason}" in refused["revocation_detail"], refused
        assert value(metrics(gate), "ocspgate_shared_cache_rejected_total", profile="r", reason=reason) == 1
        # The responder's answer replaced the forgery.
        wait_until(lambda: redis.command("GET", revoked_key) != forged, 5, "the forged entry to be replaced")
        gate.stop_cleanly()


def test_killed_redis_never_fails_a_handshake_and_is_reconnected(peers, tmp_path):
    redis = RedisServer(tmp_path)
    ocsp = peers.responder()
    gate = shared_gate(peers, redis.url, [ocsp.url], extra_ocsp='max_cache_ttl = "1s"')
    assert expect_accept(gate, "client-extra-01")["revocation_source"] == ocsp.url
    stored_key(redis, set())
    port = redis.port
    redis.stop(sig=9)
    started = time.monotonic()
    assert expect_accept(gate, "client-extra-02")["revocation_source"] == ocsp.url
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation_source"] == ocsp.url
    assert time.monotonic() - started < 3
    assert value(metrics(gate), "ocspgate_shared_cache_errors_total", profile="r", kind="connection") >= 1

    redis = RedisServer(tmp_path, port=port)  # back, and empty
    # Each handshake after the backoff stores its answer again; bounded: 10 tries, 1.2 s apart.
    for attempt in range(10):
        time.sleep(1.2)  # client-extra-03's cached answer (max_cache_ttl) is gone
        assert expect_accept(gate, "client-extra-03")["revocation"] == "good"
        if redis.keys(PREFIX + "*"):
            break
    assert redis.keys(PREFIX + "*"), "ocspgate never wrote to the restarted Redis"
    gate.stop_cleanly()


def test_slow_redis_delays_a_handshake_by_its_timeout_only(peers, tmp_path):
    redis = RedisServer(tmp_path)
    ocsp = peers.responder()
    gate = shared_gate(peers, redis.url, [ocsp.url], extra_cache='timeout = "50ms"')
    expect_accept(gate, "client-extra-04")  # connected
    sleeper = threading.Thread(target=lambda: redis.command("DEBUG", "SLEEP", "1.5", timeout=10))
    sleeper.start()
    time.sleep(0.2)  # Redis is asleep now
    started = time.monotonic()
    slow = expect_accept(gate, "client-extra-05")
    took = time.monotonic() - started
    sleeper.join(10)
    assert slow["revocation_source"] == ocsp.url
    assert "shared cache unavailable (timeout" in slow["revocation_detail"], slow
    assert took < 0.9, took  # not the 1.3 s Redis still slept
    assert value(metrics(gate), "ocspgate_shared_cache_errors_total", profile="r", kind="timeout") == 1
    gate.stop_cleanly()


def test_full_redis_still_decides(peers, tmp_path):
    redis = RedisServer(tmp_path, extra=("--maxmemory", "1mb", "--maxmemory-policy", "noeviction"))
    for i in range(512):  # fill it: 8 KiB at a time until Redis refuses (bounded: 4 MiB)
        try:
            redis.command("SET", f"filler:{i}", b"x" * 8192)
        except RuntimeError as e:
            assert str(e).startswith("OOM"), e
            break
    else:
        raise AssertionError("Redis never became full")
    ocsp = peers.responder()
    gate = shared_gate(peers, redis.url, [ocsp.url])
    for i in range(1, 11):
        assert expect_accept(gate, f"client-extra-{i:02d}")["revocation"] == "good"
    assert expect_reject(gate, "client-revoked", REVOKED)["revocation"] == "revoked"
    # Each of the 11 answers was refused (OOM), and counted so once Redis replied.
    def accounted():
        samples = metrics(gate)
        return (value(samples, "ocspgate_shared_cache_writes_total", profile="r"),
                value(samples, "ocspgate_shared_cache_errors_total", profile="r", kind="write"))
    wait_until(lambda: sum(accounted()) == 11, 5, "every write to be answered")
    assert accounted() == (0, 11)
    gate.stop_cleanly()


def test_rediss_url_is_a_config_error_that_names_the_tunnel(peers, tmp_path):
    import subprocess

    from harness import ocspgate_binary
    config = revocation_config(peers.pki, free_port(), free_port(), responders=["http://127.0.0.1:1"])
    config += '\n[cache.shared]\nurl = "rediss://redis.example:6380/0"\n'
    path = tmp_path / "tls.toml"
    path.write_text(config)
    r = subprocess.run([ocspgate_binary(), "--config", path, "--check-config"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode != 0
    assert "hiredis" in r.stderr + r.stdout and "tunnel" in r.stderr + r.stdout, r


def test_unix_socket_and_password(peers, tmp_path):
    redis = RedisServer(tmp_path, password="fleet-secret")
    (tmp_path / "redis.pass").write_text("fleet-secret\n")
    ocsp = peers.responder()
    gate = shared_gate(peers, f"unix:{redis.socket_path}", [ocsp.url],
                       extra_cache=f'password_file = "{tmp_path / "redis.pass"}"')
    assert expect_accept(gate, "client-good")["revocation_source"] == ocsp.url
    stored_key(redis, set())
    gate.stop_cleanly()

    (tmp_path / "wrong.pass").write_text("not-the-password\n")
    wrong = shared_gate(peers, redis.url, [ocsp.url], name="wrong",
                        extra_cache=f'password_file = "{tmp_path / "wrong.pass"}"')
    refused = expect_reject(wrong, "client-revoked", REVOKED)  # decided by the responder all the same
    assert (refused["revocation"], refused["revocation_source"]) == ("revoked", ocsp.url), refused
    assert "shared cache unavailable" in refused["revocation_detail"], refused
    assert len(redis.keys(PREFIX + "*")) == 1
    wrong.stop_cleanly()


def test_the_readme_socat_tunnel_reaches_a_tls_redis(peers, tmp_path, pki):
    """README "Shared cache": hiredis has no TLS, so a local socat tunnel carries it. Here the
    far end is a socat TLS server in front of redis-server (standing in for a TLS Redis)."""
    from harness import Process
    redis = RedisServer(tmp_path)
    tls_port, local_port = free_port(), free_port()
    far = Process(["socat", f"OPENSSL-LISTEN:{tls_port},bind=127.0.0.1,reuseaddr,fork,"
                   f"cert={pki}/server-chain.pem,key={pki}/server.key,verify=0",
                   f"TCP:127.0.0.1:{redis.port}"], tmp_path / "socat-far.log")
    # The README's command, with this test's host name, CA file and ports.
    near = Process(["socat", f"TCP-LISTEN:{local_port},bind=127.0.0.1,reuseaddr,fork",
                    f"OPENSSL:127.0.0.1:{tls_port},cafile={pki}/root-ca.pem,verify=1"], tmp_path / "socat-near.log")
    try:
        ocsp = peers.responder()
        wait_until(lambda: far.alive() and near.alive(), 2, "socat to start")
        a = shared_gate(peers, f"redis://127.0.0.1:{local_port}/0", [ocsp.url], name="a")
        # The tunnel may need a moment to listen: the first lookups may find it closed.
        for attempt in range(10):
            expect_accept(a, f"client-extra-{attempt + 10:02d}")
            if redis.keys(PREFIX + "*"):
                break
            time.sleep(0.3)
        assert redis.keys(PREFIX + "*"), near.output() + far.output()
        a.stop_cleanly()
    finally:
        near.stop()
        far.stop()


def test_host_names_are_resolved_off_the_loop(peers, tmp_path):
    redis = RedisServer(tmp_path)
    ocsp = peers.responder()
    by_name = shared_gate(peers, f"redis://localhost:{redis.port}/0", [ocsp.url], name="byname")
    # The first lookup finds no connection yet (the name is being resolved): at most a few.
    for attempt in range(5):
        expect_accept(by_name, f"client-extra-{attempt + 15:02d}")
        if redis.keys(PREFIX + "*"):
            break
        time.sleep(0.2)
    assert redis.keys(PREFIX + "*")
    by_name.stop_cleanly()

    nowhere = shared_gate(peers, "redis://no-such-host.invalid:6379/0", [ocsp.url], name="nowhere")
    assert expect_accept(nowhere, "client-good")["revocation_source"] == ocsp.url
    assert expect_reject(nowhere, "client-revoked", REVOKED)["revocation_source"] == ocsp.url
    assert value(metrics(nowhere), "ocspgate_shared_cache_errors_total", profile="r", kind="connection") == 2
    nowhere.stop_cleanly()


class DelayRelay:
    """A TCP relay on 127.0.0.1 that holds every chunk a client sends for `delay` seconds before
    passing it on: a responder that answers late, so that instances starting at once all miss
    Redis before the first answer is stored. One thread per connection, each bounded in time."""

    def __init__(self, target_port: int, delay: float):
        self.target_port, self.delay = target_port, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, client):
        deadline = time.monotonic() + 10
        with client, socket.create_connection(("127.0.0.1", self.target_port), timeout=5) as upstream:
            peers_of = {client: upstream, upstream: client}
            while time.monotonic() < deadline and not self.closed:
                ready, _, _ = select.select(list(peers_of), [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is client:
                        time.sleep(self.delay)
                    peers_of[s].sendall(data)

    def close(self):
        self.closed = True
        self.listener.close()


FLEET_CERTS = ["client-good", "client-revoked"] + [f"client-extra-{i:02d}" for i in range(1, 7)]


def fleet_round(peers, redis, responder_url: str, lease: str | None, instances: int = 4):
    """`instances` cold instances sharing `redis`; every one handshakes every FLEET_CERT at the
    same moment. Returns (their close events, summed lease counters)."""
    cache = 'timeout = "500ms"\n' + (f'lease = "{lease}"\n' if lease else "")
    gates = [shared_gate(peers, redis.url, [responder_url], name=f"fleet-{lease or 'nolease'}-{i}",
                         extra_cache=cache, timeout="2s") for i in range(instances)]
    for i, g in enumerate(gates):
        g.fleet_name = f"instance {i}"
    jobs = [(g, cert) for g in gates for cert in FLEET_CERTS]
    start = threading.Barrier(len(jobs), timeout=20)
    outcome = {}

    def client(g, cert):
        try:
            start.wait()
            if cert == "client-revoked":
                outcome[(g.fleet_name, cert)] = refusal(g.pki, g.port, cert, timeout=10).reason
            else:
                outcome[(g.fleet_name, cert)] = round_trip(g.pki, g.port, cert, b"fleet", timeout=10)
        except Exception as e:  # recorded, asserted below
            outcome[(g.fleet_name, cert)] = repr(e)

    threads = [threading.Thread(target=client, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for g, cert in jobs:  # each client has its own verdict, on every instance
        assert outcome[(g.fleet_name, cert)] == (REVOKED if cert == "client-revoked" else b"fleet"), (g.fleet_name, cert, outcome)
    counters = {}
    for g in gates:
        g.wait_event("close", count=len(FLEET_CERTS))
        samples = metrics(g)
        for name in ("leases_won", "lease_waits", "lease_waits_answered", "lease_waits_fell_back"):
            counters[name] = counters.get(name, 0) + value(samples, f"ocspgate_shared_cache_{name}_total", profile="r")
    for g in gates:
        g.stop_cleanly()
    return counters


def test_a_fleet_starting_at_once_asks_the_responder_once_per_certificate_with_the_lease(peers, tmp_path):
    redis = RedisServer(tmp_path)
    ocsp = peers.responder()
    late = DelayRelay(ocsp.port, 0.2)  # the first answer is stored 200 ms after the first miss
    try:
        without = fleet_round(peers, redis, late.url, lease=None)
        queries_without = ocsp.requests
        assert without["leases_won"] == without["lease_waits"] == 0, without
        # Every instance misses Redis before anyone's answer is there: about N per certificate.
        assert queries_without >= 3 * len(FLEET_CERTS), queries_without

        redis.command("FLUSHALL")
        with_lease = fleet_round(peers, redis, late.url, lease="1s")
        queries_with = ocsp.requests - queries_without
        assert queries_with == len(FLEET_CERTS), (queries_with, with_lease)
        assert with_lease["leases_won"] == len(FLEET_CERTS), with_lease
        assert with_lease["lease_waits"] == with_lease["lease_waits_answered"] == 3 * len(FLEET_CERTS), with_lease
        assert with_lease["lease_waits_fell_back"] == 0, with_lease
        print(f"responder queries for {len(FLEET_CERTS)} certificates x 4 instances: "
              f"{queries_without} without the lease, {queries_with} with it")
    finally:
        late.close()


def test_a_lease_holder_that_never_answers_costs_the_others_one_lease_then_the_responder(peers, tmp_path):
    redis = RedisServer(tmp_path)
    ocsp = peers.responder()
    cache = 'lease = "300ms"\ntimeout = "500ms"'
    a = shared_gate(peers, redis.url, [ocsp.url], name="a", extra_cache=cache)
    expect_accept(a, "client-good")  # took the lease, asked, stored
    wait_until(lambda: len(redis.keys(PREFIX + "*")) == 2, 5, "the response and the lease in Redis")
    keys = redis.keys(PREFIX + "*")
    (lease,) = {k for k in keys if k.endswith(b":lease")}
    (entry,) = keys - {lease}
    assert value(metrics(a), "ocspgate_shared_cache_leases_won_total", profile="r") == 1
    a.stop_cleanly()
    # Another instance took the lease for client-good and died before answering.
    redis.command("FLUSHALL")
    redis.command("SET", lease, b"elsewhere:1", "PX", "5000")

    b = shared_gate(peers, redis.url, [ocsp.url], name="b", extra_cache=cache)
    asked = ocsp.requests
    started = time.monotonic()
    close = expect_accept(b, "client-good")
    waited = time.monotonic() - started
    assert close["revocation_source"] == ocsp.url, close
    assert ocsp.requests == asked + 1
    assert 0.25 <= waited < 1.5, waited  # one lease of polling, then the responder
    samples = metrics(b)
    assert value(samples, "ocspgate_shared_cache_lease_waits_total", profile="r") == 1
    assert value(samples, "ocspgate_shared_cache_lease_waits_fell_back_total", profile="r") == 1
    assert value(samples, "ocspgate_shared_cache_leases_won_total", profile="r") == 0
    wait_until(lambda: redis.keys(PREFIX + "*") == {lease, entry}, 5, "the fallback's answer to be shared")
    b.stop_cleanly()

    # The lease is held elsewhere again, and Redis stops answering while this instance waits:
    # the poll that gets no answer within `timeout` ends the wait at once (not the 2 s lease).
    redis.command("FLUSHALL")
    redis.command("SET", lease, b"elsewhere:1", "PX", "5000")
    c = shared_gate(peers, redis.url, [ocsp.url], name="c", extra_cache='lease = "2s"\ntimeout = "100ms"')
    expect_accept(c, "client-extra-07")  # its loop connects to Redis
    asked = ocsp.requests
    sleeper = threading.Thread(target=lambda: (time.sleep(0.1), redis.command("DEBUG", "SLEEP", "1.5", timeout=10)))
    started = time.monotonic()
    sleeper.start()
    close = expect_accept(c, "client-good")  # GET: absent; lease: held; polls every 200 ms
    waited = time.monotonic() - started
    sleeper.join(10)
    assert close["revocation_source"] == ocsp.url, close
    assert ocsp.requests == asked + 1
    assert waited < 1.0, waited  # the first poll (at 200 ms) timed out at 300 ms
    samples = metrics(c)
    assert value(samples, "ocspgate_shared_cache_lease_waits_fell_back_total", profile="r") == 1
    assert value(samples, "ocspgate_shared_cache_errors_total", profile="r", kind="timeout") >= 1
    assert "shared cache unavailable (timeout" in close["revocation_detail"], close
    c.stop_cleanly()

    # A lease longer than the handshake can wait: the wait ends at half of the lookup's share
    # (the OCSP timeout, 1 s, within a 2 s handshake), leaving the other half to the responder.
    redis.command("FLUSHALL")
    redis.command("SET", lease, b"elsewhere:1", "PX", "20000")
    d = shared_gate(peers, redis.url, [ocsp.url], name="d", handshake_timeout="2s",
                    extra_cache='lease = "10s"\ntimeout = "500ms"')
    asked = ocsp.requests
    started = time.monotonic()
    close = expect_accept(d, "client-good")
    waited = time.monotonic() - started
    assert close["revocation_source"] == ocsp.url, close
    assert ocsp.requests == asked + 1
    assert 0.3 <= waited < 1.0, waited
    assert value(metrics(d), "ocspgate_shared_cache_lease_waits_fell_back_total", profile="r") == 1
    d.stop_cleanly()


# --- CRLs through the shared cache --------------------------------------------------------

def test_a_crl_one_instance_downloaded_serves_another_and_a_forged_one_is_refused(peers, tmp_path, pki):
    redis = RedisServer(tmp_path)
    origin = peers.fake("body", body=(pki / "issuing-ca.crl.der").read_bytes(), content_type="application/pkix-crl")
    url = origin.url + "/issuing-ca.crl"
    a = shared_gate(peers, redis.url, [], name="a", methods=["crl"], crl_urls=[url])
    expect_accept(a, "client-good")
    crl_key = stored_key(redis, set())
    assert b":crl:" in crl_key and redis.command("GET", crl_key) == (pki / "issuing-ca.crl.der").read_bytes()
    assert origin.requests == 1

    # B (cold) decides from Redis at once, then confirms the CRL with its URL in the background.
    b = shared_gate(peers, redis.url, [], name="b", methods=["crl"], crl_urls=[url])
    assert expect_reject(b, "client-revoked", REVOKED)["revocation_source"] == url
    assert value(metrics(b), "ocspgate_shared_cache_hits_total", profile="r") == 1
    wait_until(lambda: origin.requests == 2, 5, "B's background confirmation from the URL")
    expect_accept(b, "client-good")

    # A CRL that no key of the issuer signed (the root's, under the issuing CA's URL) is refused
    # and the URL is asked: the revoked client stays refused.
    redis.command("SET", crl_key, (pki / "root-ca.crl.der").read_bytes())
    c = shared_gate(peers, redis.url, [], name="c", methods=["crl"], crl_urls=[url])
    expect_reject(c, "client-revoked", REVOKED)
    assert origin.requests == 3
    assert value(metrics(c), "ocspgate_shared_cache_rejected_total", profile="r", reason="crl_bad_signature") == 1
    for gate in (a, b, c):
        gate.stop_cleanly()


def test_an_older_crl_replayed_through_redis_is_replaced_by_the_urls_at_once(peers, tmp_path, pki):
    """A Redis writer replays an older CRL the CA really signed, still current, from before
    client-revoked was revoked: a cold instance asks the URL in the background at once, so the
    replay cannot keep the revoked client in."""
    redis = RedisServer(tmp_path)
    current = (pki / "issuing-ca.crl.der").read_bytes()
    origin = peers.fake("body", body=current, content_type="application/pkix-crl")
    url = origin.url + "/issuing-ca.crl"
    older = CrlMaker(pki, tmp_path / "crls").crl("older", number=0,  # a day old, still current, lists nothing
                                                  last_update=now() - datetime.timedelta(days=1),
                                                  next_update=now() + datetime.timedelta(days=6))
    der = tmp_path / "older.der"
    subprocess.run(["openssl", "crl", "-in", older, "-outform", "DER", "-out", der], check=True)
    # The key the CRL's URL is stored under: let one instance store the current CRL first.
    a = shared_gate(peers, redis.url, [], name="a", methods=["crl"], crl_urls=[url])
    expect_accept(a, "client-good")
    crl_key = stored_key(redis, set())
    redis.command("SET", crl_key, der.read_bytes())
    d = shared_gate(peers, redis.url, [], name="d", methods=["crl"], crl_urls=[url])
    expect_accept(d, "client-good")  # decided from the replayed CRL, and the URL asked at once
    wait_until(lambda: origin.requests == 2, 5, "the background confirmation from the URL")
    wait_until(lambda: refusal(pki, d.port, "client-revoked").reason == REVOKED, 5,
               "the URL's CRL to replace the replayed one")
    a.stop_cleanly()
    d.stop_cleanly()
