"""Tree-format (format 2) targets built in tests with `client.tree_format`'s encoders: the
manifest, the pack (a deterministic tar, zstd in frames) and deltas (an xz tar of the index and
data/<n> members), and `publish_tree`, which signs them into a repository made by repo-tools
(with the release record naming the tree), honest or hostile as a test needs."""

from __future__ import annotations

import gzip
import hashlib
import io
import stat
import tarfile
from dataclasses import replace
from pathlib import Path

from client.formats import TREE_FORMAT, ArchiveInfo, TreeInfo, archive_name, parse_custom
from client.tree_format import (
    DeltaFile,
    DeltaIndex,
    Entry,
    How,
    Kind,
    Manifest,
    delta_name,
    encode_index,
    encode_manifest,
    manifest_name,
    pack_name,
)


def tar_entries(tar_bytes: bytes) -> tuple[list[Entry], dict[str, bytes]]:
    """The manifest entries of an uncompressed tar, and each file's bytes."""
    entries, data = [], {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        for member in tar:
            name = member.name.rstrip("/")
            if member.isdir():
                entries.append(Entry(name, Kind.DIR))
            elif member.issym():
                entries.append(Entry(name, Kind.LINK, target=member.linkname))
            else:
                body = tar.extractfile(member).read()  # type: ignore[union-attr]
                data[name] = body
                executable = bool(member.mode & stat.S_IXUSR)
                digest = hashlib.sha256(body).hexdigest()
                entries.append(Entry(name, Kind.FILE, len(body), digest, executable))
    return sorted(entries, key=lambda e: e.path), data


def pack_bytes(tar_bytes: bytes, frames: int = 3) -> bytes:
    """The pack: the tar zstd-compressed in `frames` concatenated frames."""
    import zstandard

    step = max(1, len(tar_bytes) // frames + 1)
    compressor = zstandard.ZstdCompressor(level=3)
    return b"".join(
        compressor.compress(tar_bytes[i : i + step]) for i in range(0, len(tar_bytes), step)
    )


def delta_bytes(
    app: str,
    base: str,
    version: str,
    files: list[tuple[DeltaFile, bytes]],
    index: DeltaIndex | None = None,
) -> bytes:
    """A delta: xz tar of delta.json and data/<n> in the index's order."""
    index = index or DeltaIndex(app, version, base, tuple(f for f, _ in files))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:xz") as tar:
        raw = encode_index(index)
        info = tarfile.TarInfo("delta.json")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
        for number, (_, body) in enumerate(files):
            info = tarfile.TarInfo(f"data/{number}")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


def honest_delta(
    app: str, base: str, version: str, old: dict[str, bytes], new: dict[str, bytes]
) -> list[tuple[DeltaFile, bytes]]:
    """The delta files from `old` to `new` (path -> bytes): a patch where the path existed,
    the whole file where it is new; files whose bytes the base holds are left out."""
    import hdiffpatch

    held = {hashlib.sha256(b).hexdigest() for b in old.values()}
    files = []
    for path, body in sorted(new.items()):
        if hashlib.sha256(body).hexdigest() in held:
            continue
        if path in old:
            patch = hdiffpatch.diff(old[path], body)
            digest = hashlib.sha256(old[path]).hexdigest()
            files.append((DeltaFile(path, How.PATCH, path, digest), patch))
        else:
            files.append((DeltaFile(path, How.FULL), body))
    return files


def archive_tar(repo: Path, app: str, version: str) -> bytes:
    """The uncompressed tar of a published full archive."""
    (found,) = (repo / "targets").glob(f"*.{archive_name(app, version)}")
    return gzip.decompress(found.read_bytes())


def archive_record(repo: Path, app: str, version: str) -> ArchiveInfo:
    import json

    targets = json.loads((repo / "metadata" / "targets.json").read_text())["signed"]["targets"]
    name = archive_name(app, version)
    info = parse_custom(name, targets[name]["custom"], targets[name]["hashes"])
    assert isinstance(info, ArchiveInfo)
    return info


def publish_tree(
    repo: Path,
    keys: Path,
    work: Path,
    app: str,
    version: str,
    *,
    manifest: bytes | None = None,
    pack: bytes | None = None,
    deltas: dict[str, bytes] | None = None,
    entries: int | None = None,
) -> Manifest:
    """Sign tree targets of the published `app` `version` into the repository (honest ones
    from its archive unless given), the release record naming them (bases: the deltas'
    base versions). Returns the honest manifest."""
    from tests.support.signing import publish_targets

    work.mkdir(parents=True, exist_ok=True)
    tar = archive_tar(repo, app, version)
    listed, _ = tar_entries(tar)
    honest = Manifest(app, version, tuple(listed))
    deltas = deltas or {}
    files = {
        manifest_name(app, version): manifest if manifest is not None else encode_manifest(honest),
        pack_name(app, version): pack if pack is not None else pack_bytes(tar),
    }
    for base, body in deltas.items():
        files[delta_name(app, base, version)] = body
    add = {}
    for name, body in files.items():
        path = work / name
        path.write_bytes(body)
        add[name] = (path, {})
    record = archive_record(repo, app, version)
    tree = TreeInfo(TREE_FORMAT, entries or len(listed), tuple(deltas))
    (archive,) = (repo / "targets").glob(f"*.{archive_name(app, version)}")
    copy = work / archive_name(app, version)
    copy.write_bytes(archive.read_bytes())
    add[archive_name(app, version)] = (copy, replace(record, tree=tree).to_custom())
    publish_targets(repo, keys, add)
    return honest
