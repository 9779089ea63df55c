"""Correctly signed hostile content: what a compromised or careless publisher could publish,
put into a repository with the python-tuf Metadata API and the repository's own keys."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tuf.api.metadata import Metadata, TargetFile

from client.archive import gzip_file, write_bundle_tar
from client.formats import ArchiveInfo, archive_name
from repo_tools import keys as keystore
from repo_tools.repository import (
    SERIALIZER,
    Transaction,
    load_roles,
    prefixed_target_name,
    sign,
    snapshot_entry,
    timestamp_entry,
)
from tests.support.publisher import APP


def signer(keys: Path, file_name: str) -> Any:
    """A signer from one key file, e.g. 'online/timestamp.pem' or 'offline/root-1.pem'."""
    return keystore.load(keys / file_name).signer


def resign_md(md: Metadata, *signers: Any, days: float = 7, bump: int = 1) -> bytes:
    """New version/expiry and signatures by exactly `signers`; returns the served bytes."""
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
    roles = load_roles(repo)
    keys_ = keystore.load_all(keys)
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
