"""One owner per listening address: a second ocspgate on a port another process listens on
fails at start (or refuses the reload that adds it), naming the address and the owner;
sharing between processes happens only with [server] share_listen_ports = true in all of them.
"""
import signal
import socket
import subprocess

from harness import (Ocspgate, free_port, listener_config, ocspgate_binary, round_trip, tls_connect,
                     recv_exactly, wait_until)


def gate_config(pki, port, backend_port, *, workers=2, share=False, name="test"):
    extra = f"workers = {workers}" + ("\nshare_listen_ports = true" if share else "")
    return listener_config(pki, port, backend_port, extra_server=extra, name=name)


def start_second(tmp_path, config, name="second"):
    """Runs a second ocspgate to its end (it must not start): exit code and output."""
    path = tmp_path / f"{name}.toml"
    path.write_text(config)
    r = subprocess.run([ocspgate_binary(), "--config", str(path)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=20)
    return r.returncode, r.stdout.decode(errors="replace")


def serves(pki, port, times=8):
    """Every one of `times` fresh connections gets its bytes echoed."""
    return all(round_trip(pki, port, "client-good", f"ping {i}".encode()) == f"ping {i}".encode()
               for i in range(times))


def test_second_instance_on_a_shared_port_fails_naming_the_address_and_owner(tmp_path, pki, echo_backend):
    port = free_port()
    first = Ocspgate(tmp_path, gate_config(pki, port, echo_backend.port), name="first")
    code, out = start_second(tmp_path, gate_config(pki, port, echo_backend.port))
    assert code == 1, out
    assert f"127.0.0.1:{port} is already in use by another process" in out, out
    assert f"pid {first.pid} (ocspgate)" in out, out
    assert "share_listen_ports" in out, out
    # The first one has every client: a second process would have taken about half of them.
    assert serves(pki, port)
    assert len(first.events("accept")) == 8
    first.stop_cleanly()


def test_second_instance_with_one_worker_fails_too(tmp_path, pki, echo_backend):
    port = free_port()
    first = Ocspgate(tmp_path, gate_config(pki, port, echo_backend.port, workers=1), name="first")
    code, out = start_second(tmp_path, gate_config(pki, port, echo_backend.port, workers=2))
    assert code == 1 and f"127.0.0.1:{port} is already in use by another process" in out, out
    assert serves(pki, port, times=2)
    first.stop_cleanly()


def test_a_port_held_by_another_program_is_named(tmp_path, pki, echo_backend):
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # would let REUSEPORT sockets join
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        code, out = start_second(tmp_path, gate_config(pki, port, echo_backend.port))
    assert code == 1 and f"127.0.0.1:{port} is already in use by another process" in out, out


def test_explicit_sharing_lets_both_start_and_serve(tmp_path, pki, echo_backend):
    port = free_port()
    first = Ocspgate(tmp_path, gate_config(pki, port, echo_backend.port, share=True), name="first")
    second = Ocspgate(tmp_path, gate_config(pki, port, echo_backend.port, share=True), name="second")
    # The kernel spreads new connections over both processes' sockets.
    conns = [tls_connect(pki, port, cert="client-good") for _ in range(40)]
    for c in conns:
        c.sendall(b"x")
        assert recv_exactly(c, 1) == b"x"
        c.close()
    wait_until(lambda: len(first.events("accept")) + len(second.events("accept")) == 40, 10, "40 accepts")
    assert first.events("accept") and second.events("accept")
    second.stop_cleanly()
    first.stop_cleanly()


def test_reload_adding_an_owned_address_is_refused(tmp_path, pki, echo_backend):
    taken = free_port()
    other = Ocspgate(tmp_path, gate_config(pki, taken, echo_backend.port), name="other")
    port = free_port()
    gate = Ocspgate(tmp_path, gate_config(pki, port, echo_backend.port), name="gate")
    extra = gate_config(pki, taken, echo_backend.port, name="second")
    extra = extra[extra.index("[[listener]]"):]
    gate.config_path.write_text(gate.config_path.read_text() + extra)
    gate.proc.send_signal(signal.SIGHUP)
    failed = gate.wait_event("reload_failed")[0]
    assert f"listener second: 127.0.0.1:{taken} is already in use by another process (pid {other.pid}" in failed["error"]
    assert serves(pki, port, times=2)  # the running configuration stays
    assert len(other.events("accept")) == 0
    gate.stop_cleanly()
    other.stop_cleanly()
