"""Verify and repair an installed version of the tree format against its signed manifest.

The reference is the release's manifest (TUF-verified, `client.tree_install.fetch_manifest`):
every entry's kind, sha256, executable bit and link target (`client.integrity.compare_manifest`).
Repair takes the reference bytes from the release's pack, downloaded through TUF and read as a
stream: only the broken entries are written, each checked against the manifest (kind, size,
sha256) before it replaces anything. A file is written under a temporary name beside its
target and renamed over it, so a file shared with another version (a hard link) is replaced
in this version only, never written through; nothing is written through a symbolic link or
outside the version's folder. The pack is deleted afterwards. Files the release does not
contain are reported, never removed.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path
from typing import Any

from client.extract import UnsafeArchiveError, check_member, member_parts
from client.files import remove_path
from client.integrity import Integrity, compare_manifest

_CHUNK = 1 << 20
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def compare_signed(manifest: Any, installed: Path) -> Integrity:
    """The installed folder against the release's signed manifest."""
    executables = {e.path for e in manifest.entries if e.executable}
    return compare_manifest(manifest.integrity(), installed, executables)


def _inside(root: Path, path: Path) -> bool:
    real_root, real_parent = os.path.realpath(root), os.path.realpath(path.parent)
    return real_parent == real_root or real_parent.startswith(real_root + os.sep)


def repair_from_pack(pack: Path, installed: Path, manifest: Any, broken: list[str]) -> list[str]:
    """Write every entry named in `broken` from the pack into `installed`; returns them in
    the order written. UnsafeArchiveError when the pack does not hold them as signed."""
    import zstandard

    expected = {e.path: e for e in manifest.entries}
    remaining = set(broken)
    repaired: list[str] = []
    with open(pack, "rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            for member in tar:
                if not remaining:
                    break
                name = "/".join(member_parts(member.name))
                if name not in remaining:
                    continue
                entry = check_member(member, name, expected)
                target = installed / name
                if not _inside(installed, target):
                    raise UnsafeArchiveError(
                        f"refusing to write {name}: its folder leads outside {installed}"
                    )
                _put(tar, member, entry, target)
                remaining.discard(name)
                repaired.append(name)
    if remaining:
        raise UnsafeArchiveError(
            f"the pack lacks {len(remaining)} entries of the signed manifest "
            f"(first: {sorted(remaining)[0]!r}): not repaired"
        )
    return repaired


def _put(tar: tarfile.TarFile, member: tarfile.TarInfo, entry: Any, target: Path) -> None:
    """Replace `target` by the member: a folder made, a link or file renamed over it."""
    if member.isdir():
        if target.is_symlink() or not target.is_dir():
            remove_path(target)
            os.mkdir(target, 0o755)
        os.chmod(target, 0o755, follow_symlinks=False)
        return
    temporary = target.with_name(f".{target.name}.repair")
    remove_path(temporary)
    if member.issym():
        os.symlink(entry.target, temporary)
    else:
        mode = 0o755 if entry.executable else 0o644
        digest = hashlib.sha256()
        source = tar.extractfile(member)
        assert source is not None
        fd = os.open(temporary, _NEW_FILE, mode)
        try:
            with os.fdopen(fd, "wb") as sink:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    sink.write(chunk)
                os.fchmod(sink.fileno(), mode)
                os.utime(sink.fileno(), (member.mtime, member.mtime))
            if digest.hexdigest() != entry.sha256:
                raise UnsafeArchiveError(
                    f"archive member {entry.path!r} does not match its sha256 in the signed "
                    "manifest: not repaired"
                )
        except BaseException:
            remove_path(temporary)
            raise
    if target.is_dir() and not target.is_symlink():
        remove_path(target)  # a folder where a file or link belongs
    os.replace(temporary, target)
