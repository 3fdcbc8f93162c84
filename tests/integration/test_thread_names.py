"""Threads carry names an operator can find them by: each worker's event loop is
"ocspgate-w<N>" in top -H, perf and /proc (perf/crl_swap pins the loop by that name)."""
import os
from pathlib import Path

from harness import Ocspgate, free_port, listener_config, round_trip


def thread_names(pid: int) -> list[str]:
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            names.append(Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip())
        except OSError:  # the thread ended meanwhile
            pass
    return names


def test_each_worker_loop_is_named_by_its_number(tmp_path, pki, echo_backend):
    port = free_port()
    gate = Ocspgate(tmp_path, listener_config(pki, port, echo_backend.port, extra_server="workers = 3"))
    assert round_trip(pki, port, "client-good", b"x") == b"x"
    names = thread_names(gate.pid)
    assert sorted(n for n in names if n.startswith("ocspgate-w")) == ["ocspgate-w0", "ocspgate-w1", "ocspgate-w2"], names
    gate.stop_cleanly()
