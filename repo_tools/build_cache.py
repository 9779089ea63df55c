"""What the publisher remembers between releases, so a release works on what changed.

Kept in ``<repo>/.repo-tools-cache/`` (never published, never signed, safe to delete: without
it the next release compresses everything, as a first release does):

* ``files.json``: a file's sha256 by its stat signature (device, inode, size, modification and
  change times, like a version-control index), for the files of the last release, which all
  passed the secret scan: an unchanged file is neither read to be hashed nor scanned again
  (unless the scan's rules changed since, `bundle_rules.SCAN_RULES`).
* ``frames/<app>-<version>.json``: where each frame of a release's pack and archive lies
  (offset, length and sha256 of its compressed bytes in each published file), with the names
  of its first and last entries. A later release copies a frame with the same key from there
  once the copied bytes match the recorded sha256, and a delta reads a base release's files
  from the frames holding them (`base_files`).

A cache entry is only a hint: every byte taken from it is checked against a hash first, and
whatever does not check out is built afresh.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from client.files import atomic_write_text
from repo_tools.bundle_rules import SCAN_RULES

CACHE_DIR = ".repo-tools-cache"
_INDEX_FORMAT = 1


@dataclass(frozen=True)
class FrameSource:
    offset: int
    length: int
    sha256: str

    @classmethod
    def of(cls, offset: int, data: bytes) -> FrameSource:
        return cls(offset, len(data), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class FrameRecord:
    key: str
    size: int  # uncompressed bytes
    first: str  # name of its first entry
    last: str
    zst: FrameSource
    gz: FrameSource

    def encoded(self) -> list[object]:
        return [self.key, self.size, self.first, self.last,
                *_source(self.zst), *_source(self.gz)]  # fmt: skip

    @classmethod
    def decoded(cls, item: list) -> FrameRecord:
        key, size, first, last, zo, zl, zs, go, gl, gs = item
        return cls(key, size, first, last, FrameSource(zo, zl, zs), FrameSource(go, gl, gs))


def _source(source: FrameSource) -> list[object]:
    return [source.offset, source.length, source.sha256]


@dataclass(frozen=True)
class _Index:
    version: str
    pack: Path
    archive: Path
    frames: list[FrameRecord]


class BuildCache:
    """The cache of one repository (module doc); `targets` is its published targets folder."""

    def __init__(self, repo: Path, app: str) -> None:
        self.folder = repo / CACHE_DIR
        self.targets = repo / "targets"
        self.app = app
        self._files = self._load_files()
        self._seen: dict[str, list[object]] = {}
        self._signatures: dict[str, tuple[str, list[object]]] = {}
        self._indexes = self._load_indexes()
        self._by_key = {
            record.key: (index, record) for index in self._indexes.values()
            for record in index.frames
        }  # fmt: skip

    # -- file hashes by stat signature --------------------------------------------------------

    def _load_files(self) -> dict[str, list[object]]:
        try:
            data = json.loads((self.folder / "files.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("scan_rules") != SCAN_RULES:
            return {}  # hashes of files the current secret scan has not passed
        files = data.get("files")
        return files if isinstance(files, dict) else {}

    def _signature(self, path: Path) -> tuple[str, list[object]]:
        """(device:inode, [size, mtime, ctime]) of `path`, read once per release."""
        key = str(path)
        found = self._signatures.get(key)
        if found is None:
            st = os.lstat(key)
            found = f"{st.st_dev}:{st.st_ino}", [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
            self._signatures[key] = found
        return found

    def known_hash(self, path: Path) -> str | None:
        key, signature = self._signature(path)
        found = self._files.get(key)
        if isinstance(found, list) and found[:3] == signature and isinstance(found[3], str):
            return found[3]
        return None

    def remember_hash(self, path: Path, sha256: str) -> None:
        key, signature = self._signature(path)
        self._seen[key] = [*signature, sha256]

    def save_files(self) -> None:
        """Keep the signatures of the files of the release just made (bounded by its bundle)."""
        self.folder.mkdir(exist_ok=True)
        data = {"scan_rules": SCAN_RULES, "files": self._seen}
        atomic_write_text(self.folder / "files.json", json.dumps(data), durable=False)

    # -- frame indexes ------------------------------------------------------------------------

    def _index_file(self, version: str) -> Path:
        return self.folder / "frames" / f"{self.app}-{version}.json"

    def _load_indexes(self) -> dict[str, _Index]:
        found: dict[str, _Index] = {}
        folder = self.folder / "frames"
        if not folder.is_dir():
            return found
        for path in sorted(folder.glob(f"{self.app}-*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("format") != _INDEX_FORMAT or data.get("app") != self.app:
                    continue
                index = _Index(
                    str(data["version"]),
                    self.targets / Path(str(data["pack"])).name,
                    self.targets / Path(str(data["archive"])).name,
                    [FrameRecord.decoded(item) for item in data["frames"]],
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged index is no index: those frames are compressed again
            if index.pack.is_file() and index.archive.is_file():
                found[index.version] = index
        return found

    def save_index(
        self, version: str, pack_file: str, archive_file: str, frames: list[FrameRecord]
    ) -> None:
        data = {
            "format": _INDEX_FORMAT, "app": self.app, "version": version,
            "pack": pack_file, "archive": archive_file,
            "frames": [record.encoded() for record in frames],
        }  # fmt: skip
        path = self._index_file(version)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(data), durable=False)

    def forget(self, versions: set[str]) -> None:
        for version in versions:
            self._index_file(version).unlink(missing_ok=True)

    @staticmethod
    def _read(path: Path, source: FrameSource) -> bytes | None:
        try:
            with open(path, "rb") as handle:
                handle.seek(source.offset)
                data = handle.read(source.length)
        except OSError:
            return None
        if len(data) != source.length or hashlib.sha256(data).hexdigest() != source.sha256:
            return None
        return data

    def copy_frame(self, key: str) -> tuple[bytes, bytes] | None:
        """The compressed bytes (zstd, gzip) of an earlier frame with this key, checked."""
        found = self._by_key.get(key)
        if found is None:
            return None
        index, record = found
        z_data = self._read(index.pack, record.zst)
        g_data = self._read(index.archive, record.gz) if z_data is not None else None
        return None if z_data is None or g_data is None else (z_data, g_data)

    def base_files(self, version: str, pack: Path, wanted: set[str], into: Path) -> dict[str, Path]:
        """The files `wanted` of release `version`, copied from its pack `pack` into the folder
        `into` (one file each, named by number): only the frames holding them when its index
        is here, else the whole pack read through. The caller checks each against the base
        manifest's sha256 (a file not found, or found damaged, travels whole)."""
        import zstandard

        found: dict[str, Path] = {}
        index = self._indexes.get(version)
        if index is not None and index.pack == pack:
            frames = [r for r in index.frames if any(r.first <= n <= r.last for n in wanted)]
            for record in frames:
                data = self._read(pack, record.zst)
                if data is None:
                    break
                raw = zstandard.ZstdDecompressor().decompressobj().decompress(data)
                _members(io.BytesIO(raw), wanted, into, found)
            else:
                return found
        try:
            with open(pack, "rb") as handle:
                reader = zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True)
                _members(reader, wanted, into, found)
        except (zstandard.ZstdError, tarfile.TarError):
            pass  # a damaged base pack: the files not found travel whole in the delta
        return found


def _members(stream: object, wanted: set[str], into: Path, found: dict[str, Path]) -> None:
    import shutil

    with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
        for member in tar:
            if member.isreg() and member.name in wanted and member.name not in found:
                source = tar.extractfile(member)
                if source is not None:
                    path = into / str(len(found))
                    with open(path, "wb") as sink:
                        shutil.copyfileobj(source, sink, 1 << 20)
                    found[member.name] = path
