"""`repo-tools serve --tls`: the development server, as a real subprocess over real sockets."""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.bundles import make_bundle
from tests.support.publisher import run_tools, tools_command


@contextmanager
def serving(repo: Path, keys: Path, *args: str) -> Iterator[dict[str, str]]:
    """Start `repo-tools serve`, yield what it printed (url, ca_bundle), stop it."""
    process = subprocess.Popen(
        tools_command(repo, keys, "serve", "--port", "0", *args),
        stderr=subprocess.PIPE,
        text=True,
    )
    last_line = "ca_bundle" if "--tls" in args else "targets_url"
    try:
        printed: dict[str, str] = {}
        for line in process.stderr:
            if match := re.match(r"serving .* at (\S+)/$", line):
                printed["url"] = match.group(1)
            if match := re.match(r"\s+ca_bundle:\s+(\S+)", line):
                printed["ca_bundle"] = match.group(1)
            if line.strip().startswith(last_line):
                break
        yield printed
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_tls_serves_only_published_files_and_keeps_its_ca(tmp_path: Path) -> None:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    assert run_tools(repo, keys, "init", "--app-name", "bot").returncode == 0
    bundle = make_bundle(tmp_path / "bundle")
    assert (
        run_tools(repo, keys, "release", "--bundle", str(bundle), "--bump", "minor").returncode == 0
    )
    tls = ("--tls", "--tls-dir", str(tmp_path / "tls"))
    with serving(repo, keys, *tls) as first:
        ca_bundle = first["ca_bundle"]
        get = lambda path: requests.get(first["url"] + path, verify=ca_bundle, timeout=10)  # noqa: E731
        assert (
            get("/metadata/timestamp.json").content
            == (repo / "metadata" / "timestamp.json").read_bytes()
        )
        for private in (
            "/repo-tools.json",
            "/metadata/",
            "/metadata/../repo-tools.json",
            "/metadata/%2e%2e/repo-tools.json",
            "/targets/%2E%2E/%2E%2E/etc/passwd",
            "/",
        ):
            assert get(private).status_code == 404, private
        head = requests.head(first["url"] + "/metadata/%2e%2e/repo-tools.json", verify=ca_bundle)
        assert head.status_code == 404
    ca_pem = Path(ca_bundle).read_bytes()
    assert (tmp_path / "tls" / "dev-ca.key").stat().st_mode & 0o077 == 0
    with serving(repo, keys, *tls) as second:
        # a restarted server keeps its CA: clients configured with the file keep working
        assert Path(second["ca_bundle"]).read_bytes() == ca_pem
        reply = requests.get(second["url"] + "/metadata/1.root.json", verify=ca_bundle, timeout=10)
        assert reply.status_code == 200


def test_serve_on_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    assert run_tools(repo, keys, "init", "--app-name", "bot").returncode == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = run_tools(repo, keys, "serve", "--port", port)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
