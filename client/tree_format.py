"""The tree format (repository format 2): a release as a signed list of files.

Pure functions on data, shared by publisher and client like `client.formats`: the names of
the format-2 targets, the manifest (every entry of a release with its sha256) and the index of
a delta, each encoded and decoded here and nowhere else, and `plan_tree`, which says which
files of a new release an installed version already holds. See docs/decisions.md, "Scale".

A release made by repo-tools has, beside its full archive ``<app>-<V>.tar.gz`` (format 1: what
format-1 clients and stock tufup clients read; its signed custom metadata is the release
record and names the tree through `client.formats.TreeInfo`):

* ``<app>-<V>.manifest.zst``: the manifest, zstd-compressed JSON (`Manifest`);
* ``<app>-<V>.tar.zst``: the same deterministic tar as the archive, zstd-compressed in frames
  (several concatenated zstd frames: read them as one stream): the full download of format 2;
* ``<app>-<V>.from-<base>.delta``: an xz-compressed tar holding ``delta.json`` (`DeltaIndex`)
  and then, in the index's order, one member ``data/<n>`` per file: the file itself ("full"),
  or an HDiffPatch patch without compression from the file ``base_path`` of ``base`` ("patch").
  Every other file of the release is a file the base already has (same sha256, any path).

None of these names ends in ``.tar.gz`` or ``.patch``, so stock tufup ignores them. Every
signed string that becomes a path is checked here (`client.extract.member_parts`, the link rule)
before anything reaches the file system; a decoded manifest is bounded in size and count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from client.formats import TREE_FORMAT, FormatError, TreeInfo, check_sha256

MANIFEST_SUFFIX = ".manifest.zst"
PACK_SUFFIX = ".tar.zst"
DELTA_SUFFIX = ".delta"
DELTA_INDEX = "delta.json"
PATCH_CODEC = "hdiffpatch"  # raw HDiffPatch (the delta's xz compresses it)
MAX_MANIFEST_BYTES = 256 << 20  # decoded; ~150 bytes an entry: far beyond any real bundle
MAX_INDEX_BYTES = 64 << 20


def manifest_name(app: str, version: object) -> str:
    return f"{app}-{version}{MANIFEST_SUFFIX}"


def pack_name(app: str, version: object) -> str:
    return f"{app}-{version}{PACK_SUFFIX}"


def delta_name(app: str, base: object, version: object) -> str:
    return f"{app}-{version}.from-{base}{DELTA_SUFFIX}"


class Kind(StrEnum):
    DIR = "d"
    FILE = "f"
    LINK = "l"


class How(StrEnum):
    FULL = "full"
    PATCH = "patch"


@dataclass(frozen=True)
class Entry:
    path: str  # posix, relative, plain components (checked)
    kind: Kind
    size: int = 0
    sha256: str = ""
    executable: bool = False
    target: str = ""  # a link's target

    def encoded(self) -> list[Any]:
        if self.kind is Kind.FILE:
            return [self.path, "f", self.size, self.sha256, int(self.executable)]
        if self.kind is Kind.LINK:
            return [self.path, "l", self.target]
        return [self.path, "d"]

    @property
    def integrity_kind(self) -> str:
        """The entry as `client.integrity` compares installed entries ("dir", ...)."""
        if self.kind is Kind.FILE:
            return f"file:{self.sha256}"
        return f"link:{self.target}" if self.kind is Kind.LINK else "dir"


@dataclass(frozen=True)
class Manifest:
    app: str
    version: str
    entries: tuple[Entry, ...]

    @property
    def unpacked_size(self) -> int:
        return sum(e.size for e in self.entries)

    def files(self) -> dict[str, Entry]:
        return {e.path: e for e in self.entries if e.kind is Kind.FILE}

    def integrity(self) -> dict[str, str]:
        """Path -> kind, the form `client.install.read_manifest` keeps per installed version."""
        return {e.path: e.integrity_kind for e in self.entries}


def encode_manifest(manifest: Manifest) -> bytes:
    import zstandard

    data = {
        "format": TREE_FORMAT,
        "app": manifest.app,
        "version": manifest.version,
        "entries": [e.encoded() for e in manifest.entries],
    }
    text = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return zstandard.ZstdCompressor(level=19).compress(text)


def _decompressed(data: bytes, limit: int, what: str) -> bytes:
    import zstandard

    try:
        reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
        out = reader.read(limit + 1)
    except zstandard.ZstdError as error:
        raise FormatError(f"{what} is not valid zstd data: {error}") from None
    if len(out) > limit:
        raise FormatError(f"{what} expands beyond {limit} bytes: refused")
    return out


def decode_manifest(data: bytes, app: str, version: str, max_entries: int) -> Manifest:
    """The manifest of `app` `version` from its (already TUF-verified) target bytes, with
    every path and link checked; FormatError names the first problem."""
    where = f"manifest of {app} {version}"
    try:
        doc = json.loads(_decompressed(data, MAX_MANIFEST_BYTES, where))
    except (ValueError, UnicodeDecodeError):
        raise FormatError(f"{where} is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != TREE_FORMAT:
        raise FormatError(f"{where}: not a tree manifest of format {TREE_FORMAT}")
    if doc.get("app") != app or doc.get("version") != version:
        raise FormatError(
            f"{where}: it describes {doc.get('app')!r} {doc.get('version')!r} (wrong software)"
        )
    raw = doc.get("entries")
    if not isinstance(raw, list) or not 0 < len(raw) <= max_entries:
        raise FormatError(f"{where}: entries missing or more than the signed {max_entries}")
    entries = tuple(_entry(item, where) for item in raw)
    check_entries(entries, where)
    return Manifest(app, version, entries)


def _entry(item: object, where: str) -> Entry:
    if not isinstance(item, list) or len(item) < 2 or not isinstance(item[0], str):
        raise FormatError(f"{where}: entry {str(item)[:80]!r} is malformed")
    path, kind = item[0], item[1]
    if kind == "d" and len(item) == 2:
        return Entry(path, Kind.DIR)
    if kind == "l" and len(item) == 3 and isinstance(item[2], str) and item[2]:
        return Entry(path, Kind.LINK, target=item[2])
    if kind == "f" and len(item) == 5:
        size, digest, executable = item[2], item[3], item[4]
        if (
            isinstance(size, int)
            and not isinstance(size, bool)
            and size >= 0
            and executable in (0, 1)
        ):
            return Entry(
                path, Kind.FILE, size, check_sha256(digest, f"{where}: {path}"), bool(executable)
            )
    raise FormatError(f"{where}: entry for {path[:80]!r} is malformed")


def check_entries(entries: tuple[Entry, ...], where: str) -> None:
    """The archive rules on a list of entries: plain relative names, each once, sorted,
    parents are folders listed before them, links relative and inside (client.extract)."""
    from client.extract import UnsafeArchiveError, link_escape, member_parts

    seen: dict[tuple[str, ...], Kind] = {}
    links: dict[tuple[str, ...], str] = {}
    previous = ""
    try:
        for entry in entries:
            parts = member_parts(entry.path)
            if "/".join(parts) != entry.path or entry.path <= previous:
                raise FormatError(f"{where}: entry {entry.path[:80]!r} is out of order or repeated")
            previous = entry.path
            if len(parts) > 1 and seen.get(parts[:-1]) is not Kind.DIR:
                raise FormatError(f"{where}: {entry.path[:80]!r} is not inside a listed folder")
            seen[parts] = entry.kind
            if entry.kind is Kind.LINK:
                links[parts] = entry.target
    except UnsafeArchiveError as error:
        raise FormatError(f"{where}: {error}") from None
    problem = link_escape(links, where)
    if problem:
        raise FormatError(f"{problem}: refused")


# -- the delta index ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeltaFile:
    path: str
    how: How
    base_path: str = ""
    base_sha256: str = ""

    def encoded(self) -> dict[str, str]:
        data = {"path": self.path, "how": str(self.how)}
        if self.how is How.PATCH:
            data |= {"base_path": self.base_path, "base_sha256": self.base_sha256}
        return data


@dataclass(frozen=True)
class DeltaIndex:
    app: str
    version: str
    base: str
    files: tuple[DeltaFile, ...] = field(default_factory=tuple)
    codec: str = PATCH_CODEC


def encode_index(index: DeltaIndex) -> bytes:
    data = {
        "format": TREE_FORMAT,
        "app": index.app,
        "version": index.version,
        "base": index.base,
        "codec": index.codec,
        "files": [f.encoded() for f in index.files],
    }
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def decode_index(data: bytes, app: str, base: str, version: str) -> DeltaIndex:
    """The index of the delta `base` -> `version`, checked: the right release, a codec this
    client has, plain paths (the base's and the new manifest's own entries decide the rest)."""
    from client.extract import UnsafeArchiveError, member_parts

    where = f"delta {base} -> {version}"
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise FormatError(f"{where}: its index is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != TREE_FORMAT:
        raise FormatError(f"{where}: not a delta of format {TREE_FORMAT}")
    if (doc.get("app"), doc.get("base"), doc.get("version")) != (app, base, version):
        raise FormatError(f"{where}: it is a delta of another release (wrong software)")
    if doc.get("codec") != PATCH_CODEC:
        raise FormatError(f"{where}: unknown patch codec {doc.get('codec')!r}")
    files = []
    raw = doc.get("files")
    if not isinstance(raw, list):
        raise FormatError(f"{where}: its file list is missing")
    try:
        for item in raw:
            if not isinstance(item, dict) or item.get("how") not in ("full", "patch"):
                raise FormatError(f"{where}: file entry {str(item)[:80]!r} is malformed")
            path = "/".join(member_parts(str(item.get("path", ""))))
            if item["how"] == "full":
                files.append(DeltaFile(path, How.FULL))
                continue
            base_path = "/".join(member_parts(str(item.get("base_path", ""))))
            digest = check_sha256(item.get("base_sha256"), f"{where}: base of {path}")
            files.append(DeltaFile(path, How.PATCH, base_path, digest))
    except UnsafeArchiveError as error:
        raise FormatError(f"{where}: {error}") from None
    return DeltaIndex(app, version, base, tuple(files))


# -- what a new release needs beyond an installed one -------------------------------------------


@dataclass(frozen=True)
class TreePlan:
    """How each file of a new release is made from an installed base (`plan_tree`)."""

    reuse: dict[str, str]  # new path -> base path holding the same bytes
    needed: tuple[str, ...]  # new paths whose bytes the base does not hold (the delta's files)

    @property
    def reused(self) -> int:
        return len(self.reuse)


def plan_tree(base: dict[str, str], new: Manifest) -> TreePlan:
    """Which files of `new` the base (an integrity manifest: path -> "file:<sha256>", ...)
    already holds, by content: same path first, else any path with those bytes."""
    by_hash: dict[str, str] = {}
    for path, kind in base.items():
        if kind.startswith("file:"):
            by_hash.setdefault(kind[5:], path)
    reuse: dict[str, str] = {}
    needed: list[str] = []
    for entry in new.entries:
        if entry.kind is not Kind.FILE:
            continue
        if base.get(entry.path) == f"file:{entry.sha256}":
            reuse[entry.path] = entry.path
        elif entry.sha256 in by_hash:
            reuse[entry.path] = by_hash[entry.sha256]
        else:
            needed.append(entry.path)
    return TreePlan(reuse, tuple(needed))


def tree_targets(app: str, version: str, tree: TreeInfo) -> list[str]:
    """The format-2 target names of a release: manifest, pack and its deltas."""
    return [
        manifest_name(app, version),
        pack_name(app, version),
        *(delta_name(app, base, version) for base in tree.bases),
    ]
