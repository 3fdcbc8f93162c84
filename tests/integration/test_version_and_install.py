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


def test_print_admin_address_reads_the_config_for_the_container_probe(tmp_path):
    def run(text):
        config = tmp_path / "c.toml"
        config.write_text(text)
        return subprocess.run([ocspgate_binary(), "--print-admin-address", "--config", config],
                              capture_output=True, text=True)

    moved = run('[admin]\nlisten = "127.0.0.1:19901"\n')
    assert (moved.returncode, moved.stdout) == (0, "127.0.0.1:19901\n"), moved
    default = run("[admin]\n")
    assert (default.returncode, default.stdout) == (0, "127.0.0.1:9901\n"), default
    off = run('[server]\nworkers = 1\n')
    assert off.returncode == 1 and "no [admin] table" in off.stderr, off
    missing = subprocess.run([ocspgate_binary(), "--print-admin-address", "--config", tmp_path / "none.toml"],
                             capture_output=True, text=True)
    assert missing.returncode == 2, missing
