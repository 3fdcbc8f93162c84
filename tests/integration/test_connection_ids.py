"""The log field `conn` names one connection of the process, whichever worker accepted it."""
from harness import Ocspgate, free_port, listener_config, round_trip, wait_until


def test_connection_ids_are_unique_across_workers(tmp_path, pki, echo_backend):
    port = free_port()
    gate = Ocspgate(tmp_path, listener_config(pki, port, echo_backend.port, extra_server="workers = 4"))
    count = 40
    for i in range(count):
        assert round_trip(pki, port, "client-good", b"ping %d" % i) == b"ping %d" % i
    closes = wait_until(lambda: (lambda e: e if len(e) == count else None)(gate.events("close")), 10, "every close")
    accepts = gate.events("accept")
    assert len({e["worker"] for e in accepts}) > 1, "the kernel spread the connections over several workers"
    ids = [e["conn"] for e in accepts]
    assert all(isinstance(i, int) for i in ids)
    assert sorted(ids) == list(range(1, count + 1)), ids  # one counter: every id once
    # Each close line carries the id and worker of its own accept line.
    by_id = {e["conn"]: e["worker"] for e in accepts}
    assert all(by_id[c["conn"]] == c["worker"] for c in closes)
    gate.stop_cleanly()
