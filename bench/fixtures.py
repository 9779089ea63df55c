"""Published demo repositories on an HTTPS loopback server, for the client benchmarks.

Ours: a repository made by ``repo-tools`` (init, one release of examples/demo_app) and an
install root made by ``update-client setup`` from its archive, configured for the server.
Stock: the same bundle published by ``tufup.repo.Repository`` and a trusted-metadata folder
for ``tufup.client.Client``. Both are served by the test suite's HTTPS server
(tests/support/https_server.py) with a throwaway certificate authority, on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.paths import DEMO_APP

APP = "demo"


@dataclass
class Served:
    folder: Path
    server: object  # tests.support.https_server.StaticServer
    ca_file: Path

    @property
    def url(self) -> str:
        return self.server.url  # type: ignore[attr-defined]

    def reset_requests(self) -> None:
        self.server.requests.clear()  # type: ignore[attr-defined]

    def requests(self) -> list[str]:
        return list(self.server.requests)  # type: ignore[attr-defined]

    def bytes_served(self) -> int:
        """Payload bytes of the files the requests since the last reset asked for (404s: 0)."""
        total = 0
        for path in self.requests():
            file = self.folder / path.split("?", 1)[0].lstrip("/")
            if file.is_file():
                total += file.stat().st_size
        return total


@dataclass
class Demo:
    ours: Served
    install_root: Path
    config: Path
    stock: Served
    stock_metadata: Path  # the stock client's trusted metadata folder (root.json to start)
    stock_install: Path
    stock_targets: Path
    version: str


def _bundle(into: Path) -> Path:
    shutil.copytree(DEMO_APP, into, ignore=shutil.ignore_patterns("__pycache__"))
    return into


def _run(*command: str, cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return result.stdout


def _publish_ours(work: Path) -> tuple[Path, str]:
    repo, keys = work / "repo", work / "keys"
    tools = [sys.executable, "-m", "repo_tools", "--repo", str(repo), "--keys", str(keys)]
    _run(*tools, "init", "--app-name", APP, cwd=work)
    bundle = _bundle(work / "bundle")
    out = _run(*tools, "release", "--bump", "minor", "--bundle", str(bundle), cwd=work)
    version = out.strip().splitlines()[-1].split()[-1]
    return repo, version


def _publish_stock(work: Path, version: str) -> Path:
    from tufup.repo import Repository

    logging.getLogger("tufup").setLevel(logging.ERROR)
    previous = Path.cwd()
    os.chdir(work)  # tufup keeps its config file in the working directory
    try:
        repository = Repository(app_name=APP, repo_dir=work / "repo", keys_dir=work / "keys")
        repository.initialize()
        repository.add_bundle(new_bundle_dir=_bundle(work / "bundle"), new_version=version)
        repository.publish_changes(private_key_dirs=[work / "keys"])
    finally:
        os.chdir(previous)
    return work / "repo"


@contextlib.contextmanager
def demo(tmp: Path) -> Iterator[Demo]:
    """Both repositories published and served, our install root set up at the release."""
    from tests.support.https_server import StaticServer, make_test_ca

    tmp = tmp.resolve()
    ca = make_test_ca(tmp)
    (tmp / "ours").mkdir()
    (tmp / "stock").mkdir()
    ours_repo, version = _publish_ours(tmp / "ours")
    stock_repo = _publish_stock(tmp / "stock", version)
    ours_server = StaticServer(ours_repo, ca.server_context)
    stock_server = StaticServer(stock_repo, ca.server_context)
    try:
        root = tmp / "install"
        (archive,) = (ours_repo / "targets").glob(f"*.{APP}-{version}.tar.gz")
        _run(
            sys.executable, "-m", "client.cli", "setup", "--install-root", str(root),
            "--from", str(archive), "--server", f"{ours_server.url}/metadata",
            f"{ours_server.url}/targets", "--ca-bundle", str(ca.ca_file),
            cwd=tmp,
        )  # fmt: skip
        stock_meta = tmp / "stock-client" / "metadata"
        stock_meta.mkdir(parents=True)
        shutil.copyfile(stock_repo / "metadata" / "root.json", stock_meta / "root.json")
        yield Demo(
            ours=Served(ours_repo, ours_server, ca.ca_file),
            install_root=root,
            config=root / "updater_config.json",
            stock=Served(stock_repo, stock_server, ca.ca_file),
            stock_metadata=stock_meta,
            stock_install=tmp / "stock-client" / "app",
            stock_targets=tmp / "stock-client" / "targets",
            version=version,
        )
    finally:
        ours_server.close()
        stock_server.close()
