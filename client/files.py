"""File helpers every part of the project shares: atomic writes, removal, digests.

Rules: a write that matters is atomic (temp file in the same folder, rename over) and durable
(file and folder fsynced); removing never follows a link. Standard library only: this module is
on the application's start-up path (settings and state are written through it).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Make a rename or creation inside `folder` survive a power cut (no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True, mode: int = 0o644) -> None:
    """Temp file in the same folder, fsync, rename over: readers see old or new, never half.

    durable=False skips the fsyncs: still never half a file, but a power cut may bring back the
    previous content (fine for bookkeeping such as the last check time). The temp file is
    created exclusively and never through a link."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)  # left by a crash of this same process id
    try:
        fd = os.open(temp, flags, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str, durable: bool = True) -> None:
    """`atomic_write_bytes` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"), durable)


def remove_path(path: Path) -> None:
    """Delete a file, link or folder (a link is removed, never followed); missing is fine."""
    import shutil

    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def file_digest(path: Path) -> tuple[int, str]:
    """Size and sha256 of a file, read in 1 MiB blocks."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()
