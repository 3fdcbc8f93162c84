import harness
import pytest

from harness import Backend, FakeHttpResponder, Ocspgate, OcspResponder, free_port, make_pki, revocation_config


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def echo_backend():
    backend = Backend("echo")
    yield backend
    backend.close()


class Peers:
    """Starts the processes and threads of one test and stops every one of them at teardown."""

    def __init__(self, workdir, pki):
        self.workdir, self.pki = workdir, pki
        self._started = []

    def responder(self, pki=None, **kw):
        kw.setdefault("name", f"ocsp{len(self._started)}")
        r = OcspResponder(self.workdir, pki or self.pki, **kw)
        self._started.append(r.stop)
        return r

    def fake(self, mode, **kw):
        f = FakeHttpResponder(mode, **kw)
        self._started.append(f.close)
        return f

    def backend(self):
        b = Backend("echo")
        self._started.append(b.close)
        return b

    def gate(self, config, name="ocspgate"):
        g = Ocspgate(self.workdir, config, name=name)
        self._started.append(g.stop)  # a clean exit is asserted by the test (stop_cleanly)
        return g

    def proxy(self, pki=None, handshake_timeout="5s", extra_server="", **revocation):
        """ocspgate with an echo backend in front of a [revocation] profile built by
        harness.revocation_config(**revocation); .port, .backend and .pki are set."""
        pki = pki or self.pki
        backend = self.backend()
        port = free_port()
        g = self.gate(revocation_config(pki, port, backend.port, handshake_timeout=handshake_timeout,
                                        extra_server=extra_server, **revocation))
        g.port, g.backend, g.pki = port, backend, pki
        return g

    def stop_all(self):
        errors = []
        for stop in reversed(self._started):
            try:
                stop()
            except Exception as e:  # stop the rest anyway
                errors.append(e)
        if errors:
            raise errors[0]


@pytest.fixture
def peers(tmp_path, pki):
    p = Peers(tmp_path, pki)
    yield p
    p.stop_all()


@pytest.fixture(autouse=True)
def no_stray_processes():
    """Whatever a test started and did not stop (it failed half-way) is killed afterwards."""
    yield
    while harness.STARTED:
        process = harness.STARTED.pop()
        if process.alive():
            process.stop(sig=9, timeout=5)
