import pytest

from harness import Backend, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def echo_backend():
    backend = Backend("echo")
    yield backend
    backend.close()
