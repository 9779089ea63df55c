"""Stock tufup 0.10 in tests: its own virtual environment, driven as a child process.

tufup 0.10 pins tuf 4.0 and the project needs tuf 7, so stock tufup never runs in our
environment: `bench.stock_env` makes ``.bench/stock-env`` (``pip install tufup==0.10.0``) the
first time a test needs it and later runs reuse it; a clean CI machine makes it in its first
test that needs it (about 15 s). tests/support/tufup_child.py is what runs in it; the helpers
here start it and return the JSON it prints.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.stock_env import stock_env, stock_python

CHILD = Path(__file__).with_name("tufup_child.py")


def run_tufup(*args: object, ca_file: Path | None = None, timeout: float = 240) -> dict[str, Any]:
    """Run ``tufup_child.py ARGS`` with stock tufup's interpreter; its last JSON line."""
    extra = {"REQUESTS_CA_BUNDLE": str(ca_file)} if ca_file is not None else {}
    command = [str(stock_python()), str(CHILD), *map(str, args)]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=stock_env(extra)
    )
    assert result.returncode == 0, (command, result.stdout, result.stderr)
    lines = result.stdout.strip().splitlines()
    assert lines, (command, result.stderr)
    return {**json.loads(lines[-1]), "log": result.stderr}


def tufup_names(*names: str) -> dict[str, dict[str, Any]]:
    """How stock tufup's TargetMeta reads each target name."""
    return run_tufup("names", *names)["names"]


class StockClient:
    """An application that embeds stock tufup's client, installed in its own in-place folder
    `base/app` (trusted metadata in base/metadata, downloads in base/targets). It knows its
    version the way such an application does: from the files installed (.update/release.json
    of a repo-tools bundle, or the version given at install time)."""

    def __init__(self, base: Path, app: str, version: str, root_json: Path, ca_file: Path):
        self.base, self.app, self.ca_file = base, app, ca_file
        (base / "metadata").mkdir(parents=True, exist_ok=True)
        (base / "app").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root_json, base / "metadata" / "root.json")
        self._version = version

    @property
    def app_dir(self) -> Path:
        return self.base / "app"

    @property
    def version(self) -> str:
        release = self.app_dir / ".update" / "release.json"
        if release.is_file():
            return json.loads(release.read_text())["version"]
        written = self.app_dir / "version.txt"  # a bundle of TufupPublisher
        return written.read_text().strip() if written.is_file() else self._version

    def update(self, url: str, pre: str | None = None) -> dict[str, Any]:
        """One start of the application: check, and install what tufup found."""
        args = ["update", "--app", self.app, "--version", self.version, "--url", url]
        args += ["--client-dir", self.base]
        if pre:
            args += ["--pre", pre]
        result = run_tufup(*args, ca_file=self.ca_file)
        if result.get("found"):
            self._version = result["found"]  # what a tufup-made bundle's new code would say
        return result


class TufupPublisher:
    """A publisher who uses stock tufup: ``tufup.repo.Repository`` in its own environment,
    in `work` (repository/ is served, keystore/ holds tufup's key files), releasing the
    launchable test app (tests/support/bundles.py) from work/bundle."""

    def __init__(self, work: Path, app: str = "demo") -> None:
        self.work, self.app = work, app
        self.bundle = work / "bundle"
        run_tufup("repo-init", "--work", work, "--app", app)

    @property
    def repo(self) -> Path:
        return self.work / "repository"

    @property
    def keystore(self) -> Path:
        return self.work / "keystore"

    def release(self, version: str, label: str, required: bool = False) -> None:
        from tests.support.bundles import write_app

        write_app(self.bundle, label)
        # a tufup-made bundle has no .update/release.json: the app is told its version here
        (self.bundle / "version.txt").write_text(version)
        args = ["repo-add", "--work", self.work, "--bundle", self.bundle, "--version", version]
        run_tufup(*args, *(["--required"] if required else []))


def install_stock(
    base: Path,
    app: str,
    archive: Path,
    version: str,
    root_json: Path,
    ca_file: Path,
    cached: bool = False,
) -> StockClient:
    """A stock tufup application installed at `version` from its published `archive` (a
    file of targets/, plain or hash-prefixed): unpacked into base/app as an installer does.
    With `cached`, the archive is also in its targets folder, as after an update by tufup:
    then tufup may patch it."""
    import tarfile

    client = StockClient(base, app, version, root_json, ca_file)
    with tarfile.open(archive) as tar:
        tar.extractall(client.app_dir, filter="data")
    if cached:
        (base / "targets").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive, base / "targets" / f"{app}-{version}.tar.gz")
    return client
