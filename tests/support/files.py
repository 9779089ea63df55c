"""Fingerprints of folders on disk, to tell "nothing changed" from "something changed"."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def tree_digest(root: Path, *parts: str, folders: bool = True) -> dict[str, str]:
    """What is under `root` (or, with `parts`, only under root/part for each part), as
    {path relative to root: fingerprint}: the sha256 of a file's bytes, "link:" and the target
    of a symlink (never followed), "dir" for a folder (listed only with `folders`; without,
    the digest has the same keys as a listing of objects in a bucket). Equal digests mean the
    same entries with the same content; a part that does not exist adds nothing."""
    out: dict[str, str] = {}
    for top in [root / part for part in parts] if parts else [root]:
        for path in sorted(top.rglob("*")):
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_file():
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif folders:
                out[rel] = "dir"
    return out


def disk_bytes(root: Path) -> int:
    """Bytes the files under `root` occupy, each inode counted once (what `du` says)."""
    seen, total = set(), 0
    for folder, _, files in os.walk(root):
        for name in files:
            info = os.lstat(os.path.join(folder, name))
            if info.st_ino not in seen:
                seen.add(info.st_ino)
                total += info.st_blocks * 512
    return total
