"""Helpers for client tests: publish real releases with repo-tools, set up install roots."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from client.install import setup
from client.layout import Layout

CLIENT = str(Path(sys.executable).parent / "update-client")


def run_client(root: Path | None, *args: str) -> subprocess.CompletedProcess:
    """`update-client [--install-root ROOT] ARGS...` as a real subprocess."""
    command = [CLIENT, *(["--install-root", str(root)] if root else []), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def repo_tools(repo: Path, keys: Path, *args: str) -> str:
    command = [sys.executable, "-m", "repo_tools", "--repo", str(repo), "--keys", str(keys), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def write_app(bundle: Path, label: str, size: int = 300_000) -> Path:
    """A small app bundle: an entry point that prints its version, and a data file that
    changes a little between releases (so patches are small and archives are not)."""
    (bundle / "lib").mkdir(parents=True, exist_ok=True)
    (bundle / "app.py").write_text(
        "import json, pathlib, sys\n"
        "here = pathlib.Path(__file__).resolve().parent\n"
        "release = json.loads((here / '.update' / 'release.json').read_text())\n"
        f"print('app', release['version'], {label!r}, *sys.argv[1:])\n"
    )
    import random

    rng = random.Random(7)  # same "random" bytes every release: incompressible but patchable
    data = bytearray(rng.randbytes(size))
    data[1000 : 1000 + len(label)] = label.encode()
    (bundle / "lib" / "data.bin").write_bytes(bytes(data))
    return bundle


class Publisher:
    """A real TUF repository made by repo-tools in a temporary folder."""

    def __init__(self, base: Path, app: str = "demo") -> None:
        self.repo, self.keys, self.bundle = base / "repo", base / "keys", base / "bundle"
        self.app = app
        repo_tools(self.repo, self.keys, "init", "--app-name", app)

    def release(self, *args: str, label: str | None = None) -> str:
        write_app(self.bundle, label or " ".join(args))
        return repo_tools(self.repo, self.keys, "release", "--bundle", str(self.bundle), *args)

    def target_file(self, name: str) -> Path:
        (found,) = (self.repo / "targets").glob(f"*.{name}")
        return found

    def archive(self, version: str) -> Path:
        return self.target_file(f"{self.app}-{version}.tar.gz")


def server_entry(url: str) -> dict[str, str]:
    return {"metadata_url": f"{url}/metadata", "targets_url": f"{url}/targets"}


def install_root(
    root: Path, publisher: Publisher, version: str, servers: list[str], ca_file: Path, **settings
) -> Layout:
    layout = Layout(root)
    overrides = {
        "servers": [server_entry(url) for url in servers],
        "ca_bundle": str(ca_file),
        **settings,
    }
    setup(layout, publisher.archive(version), overrides)
    return layout


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
