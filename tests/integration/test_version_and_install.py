"""What a packager and an operator see first: `ocspgate --version` names the libraries it
runs with, and `cmake --install BUILD --prefix P` puts every file under P at the usual place."""
import re
import subprocess
from pathlib import Path

from harness import ocspgate_binary


def test_version_names_ocspgate_and_every_library():
    out = subprocess.run([ocspgate_binary(), "--version"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert re.fullmatch(r"ocspgate \d+\.\d+\.\d+", lines[0]), out
    for library in ("OpenSSL 3.", "libuv 1.", "llhttp ", "toml++ 3."):
        assert any(line.startswith(library) for line in lines[1:]), f"{library!r} missing from:\n{out}"


def test_install_puts_binary_man_page_config_and_unit_under_the_prefix(tmp_path):
    build = Path(ocspgate_binary()).resolve().parents[1]  # BUILD/proxy/ocspgate
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", str(build), "--prefix", str(prefix)], check=True, capture_output=True)
    installed = sorted(p.relative_to(prefix).as_posix() for p in prefix.rglob("*") if p.is_file())
    assert installed == ["bin/ocspgate", "etc/ocspgate/ocspgate.toml", "lib/systemd/system/ocspgate.service",
                         "share/man/man8/ocspgate.8.gz"], installed
    version = subprocess.run([prefix / "bin/ocspgate", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("ocspgate "), version.stdout
