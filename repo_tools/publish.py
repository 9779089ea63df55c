"""`repo-tools publish`: copy the repository to where it is served, in upload order.

Two kinds of destination (repo_tools.destination):
* a folder a static host serves (web server document root, a folder synced onwards): each
  file is written to a temporary name and renamed;
* an S3-compatible object store, `s3://BUCKET/PREFIX` (repo_tools.object_store): each object
  is replaced whole by one PUT.

Order: target files, root versions, other versioned metadata, and `timestamp.json` last, so a
client polling during the upload only ever sees complete states: until the new timestamp
lands, it points at metadata and targets that are all already there. Files already present
with the same content are skipped; with `--delete`, files no longer in the repository are
removed only after the new timestamp is in place.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from repo_tools.destination import (
    IMMUTABLE,
    PUBLISHED_FOLDERS,
    Destination,
    cache_control,
    named_by_content,
    upload_rank,
)
from repo_tools.errors import RepoError
from repo_tools.repository import locked, metadata_dir, targets_dir

# the upload rules have their home in repo_tools.destination; these names stay importable here
__all__ = [
    "IMMUTABLE",
    "FolderDestination",
    "PublishResult",
    "cache_control",
    "named_by_content",
    "open_destination",
    "publish",
    "upload_plan",
]


@dataclass
class PublishResult:
    destination: str
    copied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class FolderDestination:
    def __init__(self, root: Path, repo: Path) -> None:
        if root.resolve().is_relative_to(repo.resolve()):
            raise RepoError(f"cannot publish {repo} into itself ({root})")
        if root.exists() and not root.is_dir():
            raise RepoError(f"cannot publish to {root}: it is a file; give a folder")
        self.root = root

    def __str__(self) -> str:
        return str(self.root)

    def is_current(self, name: str, source: Path) -> bool:
        target = self.root / name
        if not target.is_file() or target.stat().st_size != source.stat().st_size:
            return False
        return named_by_content(name) or filecmp.cmp(source, target, shallow=False)

    def put(self, name: str, source: Path) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.uploading")
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)

    def published_names(self) -> list[str]:
        return [
            f"{folder}/{path.name}"
            for folder in PUBLISHED_FOLDERS
            for path in sorted((self.root / folder).glob("*"))
            if path.is_file()
        ]

    def delete(self, name: str) -> None:
        (self.root / name).unlink()


def open_destination(text: str, repo: Path, endpoint_url: str = "") -> Destination:
    """`s3://BUCKET[/PREFIX]` is an object store; anything else is a folder."""
    from repo_tools.object_store import BucketDestination, parse_bucket_address

    address = parse_bucket_address(text)
    if address is not None:
        return BucketDestination(address, endpoint_url)
    if endpoint_url:
        raise RepoError(f"--endpoint-url is for s3:// destinations, not the folder {text}")
    return FolderDestination(Path(text), repo)


def upload_plan(repo: Path) -> list[Path]:
    """Every published file, in the order it must reach the server."""
    targets = sorted(p for p in targets_dir(repo).iterdir() if p.is_file())
    metadata = sorted((p for p in metadata_dir(repo).iterdir() if p.is_file()), key=upload_rank)
    return targets + metadata


def publish(repo: Path, destination: Destination, delete: bool = False) -> PublishResult:
    result = PublishResult(str(destination))
    with locked(repo):
        plan = upload_plan(repo)
        if not plan:
            raise RepoError(f"{repo} has nothing to publish: run `repo-tools init` and `release`")
        for source in plan:
            name = source.relative_to(repo).as_posix()
            if not destination.is_current(name, source):
                destination.put(name, source)
                result.copied.append(name)
        if delete:
            wanted = {source.relative_to(repo).as_posix() for source in plan}
            for name in destination.published_names():
                if name not in wanted:
                    destination.delete(name)
                    result.deleted.append(name)
    return result
