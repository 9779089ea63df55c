"""Where a repository is uploaded: the `Destination` interface, its kinds, and the upload
rules every kind follows (repo_tools.publish drives them; repo_tools.object_store and the
folder destination implement them).

Order: target files, root versions, other versioned metadata, and `timestamp.json` last, so
a client polling during an upload only ever sees complete states. The local move of a
commit (repo_tools.repository) uses the same order.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Protocol

from repo_tools.roles import ROLES

PUBLISHED_FOLDERS = ("targets", "metadata")
IMMUTABLE = "public, max-age=31536000, immutable"
BUCKET_SCHEME = "s3://"


class DestinationKind(StrEnum):
    FOLDER = "folder"  # a folder a static host serves: temporary name, then rename
    BUCKET = "s3"  # an S3-compatible object store: one whole-object PUT per file


def kind_of(address: str) -> DestinationKind:
    """`s3://BUCKET[/PREFIX]` is an object store; anything else is a folder."""
    return DestinationKind.BUCKET if address.startswith(BUCKET_SCHEME) else DestinationKind.FOLDER


class Destination(Protocol):
    """Where published files go; names are relative, e.g. `metadata/timestamp.json`."""

    def is_current(self, name: str, source: Path) -> bool: ...
    def put(self, name: str, source: Path) -> None: ...
    def published_names(self) -> list[str]: ...
    def delete(self, name: str) -> None: ...


def upload_rank(path: Path) -> tuple[int, str]:
    """Root versions first, then targets, snapshot, and timestamp last."""
    name = path.name
    for rank, role in enumerate(ROLES):
        if name.endswith(f"{role}.json"):
            return (rank, name.rjust(40, "0"))
    return (9, name)


def cache_control(name: str) -> str:
    """Versioned metadata and hash-prefixed targets never change; the rest must be re-fetched."""
    if Path(name).name[:1].isdigit() or name.startswith("targets/"):
        return IMMUTABLE
    return "no-cache"


def named_by_content(name: str) -> bool:
    """Target files are stored as `<sha256>.<name>` (consistent snapshots): a file of that name
    and size holds those bytes, so it need not be read again. Metadata is small and compared
    byte for byte (an abandoned history could have used the same version number)."""
    return name.startswith("targets/")


def content_type(name: str) -> str:
    return "application/json" if name.endswith(".json") else "application/octet-stream"
