"""The publisher side in tests: repo-tools as a real subprocess, and real repositories it made."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
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


def refused(result: subprocess.CompletedProcess, *phrases: str) -> str:
    """Assert a command failed the way every bad input must: exit 1, an `error:` line on
    stderr containing every phrase, and no traceback; the stderr."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors, result.stderr
    for phrase in phrases:
        assert phrase in errors[-1], (phrase, result.stderr)
    return result.stderr


def set_config(repo: Path, **settings: object) -> None:
    """Change settings of repo-tools.json by hand, as a publisher would edit the file."""
    path = repo / "repo-tools.json"
    data = json.loads(path.read_text())
    data.update(settings)
    path.write_text(json.dumps(data, indent=2))


def publish_next_root(
    repo: Path, signers: list, root_keys: list | None = None, expires_in_days: float = 365
) -> int:
    """Write root N+1 outside repo-tools (what a faulty tool or a hand edit publishes): the
    current root, its root keys replaced by `root_keys` when given (threshold 1), expiring in
    `expires_in_days` (negative: already expired), signed by exactly `signers`. Its version."""
    from tuf.api.metadata import Metadata, Root

    from repo_tools.repository import SERIALIZER, root_versions

    current = root_versions(repo)[-1]
    root: Metadata[Root] = Metadata.from_file(str(repo / "metadata" / f"{current}.root.json"))
    if root_keys is not None:
        for keyid in list(root.signed.roles["root"].keyids):
            root.signed.revoke_key(keyid, "root")
        for key in root_keys:
            root.signed.add_key(key, "root")
        root.signed.roles["root"].threshold = 1
    root.signed.version = current + 1
    when = datetime.now(UTC) + timedelta(days=expires_in_days)
    root.signed.expires = when.replace(microsecond=0)
    root.signatures.clear()
    for signer in signers:
        root.sign(signer, append=True)
    data = root.to_bytes(SERIALIZER)
    (repo / "metadata" / f"{current + 1}.root.json").write_bytes(data)
    (repo / "metadata" / "root.json").write_bytes(data)
    return current + 1
