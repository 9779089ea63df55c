"""Bundle archives: a deterministic tar writer and a safe extractor.

Deterministic (sorted entries, fixed owner, mode and time) so the tar of a bundle can be
rebuilt byte for byte and checked against the signed hash: that tar is the patch base.
Extraction refuses anything that could write outside the destination, even from a correctly
signed archive: absolute paths, '..', links pointing out, hardlinks, device files, and more
bytes than the signed unpacked size.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

FIXED_MTIME = 315532800  # 1980-01-01: old enough to be neutral, accepted by every tool
_CHUNK = 1 << 20


class BundleError(ValueError):
    """The bundle folder cannot be archived as it is."""


class UnsafeArchiveError(ValueError):
    """The archive tries to write outside its destination or beyond its signed size."""


@dataclass(frozen=True)
class TarDigest:
    tar_size: int
    tar_sha256: str
    unpacked_size: int


class _HashingWriter:
    """A write-only file object that hashes and counts what passes through."""

    def __init__(self, sink: BinaryIO | None) -> None:
        self.sink = sink
        self.size = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.size += len(data)
        self.sha256.update(data)
        if self.sink is not None:
            self.sink.write(data)
        return len(data)


def check_bundle(root: Path) -> list[Path]:
    """Every path under root, sorted, after checking each can be archived safely."""
    if not root.is_dir():
        raise BundleError(f"bundle folder {root} does not exist or is not a folder")
    entries: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                _check_link_inside(root, path)
            elif stat.S_ISREG(mode):
                if not os.access(path, os.R_OK):
                    raise BundleError(f"cannot read {path}: fix its permissions and try again")
            elif not stat.S_ISDIR(mode):
                raise BundleError(
                    f"{path} is not a file, folder or link: remove it from the bundle"
                )
            entries.append(path)
    if not any(p.is_file() for p in entries):
        raise BundleError(f"bundle folder {root} has no files: build the application first")
    return sorted(entries, key=lambda p: p.relative_to(root).as_posix())


def _check_link_inside(root: Path, link: Path) -> None:
    target = os.readlink(link)
    resolved = (link.parent / target).resolve()
    if os.path.isabs(target) or not resolved.is_relative_to(root.resolve()):
        raise BundleError(
            f"symlink {link} points outside the bundle ({target}): "
            "copy the file into the bundle instead"
        )


def _tarinfo(root: Path, path: Path) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path.relative_to(root).as_posix())
    st = path.lstat()
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if stat.S_ISLNK(st.st_mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
        info.mode = 0o777
    elif stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = st.st_size
        info.mode = 0o755 if st.st_mode & stat.S_IXUSR else 0o644
    return info


def write_bundle_tar(root: Path, sink: BinaryIO | None) -> TarDigest:
    """Write the deterministic tar of a bundle folder to sink (or only hash it if None)."""
    root = Path(root)
    writer = _HashingWriter(sink)
    unpacked = 0
    with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for path in check_bundle(root):
            info = _tarinfo(root, path)
            if info.isreg():
                unpacked += info.size
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    return TarDigest(writer.size, writer.sha256.hexdigest(), unpacked)


def gzip_file(source: Path, destination: Path, level: int = 9) -> None:
    """gzip with a fixed header (no name, no time) so the same tar gives the same archive."""
    with open(source, "rb") as src, open(destination, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=level, mtime=0) as gz:
            while chunk := src.read(_CHUNK):
                gz.write(chunk)


def gunzip_file(source: Path, destination: Path) -> None:
    with gzip.open(source, "rb") as src, open(destination, "wb") as dst:
        while chunk := src.read(_CHUNK):
            dst.write(chunk)


def _checked_member(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo:
    if member.islnk():
        raise UnsafeArchiveError(f"archive member {member.name!r} is a hardlink: refused")
    try:
        # the standard library's 'data' filter: no absolute paths, no '..', no links out,
        # no device files, no setuid bits
        return tarfile.data_filter(member, destination)
    except tarfile.FilterError as error:
        raise UnsafeArchiveError(f"archive member {member.name!r} refused: {error}") from error


def extract_tar(archive: Path, destination: Path, max_unpacked_size: int) -> int:
    """Extract a .tar or .tar.gz into an empty destination; returns bytes written.

    Raises UnsafeArchiveError before writing a member that breaks the rules, and stops as soon
    as the declared sizes exceed max_unpacked_size (the signed figure).
    """
    destination.mkdir(parents=True, exist_ok=True)
    dest = str(destination.resolve())
    written = 0
    with tarfile.open(archive, mode="r:*") as tar:
        for member in tar:
            safe = _checked_member(member, dest)
            written += safe.size
            if written > max_unpacked_size:
                raise UnsafeArchiveError(
                    f"archive expands beyond its signed size of {max_unpacked_size} bytes: refused"
                )
            tar.extract(safe, dest, set_attrs=True, filter="fully_trusted")
    return written
