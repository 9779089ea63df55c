"""`repo-tools publish --to DIR`: copy the repository to where it is served, in upload order.

For a static host mounted or synced as a folder (web server document root, a bucket mounted
with a FUSE driver, a folder rsync'ed onwards). Order: target files, root versions, other
versioned metadata, and `timestamp.json` last, each written to a temporary name and renamed,
so a client polling during the upload only ever sees complete states. Files already present
with the same content are skipped; with `--delete`, files no longer in the repository are
removed only after the new timestamp is in place.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from repo_tools.repository import RepoError, locked, metadata_dir, targets_dir, upload_rank


@dataclass
class PublishResult:
    copied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _copy_atomic(source: Path, destination: Path) -> None:
    temporary = destination.with_name(f".{destination.name}.uploading")
    shutil.copyfile(source, temporary)
    os.replace(temporary, destination)


def upload_plan(repo: Path) -> list[Path]:
    """Every published file, in the order it must reach the server."""
    targets = sorted(p for p in targets_dir(repo).iterdir() if p.is_file())
    metadata = sorted((p for p in metadata_dir(repo).iterdir() if p.is_file()), key=upload_rank)
    return targets + metadata


def publish(repo: Path, destination: Path, delete: bool = False) -> PublishResult:
    if destination.resolve().is_relative_to(repo.resolve()):
        raise RepoError(f"cannot publish {repo} into itself ({destination})")
    result = PublishResult()
    with locked(repo):
        plan = upload_plan(repo)
        if not plan:
            raise RepoError(f"{repo} has nothing to publish: run `repo-tools init` and `release`")
        for source in plan:
            relative = source.relative_to(repo)
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() and filecmp.cmp(source, target, shallow=False):
                continue
            _copy_atomic(source, target)
            result.copied.append(str(relative))
        if delete:
            wanted = {p.relative_to(repo) for p in plan}
            for folder in ("targets", "metadata"):
                for path in sorted((destination / folder).glob("*")):
                    if path.is_file() and path.relative_to(destination) not in wanted:
                        path.unlink()
                        result.deleted.append(str(path.relative_to(destination)))
    return result
