"""A release's full downloads, built in frames: the `.tar.gz` archive (format 1), the
`.tar.zst` pack and the signed manifest (format 2, client.tree_format).

The deterministic tar of a bundle (`client.archive.bundle_entries`) is cut into frames at entry
boundaries (`frame_starts`, pure). Each frame is compressed on its own, as one gzip member and
one zstd frame, so both files are concatenations that gzip and zstd readers read as one
stream. A frame's key is the sha256 of its tar headers and of the sha256 of each file in it.
A frame whose key is in the index of an earlier release (`repo_tools.build_cache`) is copied
from that release's published files, after the copied bytes match the hashes recorded for
them; only the other frames are compressed, on every core. File hashes come from the cache of
stat signatures where a file is unchanged. So a release that changes a few files reads and
compresses those files, copies compressed bytes for the rest, and hashes the tar once for the
format-1 record (in a thread beside the rest).
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from client.archive import Entry as TarEntry
from client.archive import TarDigest
from client.tree_format import Entry, Kind, Manifest, encode_manifest
from repo_tools.build_cache import BuildCache, FrameRecord, FrameSource

ZSTD_LEVEL = 9  # ~15% smaller than gzip -9 on the scale bundle, at a fraction of its time
GZIP_LEVEL = 3  # format-1 clients and stock tufup: gzip they all read (docs/decisions.md)
BIG_ENTRY = 1 << 20  # a file this large is a frame of its own
FRAME_BYTES = 8 << 20  # a frame of small entries ends once it holds this much
NAME_CUT = 8  # a frame also starts where sha256(name)[0] < NAME_CUT (1 in 32 names)
_BLOCK = tarfile.BLOCKSIZE
_CHUNK = 1 << 20


@dataclass(frozen=True)
class BuiltTree:
    manifest: Manifest
    digest: TarDigest  # the uncompressed tar (format 1's tar_size, tar_sha256)
    frames: list[FrameRecord]  # where each frame is in the pack and archive (for the cache)
    reused: int  # frames copied from earlier releases
    compressed: int  # frames compressed now


def _header(info: tarfile.TarInfo) -> bytes:
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _padding(size: int) -> bytes:
    return b"\0" * (-size % _BLOCK)


def frame_starts(entries: list[tuple[str, int]]) -> list[int]:
    """Where frames start, from (name, size) in tar order: at each new top-level folder, at
    and after each big file, when a frame is full, and where a name's hash says so (names,
    not positions, so one added or removed file moves no boundary but its own)."""
    starts: list[int] = []
    held = 0
    previous_top = previous_big = None
    for index, (name, size) in enumerate(entries):
        top = name.split("/", 1)[0]
        big = size >= BIG_ENTRY
        cut = hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()[0] < NAME_CUT
        if index == 0 or top != previous_top or big or previous_big or held >= FRAME_BYTES or cut:
            starts.append(index)
            held = 0
        held += size + _BLOCK
        previous_top, previous_big = top, big
    return starts


def _file_hashes(entries: list[TarEntry], cache: BuildCache) -> dict[str, str]:
    """sha256 of every file entry: the stat cache's where the file is unchanged, else read
    (in threads: hashlib and file reads release the interpreter lock)."""
    hashes: dict[str, str] = {}
    unknown: list[tuple[str, Path | bytes]] = []
    for info, source in entries:
        if not info.isreg():
            continue
        known = cache.known_hash(source) if isinstance(source, Path) else None
        if known is None:
            unknown.append((info.name, source if source is not None else b""))
        else:
            hashes[info.name] = known
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        for name, digest in zip(
            [n for n, _ in unknown], pool.map(_hash_source, [s for _, s in unknown]), strict=True
        ):
            hashes[name] = digest
    for info, source in entries:
        if isinstance(source, Path) and info.isreg():
            cache.remember_hash(source, hashes[info.name])
    return hashes


def _hash_source(source: Path | bytes) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with open(source, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _chunks(info: tarfile.TarInfo, source: Path | bytes | None) -> Iterator[bytes]:
    """The tar bytes of one entry: header, content, padding to the block size."""
    yield _header(info)
    if isinstance(source, bytes):
        yield source
    elif isinstance(source, Path):
        with open(source, "rb") as handle:
            written = 0
            while chunk := handle.read(min(_CHUNK, info.size - written)):
                written += len(chunk)
                yield chunk
            if written != info.size:
                raise OSError(f"{source} changed size while the release was built: build again")
    yield _padding(info.size if info.isreg() else 0)


def _end_of_archive(size: int) -> bytes:
    """What tarfile writes after the last entry: two zero blocks, then up to a full record."""
    end = size + 2 * _BLOCK
    return b"\0" * (2 * _BLOCK + (-end % tarfile.RECORDSIZE))


def _compress(entries: list[TarEntry]) -> tuple[bytes, bytes]:
    import zstandard

    zst = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()
    gz = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    z_out, g_out = [], []
    for info, source in entries:
        for chunk in _chunks(info, source):
            z_out.append(zst.compress(chunk))
            g_out.append(gz.compress(chunk))
    z_out.append(zst.flush())
    g_out.append(gz.flush())
    return b"".join(z_out), b"".join(g_out)


def _compress_bytes(data: bytes) -> tuple[bytes, bytes]:
    import zstandard

    gz = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data), gz.compress(data) + gz.flush()


class _TarHasher(threading.Thread):
    """The sha256 of the whole uncompressed tar, read beside the rest of the build."""

    def __init__(self, entries: list[TarEntry]) -> None:
        super().__init__(daemon=True)
        self.entries = entries
        self.digest: TarDigest | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            sha, size = hashlib.sha256(), 0
            for info, source in self.entries:
                for chunk in _chunks(info, source):
                    sha.update(chunk)
                    size += len(chunk)
            end = _end_of_archive(size)
            sha.update(end)
            unpacked = sum(info.size for info, _ in self.entries if info.isreg())
            self.digest = TarDigest(size + len(end), sha.hexdigest(), unpacked)
        except BaseException as error:  # noqa: BLE001 - reported by the builder
            self.error = error


def _manifest(app: str, version: str, entries: list[TarEntry], hashes: dict[str, str]) -> Manifest:
    listed = []
    for info, _ in entries:
        if info.isdir():
            listed.append(Entry(info.name, Kind.DIR))
        elif info.issym():
            listed.append(Entry(info.name, Kind.LINK, target=info.linkname))
        else:
            executable = bool(info.mode & 0o100)
            listed.append(Entry(info.name, Kind.FILE, info.size, hashes[info.name], executable))
    return Manifest(app, version, tuple(listed))


def frame_key(headers: list[bytes], hashes: list[str]) -> str:
    key = hashlib.sha256()
    for header, digest in zip(headers, hashes, strict=True):
        key.update(header)
        key.update(digest.encode())
    return key.hexdigest()


def build_tree(
    app: str,
    version: str,
    entries: list[TarEntry],
    cache: BuildCache,
    archive: Path,
    pack: Path,
    manifest_file: Path,
) -> BuiltTree:
    """Write the archive, the pack and the manifest of `entries` (the bundle's tar)."""
    hasher = _TarHasher(entries)
    hasher.start()
    hashes = _file_hashes(entries, cache)
    starts = frame_starts([(info.name, info.size) for info, _ in entries]) + [len(entries)]
    groups = [entries[a:b] for a, b in zip(starts, starts[1:], strict=False)]
    records: list[FrameRecord] = []
    reused = compressed = 0
    workers = os.cpu_count() or 2
    with (
        open(pack, "wb") as z_sink,
        open(archive, "wb") as g_sink,
        ThreadPoolExecutor(workers) as pool,
    ):
        pending: deque[tuple[str, int, list[TarEntry], Future | tuple[bytes, bytes]]] = deque()

        def write_oldest() -> None:
            key, size, group, work = pending.popleft()
            z_data, g_data = work if isinstance(work, tuple) else work.result()
            records.append(
                FrameRecord(
                    key, size, group[0][0].name, group[-1][0].name,
                    FrameSource.of(z_sink.tell(), z_data), FrameSource.of(g_sink.tell(), g_data),
                )
            )  # fmt: skip
            z_sink.write(z_data)
            g_sink.write(g_data)

        for group in groups:
            headers = [_header(info) for info, _ in group]
            key = frame_key(headers, [hashes.get(info.name, "") for info, _ in group])
            size = sum(
                len(h) + info.size + len(_padding(info.size))
                for h, (info, _) in zip(headers, group, strict=True)
            )
            copied = cache.copy_frame(key)
            if copied is not None:
                reused += 1
                pending.append((key, size, group, copied))
            else:
                compressed += 1
                pending.append((key, size, group, pool.submit(_compress, group)))
            while len(pending) > 2 * workers:
                write_oldest()
        while pending:
            write_oldest()
        hasher.join()
        if hasher.error is not None or hasher.digest is None:
            raise hasher.error or OSError("the tar could not be hashed")
        held = sum(r.size for r in records)
        z_end, g_end = _compress_bytes(_end_of_archive(held))
        z_sink.write(z_end)
        g_sink.write(g_end)
    if hasher.digest.tar_size != held + len(_end_of_archive(held)):
        raise OSError("the bundle changed while the release was built: build again")
    built = _manifest(app, version, entries, hashes)
    manifest_file.write_bytes(encode_manifest(built))
    return BuiltTree(built, hasher.digest, records, reused, compressed)
