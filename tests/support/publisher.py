"""The publisher side in tests: repo-tools as a real subprocess, and real repositories it made."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.bundles import write_app
from tests.support.files import tree_digest

APP = "demo"  # the app name of every Publisher unless a test says otherwise
PUBLISHED = ("metadata", "targets")  # what a repository serves to clients


def tools_command(repo: Path, keys: Path, *args: str) -> list[str]:
    """The command line of `repo-tools --repo REPO --keys KEYS ARGS...`."""
    return [sys.executable, "-m", "repo_tools", "--repo", str(repo), "--keys", str(keys), *args]


def run_tools(repo: Path, keys: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run repo-tools and return the result, whatever its exit code (kwargs go to run)."""
    command = tools_command(repo, keys, *args)
    return subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)


def tools_ok(repo: Path, keys: Path, *args: str) -> str:
    """Run repo-tools, which must succeed; its stdout, stripped."""
    result = run_tools(repo, keys, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def release_bundle(repo: Path, keys: Path, bundle: Path, *args: str) -> str:
    """`repo-tools release --bundle BUNDLE ARGS...`, which must succeed; its stdout."""
    return tools_ok(repo, keys, "release", "--bundle", str(bundle), *args)


def published_digest(repo: Path) -> dict[str, str]:
    """The tree_digest of the files a repository serves (under metadata/ and targets/, keyed
    like "metadata/1.root.json"): equal digests mean clients see an unchanged repository."""
    return tree_digest(repo, *PUBLISHED, folders=False)


class Publisher:
    """A real TUF repository made by `repo-tools init` in base/repo (keys in base/keys), and
    the bundle folder base/bundle its releases are made from."""

    def __init__(self, base: Path, app: str = APP, init_args: tuple[str, ...] = ()) -> None:
        self._attach(base / "repo", base / "keys", app)
        tools_ok(self.repo, self.keys, "init", "--app-name", app, *init_args)

    @classmethod
    def of(cls, repo: Path, keys: Path, app: str = APP) -> Publisher:
        """A Publisher for a repository made before (no `init`)."""
        publisher = cls.__new__(cls)
        publisher._attach(repo, keys, app)
        return publisher

    def _attach(self, repo: Path, keys: Path, app: str) -> None:
        self.repo, self.keys, self.bundle = repo, keys, repo.parent / "bundle"
        self.app = app

    def release(self, *args: str, label: str | None = None) -> str:
        """Write a new launchable app (labelled `label`, or the arguments) into the bundle
        and release it with `repo-tools release ARGS...`; its stdout."""
        write_app(self.bundle, label or " ".join(args))
        return release_bundle(self.repo, self.keys, self.bundle, *args)

    def target_file(self, name: str) -> Path:
        """The published file of target `name` (consistent snapshots prefix its hash)."""
        (found,) = (self.repo / "targets").glob(f"*.{name}")
        return found

    def archive(self, version: str) -> Path:
        return self.target_file(f"{self.app}-{version}.tar.gz")


class Published(Publisher):
    """The repository the hostile-server, fault and conformance tests share (made once per
    session): two root keys (threshold 2), releases 1.0.0 and 1.1.0, and in `old_metadata` a
    copy of the metadata as it was after 1.0.0 (for rollback and mix-and-match attacks)."""

    def __init__(self, base: Path) -> None:
        super().__init__(base, APP, ("--root-keys", "2", "--root-threshold", "2"))
        self.release("--version", "1.0.0", label="one")
        self.old_metadata = base / "metadata-1.0.0"
        shutil.copytree(self.repo / "metadata", self.old_metadata)
        self.release("--bump", "minor", label="two")
