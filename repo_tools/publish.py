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

Where to: `--to` (and `--endpoint-url`) when given, else `publish_to` (and
`publish_endpoint_url`) of repo-tools.json (`choose_destination`, pure). After `release`,
`refresh`, `yank` and `rollout` the configured destination is updated as a mirror
(`publish_configured`).
"""

from __future__ import annotations

import filecmp
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from repo_tools.config import ConfigError, PublisherConfig, load_config
from repo_tools.destination import (
    IMMUTABLE,
    PUBLISHED_FOLDERS,
    Destination,
    DestinationKind,
    cache_control,
    kind_of,
    named_by_content,
    upload_rank,
)
from repo_tools.errors import RepoError
from repo_tools.object_store import (
    BucketAddress,
    BucketDestination,
    check_endpoint_url,
    parse_bucket_address,
)
from repo_tools.repository import locked, metadata_dir, targets_dir

# the upload rules have their home in repo_tools.destination; these names stay importable here
__all__ = [
    "IMMUTABLE",
    "DestinationChoice",
    "FolderDestination",
    "PublishResult",
    "cache_control",
    "choose_destination",
    "destination_for",
    "named_by_content",
    "open_destination",
    "publish",
    "publish_configured",
    "publish_repository",
    "upload_plan",
]


@dataclass
class PublishResult:
    destination: str
    copied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DestinationChoice:
    """Where to publish, checked but not yet connected to."""

    address: str  # a folder, or s3://BUCKET[/PREFIX]
    endpoint_url: str  # "" for AWS (and always for a folder)
    bucket: BucketAddress | None  # parsed address of an object store

    @property
    def kind(self) -> DestinationKind:
        return kind_of(self.address)


def destination_for(address: str, endpoint_url: str = "") -> DestinationChoice:
    """Check a destination address and endpoint (pure: nothing is contacted or created)."""
    bucket = parse_bucket_address(address)
    if bucket is None and endpoint_url:
        raise RepoError(f"--endpoint-url is for s3:// destinations, not the folder {address}")
    if bucket is not None:
        check_endpoint_url(endpoint_url)
    return DestinationChoice(address, endpoint_url, bucket)


def choose_destination(
    to: str | None, endpoint_url: str | None, config: PublisherConfig
) -> DestinationChoice:
    """`--to` over `publish_to`; `--endpoint-url` (even an empty one) over
    `publish_endpoint_url` (pure)."""
    address = to or config.publish_to
    if not address:
        raise ConfigError(
            "nowhere to publish: give --to DIR or --to s3://BUCKET/PREFIX, or set "
            "publish_to in repo-tools.json"
        )
    url = config.publish_endpoint_url if endpoint_url is None else endpoint_url
    return destination_for(address, url)


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


def open_destination(choice: DestinationChoice, repo: Path) -> Destination:
    """Connect to a chosen destination (an object store is listed once, here)."""
    if choice.bucket is not None:
        return BucketDestination(choice.bucket, choice.endpoint_url)
    return FolderDestination(Path(choice.address), repo)


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


def publish_repository(
    repo: Path,
    to: str | None = None,
    endpoint_url: str | None = None,
    delete: bool = False,
    config: PublisherConfig | None = None,
) -> PublishResult:
    """`repo-tools publish`: to `to`, or where repo-tools.json says."""
    config = config or load_config(repo)
    choice = choose_destination(to, endpoint_url, config)
    return publish(repo, open_destination(choice, repo), delete)


def publish_configured(repo: Path, config: PublisherConfig) -> PublishResult | None:
    """The last step of `release`, `refresh`, `yank` and `rollout`: when `publish_to` is set,
    publish there as a mirror (what the repository no longer has, pruned releases and old
    metadata versions, is deleted there too, after the new timestamp is in place)."""
    if not config.publish_to:
        return None
    choice = destination_for(config.publish_to, config.publish_endpoint_url)
    return publish(repo, open_destination(choice, repo), delete=True)
