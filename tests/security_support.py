"""Shared machinery for the hostile-server, fault-injection and conformance tests.

* `published` (session fixture): one real repository made by repo-tools, with two root keys
  (threshold 2), releases 1.0.0 and 1.1.0, and a copy of the metadata as it was after 1.0.0
  (for rollback and mix-and-match attacks).
* `World`: a private copy of that repository, an install root set up at 1.0.0 trusting it, a
  real HTTPS server on loopback whose `hook` can misbehave on purpose, and the assertions every
  attack test makes (nothing installed, running version intact and launchable, `current`
  unchanged, an `error` event, CLI exit code, a failed record in history).
* Signing helpers that put *correctly signed* hostile content into a repository with the
  python-tuf Metadata API and the repository's own keys (what a compromised or careless
  publisher could publish).
* Hostile answers for hooks: other bytes, endless bodies, trickles, resets, stalls.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tuf.api.metadata import Metadata, TargetFile

from client.archive import gzip_file, write_bundle_tar
from client.formats import ArchiveInfo, archive_name
from client.layout import Layout
from tests.client_support import install_root, repo_tools, server_entry, write_app

APP = "demo"
Handler = http.server.BaseHTTPRequestHandler


# -- a published repository, made once per session --------------------------------------------


class Published:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.repo, self.keys, self.bundle = base / "repo", base / "keys", base / "bundle"
        repo_tools(
            self.repo, self.keys, "init", "--app-name", APP, "--root-keys", "2",
            "--root-threshold", "2",
        )  # fmt: skip
        write_app(self.bundle, "one")
        repo_tools(
            self.repo, self.keys, "release", "--bundle", str(self.bundle), "--version", "1.0.0"
        )
        self.old_metadata = base / "metadata-1.0.0"
        shutil.copytree(self.repo / "metadata", self.old_metadata)
        write_app(self.bundle, "two")
        repo_tools(self.repo, self.keys, "release", "--bundle", str(self.bundle), "--bump", "minor")


@pytest.fixture(scope="session", name="published")
def published_fixture(tmp_path_factory: pytest.TempPathFactory) -> Published:
    return Published(tmp_path_factory.mktemp("published"))


# -- signing hostile content with the repository's keys -----------------------------------------


def stored_keys(keys: Path) -> list[Any]:
    from repo_tools import keys as keystore

    return keystore.load_all(keys)


def signer(keys: Path, file_name: str) -> Any:
    """A signer from one key file, e.g. 'online/timestamp.pem' or 'offline/root-1.pem'."""
    from repo_tools import keys as keystore

    return keystore.load(keys / file_name).signer


def resign_md(md: Metadata, *signers: Any, days: float = 7, bump: int = 1) -> bytes:
    """New version/expiry and signatures by exactly `signers`; returns the served bytes."""
    from repo_tools.repository import SERIALIZER

    md.signed.version += bump
    md.signed.expires = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    md.signatures.clear()
    for s in signers:
        md.sign(s, append=True)
    return md.to_bytes(SERIALIZER)


def publish_root_v2(repo: Path, keys: Path, root: Metadata) -> bytes:
    """Sign a changed root 1 as version 2 with both root keys (threshold 2) and publish it."""
    root_bytes = resign_md(
        root, signer(keys, "offline/root-1.pem"), signer(keys, "offline/root-2.pem"), days=365
    )
    (repo / "metadata" / "2.root.json").write_bytes(root_bytes)
    (repo / "metadata" / "root.json").write_bytes(root_bytes)
    return root_bytes


def publish_targets(repo: Path, keys: Path, add: dict[str, tuple[Path, dict]]) -> None:
    """Add target files {name: (local file, custom)} and sign targets, snapshot and timestamp
    with the repository's own keys, exactly like repo-tools does (a correctly signed release)."""
    from repo_tools.repository import (
        Transaction,
        load_roles,
        prefixed_target_name,
        sign,
        snapshot_entry,
        timestamp_entry,
    )

    roles = load_roles(repo)
    keys_ = stored_keys(keys)
    transaction = Transaction(repo)
    for name, (local, custom) in add.items():
        info = TargetFile.from_file(name, str(local), ["sha256"])
        info.unrecognized_fields["custom"] = custom
        roles.targets.signed.targets[name] = info
        staged = transaction.scratch / "copy"
        shutil.copyfile(local, staged)
        transaction.add_target(staged, prefixed_target_name(name, info.hashes["sha256"]))
    root = roles.root.signed
    sign(roles.targets, root, keys_, 90)
    roles.snapshot.signed.meta["targets.json"] = snapshot_entry(roles.targets)
    sign(roles.snapshot, root, keys_, 30)
    roles.timestamp.signed.snapshot_meta = timestamp_entry(roles.snapshot)
    sign(roles.timestamp, root, keys_, 7)
    transaction.write_roles(roles, {"targets", "snapshot", "timestamp"})
    transaction.commit()


def bundle_tar(
    repo: Path, folder: Path, app: str, version: str, extra_members: Callable | None = None
) -> tuple[bytes, int]:
    """The uncompressed tar of a bundle claiming to be `app` `version` (root.json of `repo`
    inside), optionally followed by hostile members: extra_members(tarfile) adds them.
    Returns (tar bytes, unpacked size of the honest part)."""
    info_files = {
        ".update/release.json": json.dumps(
            {"app": app, "version": version, "channel": "stable"}
        ).encode(),
        ".update/root.json": (repo / "metadata" / "root.json").read_bytes(),
    }
    sink = io.BytesIO()
    digest = write_bundle_tar(folder, sink, info_files)
    data = sink.getvalue()
    if extra_members is None:
        return data, digest.unpacked_size
    # re-open the honest tar and append hostile members after the good ones
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(data), mode="r:") as src,
        tarfile.open(fileobj=out, mode="w:", format=tarfile.PAX_FORMAT) as dst,
    ):
        for member in src:
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        extra_members(dst)
    return out.getvalue(), digest.unpacked_size


def publish_archive(
    repo: Path,
    keys: Path,
    tar_bytes: bytes,
    version: str,
    unpacked_size: int,
    work: Path,
    app: str = APP,
) -> str:
    """Sign `tar_bytes` into the repository as the full archive of `app` `version`, with
    correct tar size/sha256 (the signature is valid: only the content is hostile)."""
    work.mkdir(parents=True, exist_ok=True)
    tar = work / f"{app}-{version}.tar"
    tar.write_bytes(tar_bytes)
    name = archive_name(app, version)
    gz = work / name
    gzip_file(tar, gz)
    info = ArchiveInfo(
        app=app,
        version=version,
        channel="stable",
        tar_size=len(tar_bytes),
        tar_sha256=hashlib.sha256(tar_bytes).hexdigest(),
        unpacked_size=unpacked_size,
        published=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    publish_targets(repo, keys, {name: (gz, info.to_custom())})
    return name


# -- hostile answers ----------------------------------------------------------------------------


def answer(handler: Handler, data: bytes, status: int = 200, length: int | None = None) -> bool:
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(data) if length is None else length))
    handler.end_headers()
    handler.wfile.write(data)
    return True


def answer_endless(handler: Handler, prefix: bytes = b"", limit_seconds: float = 20) -> bool:
    """A body that never ends (no Content-Length, bytes until the client hangs up)."""
    handler.send_response(200)
    handler.end_headers()
    handler.close_connection = True
    chunk = b"A" * 65536
    deadline = time.monotonic() + limit_seconds
    try:
        handler.wfile.write(prefix)
        while time.monotonic() < deadline:
            handler.wfile.write(chunk)
    except OSError:
        pass
    return True


def answer_trickle(handler: Handler, data: bytes, per_second: int = 1, limit: float = 30) -> bool:
    """Honest headers, then `per_second` bytes a second (slow retrieval)."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.close_connection = True
    deadline = time.monotonic() + limit
    try:
        for i in range(0, len(data), per_second):
            if time.monotonic() > deadline:
                break
            handler.wfile.write(data[i : i + per_second])
            handler.wfile.flush()
            time.sleep(1)
    except OSError:
        pass
    return True


def reset_connection(handler: Handler, after: bytes = b"", total: int | None = None) -> bool:
    """Send headers (and `after` bytes of body) then reset the TCP connection (RST)."""
    handler.close_connection = True
    try:
        if total is not None:
            handler.send_response(200)
            handler.send_header("Content-Length", str(total))
            handler.end_headers()
            handler.wfile.write(after)
            handler.wfile.flush()
            time.sleep(0.3)  # let the client read what was sent before the reset
        raw = handler.connection
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            sock = raw.unwrap() if hasattr(raw, "unwrap") and total is None else raw
        except (OSError, ValueError):
            sock = raw
        sock.close()
    except OSError:
        pass
    return True


def local_file(root: Path, handler: Handler) -> Path:
    return root / handler.path.lstrip("/").split("?")[0]


# -- a world: repository copy + install root + hostile server --------------------------------------


def tree_digest(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def launch(root: Path) -> str:
    """Start the installed application the way a user would: the `current` entry point."""
    result = subprocess.run(
        [sys.executable, str(root / "current" / "app.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


class World:
    def __init__(
        self,
        tmp: Path,
        published: Published,
        https_server: Callable,
        ca_file: Path,
        root: Path | None = None,
    ):
        self.tmp = tmp
        self.repo, self.keys = tmp / "repo", tmp / "keys"
        shutil.copytree(published.repo, self.repo)
        shutil.copytree(published.keys, self.keys)
        self.old_metadata = published.old_metadata
        self.ca_file = ca_file
        self.hook: Callable[[Handler], bool] | None = None
        self.server = https_server(self.repo, self._dispatch)
        self.root = root or tmp / "install"
        self.settings: dict[str, Any] = {"deadline_seconds": 60, "read_timeout_seconds": 10}
        self.layout: Layout = install_root(
            self.root, _Pub(self.repo), "1.0.0", [self.server.url], ca_file, **self.settings
        )
        self.before = tree_digest(self.layout.version_dir("1.0.0"))

    def _dispatch(self, handler: Handler) -> bool:
        hook = self.hook
        return bool(hook and hook(handler))

    @property
    def url(self) -> str:
        return self.server.url

    def configure(self, **settings: Any) -> None:
        config = json.loads(self.layout.config_file.read_text())
        config.update(settings)
        self.layout.config_file.write_text(json.dumps(config, indent=2))

    def mirrors(self, *urls: str) -> None:
        self.configure(servers=[server_entry(u) for u in urls])

    def updater(self) -> tuple[Any, list]:
        from client import Updater

        updater = Updater.from_config(install_root=self.root)
        updater.lock_timeout = 30
        events: list = []
        updater.on_event(events.append)
        return updater, events

    def trust_current(self) -> None:
        """An honest check first: the client then trusts the repository's current metadata."""
        hook, self.hook = self.hook, None
        try:
            updater, _ = self.updater()
            assert updater.check() is not None
        finally:
            self.hook = hook

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [
            sys.executable, "-c", "from client.cli import main; main()",
            "--config", str(self.layout.config_file), *args,
        ]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

    def fails(self, words: tuple[str, ...], kind: str | None = None) -> tuple[Any, list]:
        """Run an update in-process: it must fail with an error event naming `words`."""
        from client.errors import UpdateError

        updater, events = self.updater()
        with pytest.raises(UpdateError) as caught:
            updater.update()
        errors = [e for e in events if e.kind == "error"]
        assert errors, [e.kind for e in events]
        assert_says(errors[-1].message, words)
        if kind is not None:
            assert caught.value.kind == kind, caught.value.message
        return caught.value, events

    def assert_cli_fails(self, words: tuple[str, ...]) -> None:
        result = self.cli("--json", "update")
        assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
        assert_says(result.stderr, words)
        assert json.loads(result.stdout)["ok"] is False

    def assert_nothing_installed(self, words: tuple[str, ...] = ()) -> None:
        assert self.layout.current_version() == "1.0.0"
        assert sorted(p.name for p in self.layout.versions.iterdir()) == ["1.0.0"]
        assert tree_digest(self.layout.version_dir("1.0.0")) == self.before
        assert launch(self.root).startswith("app 1.0.0")
        assert not any(self.layout.staging.iterdir()), list(self.layout.staging.iterdir())
        failed = [r for r in self.history() if r["result"] == "failed"]
        assert failed, self.history()
        if words:
            assert_says(failed[-1]["error"], words)

    def history(self) -> list[dict[str, Any]]:
        from client.history import read

        return read(self.layout.history_file)

    def refused(self, words: tuple[str, ...], kind: str | None = None) -> Any:
        """The full check every attack test makes: in-process events, CLI, disk, history."""
        error, _ = self.fails(words, kind)
        self.assert_nothing_installed(words)
        self.assert_cli_fails(words)
        self.assert_nothing_installed(words)
        return error

    def honest_update_works(self) -> None:
        self.hook = None
        updater, _ = self.updater()
        assert updater.update() == "1.1.0"
        assert launch(self.root).startswith("app 1.1.0")


class _Pub:
    """What client_support.install_root needs of a publisher: the 1.0.0 archive."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo

    def archive(self, version: str) -> Path:
        (found,) = (self.repo / "targets").glob(f"*.{APP}-{version}.tar.gz")
        return found


def assert_says(message: str, words: tuple[str, ...]) -> None:
    text = message.lower()
    missing = [w for w in words if w.lower() not in text]
    assert not missing, f"{missing} not in: {message}"


@pytest.fixture(name="world")
def world_fixture(tmp_path: Path, published: Published, https_server, test_ca) -> Iterator[World]:
    yield World(tmp_path, published, https_server, test_ca.ca_file)


class Gate:
    """Lets a hook stall a request until the test releases it (with a safety timeout)."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def stall(self, seconds: float = 30) -> None:
        self.reached.set()
        self.release.wait(seconds)


def serve_ranges(root: Path) -> Callable[[Handler], bool]:
    """A hook serving files honestly *with* HTTP Range support (as nginx or a CDN would)."""

    def hook(handler: Handler) -> bool:
        path = local_file(root, handler)
        header = handler.headers.get("Range")
        if not header or not path.is_file():
            return False
        data = path.read_bytes()
        start = int(header.split("=")[1].split("-")[0])
        if start >= len(data):
            return answer(handler, b"", status=416)
        handler.send_response(206)
        handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.send_header("Content-Length", str(len(data) - start))
        handler.end_headers()
        handler.wfile.write(data[start:])
        return True

    return hook
