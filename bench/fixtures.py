"""Published demo repositories on an HTTPS loopback server, for the client benchmarks.

Ours: a repository made by ``repo-tools`` (init, one release of examples/demo_app) and an
install root made by ``update-client setup`` from its archive, configured for the server, all
in the project's environment. Stock: the same bundle published by ``tufup.repo.Repository``
in stock tufup's environment (bench/stock/publish.py) and a client folder whose
``metadata/root.json`` a ``tufup.client.Client`` starts from. Each repository has its own
bench/loopback.py server on 127.0.0.1; one throwaway certificate authority signs both.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.loopback import LoopbackServer, make_ca
from bench.paths import ROOT, copy_demo_app
from bench.stock_env import run_stock

APP = "demo"


@dataclass(frozen=True)
class Demo:
    ours: LoopbackServer  # serves our repository (metadata/, targets/)
    install_root: Path  # made by `update-client setup`
    config: Path  # its updater_config.json
    stock: LoopbackServer  # serves stock tufup's repository
    stock_client: Path  # metadata/root.json to start from; app/ and targets/ are made there
    ca_file: Path  # the certificate authority of both servers
    version: str  # the one release, installed on both sides


def _ours(*command: str, cwd: Path) -> str:
    """``python -m MODULE ARGS`` in the project's environment."""
    full = [sys.executable, "-m", *command]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # bench/ itself is not installed
    result = subprocess.run(full, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-3:]
        raise RuntimeError(f"python -m {' '.join(command)} failed: {' / '.join(detail)}")
    return result.stdout


def _publish_ours(work: Path) -> tuple[Path, str]:
    repo, keys = work / "repo", work / "keys"
    tools = ["repo_tools", "--repo", str(repo), "--keys", str(keys)]
    _ours(*tools, "init", "--app-name", APP, cwd=work)
    bundle = copy_demo_app(work / "bundle")
    out = _ours(*tools, "release", "--bump", "minor", "--bundle", str(bundle), cwd=work)
    version = out.strip().splitlines()[-1].split()[-1]
    return repo, version


def _publish_stock(work: Path, version: str) -> Path:
    bundle = copy_demo_app(work / "bundle")
    return Path(run_stock("publish", work, bundle, version, APP, timeout=300)["repo"])


@contextlib.contextmanager
def demo(tmp: Path) -> Iterator[Demo]:
    """Both repositories published and served, our install root set up at the release."""
    tmp = tmp.resolve()
    ca = make_ca(tmp)
    (tmp / "ours").mkdir()
    (tmp / "stock").mkdir()
    ours_repo, version = _publish_ours(tmp / "ours")
    stock_repo = _publish_stock(tmp / "stock", version)
    with contextlib.ExitStack() as servers:
        ours = LoopbackServer(ours_repo, ca.server_context)
        servers.callback(ours.close)
        stock = LoopbackServer(stock_repo, ca.server_context)
        servers.callback(stock.close)
        root = tmp / "install"
        (archive,) = (ours_repo / "targets").glob(f"*.{APP}-{version}.tar.gz")
        _ours(
            "client.cli", "setup", "--install-root", str(root), "--from", str(archive),
            "--server", f"{ours.url}/metadata", f"{ours.url}/targets",
            "--ca-bundle", str(ca.ca_file),
            cwd=tmp,
        )  # fmt: skip
        stock_client = tmp / "stock-client"
        (stock_client / "metadata").mkdir(parents=True)
        shutil.copyfile(stock_repo / "metadata" / "root.json", stock_client / "metadata/root.json")
        yield Demo(
            ours=ours,
            install_root=root,
            config=root / "updater_config.json",
            stock=stock,
            stock_client=stock_client,
            ca_file=ca.ca_file,
            version=version,
        )
