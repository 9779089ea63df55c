"""Deltas of format 2 (client.tree_format): what a base release lacks of a new one.

A delta holds only the files of the new release whose bytes the base holds under no path
(`plan_tree`, the client's own rule). Each is stored whole, or as a raw HDiffPatch patch from
the base file most like it (`base_candidate`, pure: the same path, else the same path with
its digits ignored, which finds a file again after a version in a folder name changed, such
as ``numpy-2.4.5.dist-info`` -> ``numpy-2.4.6.dist-info``), whichever is smaller; the whole
delta is one xz stream, which compresses across files. Files above MAX_PATCHED are stored
whole (a patch is made and applied in memory). The work is the changed files only: base
files come from the frames of the base pack that hold them (repo_tools.build_cache).
"""

from __future__ import annotations

import hashlib
import io
import lzma
import re
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from client.archive import FIXED_MTIME
from client.tree_format import (
    DELTA_INDEX,
    DeltaFile,
    DeltaIndex,
    Entry,
    How,
    Manifest,
    encode_index,
    plan_tree,
)

MAX_PATCHED = 64 << 20
XZ_PRESET = 6 | lzma.PRESET_EXTREME  # ~100 MB to compress, ~10 MB to decompress
_DIGITS = re.compile(r"[0-9]+")

ReadBase = Callable[[set[str]], dict[str, bytes]]


@dataclass(frozen=True)
class DeltaResult:
    files: int  # files carried
    patched: int  # of which as patches
    size: int  # bytes of the delta file


def _shape(path: str) -> str:
    return _DIGITS.sub("#", path)


def base_candidate(path: str, size: int, base: dict[str, Entry], shapes: dict[str, str]) -> str:
    """The base file a new file is patched from ("" for none): the same path, else the one
    path of the same shape (digits ignored); both no larger than MAX_PATCHED."""
    found = path if path in base else shapes.get(_shape(path), "")
    if not found or size > MAX_PATCHED or base[found].size > MAX_PATCHED:
        return ""
    return found


def _shapes(base: dict[str, Entry]) -> dict[str, str]:
    """shape -> path for the shapes exactly one base file has (an ambiguous one matches none)."""
    counts: dict[str, list[str]] = {}
    for path in base:
        counts.setdefault(_shape(path), []).append(path)
    return {shape: paths[0] for shape, paths in counts.items() if len(paths) == 1}


def _read(source: Path | bytes) -> bytes:
    return source if isinstance(source, bytes) else source.read_bytes()


def _member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, FIXED_MTIME
    tar.addfile(info, io.BytesIO(data))


def build_delta(
    base: Manifest,
    new: Manifest,
    sources: dict[str, Path | bytes],
    read_base: ReadBase,
    out: Path,
) -> DeltaResult:
    """Write the delta base -> new to `out`; `sources` gives each new file's bytes."""
    base_files = base.files()
    new_files = new.files()
    needed = plan_tree(base.integrity(), new).needed
    shapes = _shapes(base_files)
    candidates = {
        path: base_candidate(path, new_files[path].size, base_files, shapes) for path in needed
    }
    olds = read_base({c for c in candidates.values() if c})
    listed: list[DeltaFile] = []
    spool = out.with_name(out.name + ".parts")  # each payload waits on disk, not in memory
    spool.mkdir()
    try:
        for number, path in enumerate(needed):
            spooled = spool / str(number)
            listed.append(_payload(path, sources[path], new_files, base_files, candidates, olds,
                                   spooled))  # fmt: skip
        index = DeltaIndex(new.app, new.version, base.version, tuple(listed))
        with tarfile.open(out, "w:xz", format=tarfile.PAX_FORMAT, preset=XZ_PRESET) as tar:
            _member(tar, DELTA_INDEX, encode_index(index))
            for number in range(len(listed)):
                _member(tar, f"data/{number}", (spool / str(number)).read_bytes())
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    patched = sum(1 for f in listed if f.how is How.PATCH)
    return DeltaResult(len(listed), patched, out.stat().st_size)


def _payload(
    path: str,
    source: Path | bytes,
    new_files: dict[str, Entry],
    base_files: dict[str, Entry],
    candidates: dict[str, str],
    olds: dict[str, bytes],
    spooled: Path,
) -> DeltaFile:
    """Decide how `path` travels (whole or patched) and spool its bytes."""
    import hdiffpatch

    data = _read(source)
    if hashlib.sha256(data).hexdigest() != new_files[path].sha256:
        raise OSError(f"{path} changed while the release was built: build again")
    candidate = candidates[path]
    old = olds.get(candidate) if candidate else None
    if old is not None and hashlib.sha256(old).hexdigest() == base_files[candidate].sha256:
        patch = hdiffpatch.diff(old, data, validate=False)
        if len(patch) < len(data):
            spooled.write_bytes(patch)
            return DeltaFile(path, How.PATCH, candidate, base_files[candidate].sha256)
    spooled.write_bytes(data)
    return DeltaFile(path, How.FULL)
