"""File helpers every part of the project shares: atomic writes, removal, digests, and the
guarded reading of the client's own local files (settings, state, history).

Rules: a write that matters is atomic (temp file in the same folder, rename over) and durable
(file and folder fsynced); no write and no read of local state goes through a link; a local
file is read with a size bound, as UTF-8, and its JSON nesting is bounded before it is parsed,
so damage or tampering becomes a `LocalFileError` that says what is wrong, never a crash.
Standard library only: this module is on the application's start-up path.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import threading
import time
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_JSON_DEPTH = 32  # our files nest 4 levels at most: deeper is damage, not data
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


class LocalFileError(ValueError):
    """A local file is damaged or not trustworthy: `reason` says how (without the path)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} {reason}")
        self.path = Path(path)
        self.reason = reason


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

    The file's data is always fsynced before the rename (without it a power cut can leave an
    empty file under the new name). durable=False skips only the folder's fsync: a power cut
    may then bring back the previous content, never a damaged one (fine for bookkeeping such as
    the last check time). The temp file is created exclusively and never through a link, and
    the rename replaces a link at `path` itself: nothing is ever written through a link."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_FOLLOW | getattr(os, "O_CLOEXEC", 0)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)  # left by a crash of this same process id (unlink never follows)
    try:
        fd = os.open(temp, flags, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
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


# -- reading local files ---------------------------------------------------------------------


def read_local_bytes(path: Path, max_bytes: int, follow_links: bool = False) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; LocalFileError otherwise.

    Without `follow_links`, a link at `path` is refused (O_NOFOLLOW). A FIFO or device never
    blocks the caller (O_NONBLOCK, then refused). FileNotFoundError and other OSErrors (no
    permission) propagate: the caller knows whether a missing file is normal."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | (0 if follow_links else _NO_FOLLOW))
    except OSError as error:
        if not follow_links and os.path.islink(path):  # ELOOP, or EMLINK on some systems
            raise LocalFileError(path, "is a symbolic link: not followed") from None
        raise error from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise LocalFileError(path, "is not a regular file")
        if info.st_size > max_bytes:
            raise LocalFileError(
                path, f"is {info.st_size} bytes, more than the {max_bytes} allowed"
            )
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise LocalFileError(path, f"is more than the {max_bytes} bytes allowed")
        return b"".join(chunks)
    finally:
        os.close(fd)


def json_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON text nests lists/objects deeper than `limit` (checked before parsing, so
    deep nesting can never reach the parser's recursion)."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def parse_json_bytes(path: Path, data: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode UTF-8 and parse JSON with bounded nesting; LocalFileError saying what is wrong."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise LocalFileError(
            path, f"is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None
    if json_too_deep(text, max_depth):
        raise LocalFileError(path, f"nests deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise LocalFileError(path, f"is not valid JSON at {where}: {error.msg}") from None
    except (ValueError, RecursionError) as error:  # e.g. an integer of 5,000 digits
        raise LocalFileError(path, f"is not valid JSON: {error}") from None


def read_json_file(
    path: Path, max_bytes: int, follow_links: bool = False, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """`read_local_bytes` then `parse_json_bytes`: a JSON value, or LocalFileError."""
    return parse_json_bytes(path, read_local_bytes(path, max_bytes, follow_links), max_depth)


# -- who else can write ----------------------------------------------------------------------


def others_can_write(info: os.stat_result) -> str | None:
    """Why users other than this one could change a file or folder (None: only this user and
    root can). World-writable; group-writable unless the group is the owner's private group
    (same name, no other members); owned by another user (who can chmod it)."""
    me = os.geteuid() if hasattr(os, "geteuid") else None
    if me is None:  # Windows: ACLs, not mode bits
        return None
    if info.st_uid not in (me, 0):
        return f"is owned by another user (uid {info.st_uid})"
    if info.st_mode & stat.S_IWOTH and not stat.S_ISLNK(info.st_mode):
        sticky = " (sticky: others can add files)" if info.st_mode & stat.S_ISVTX else ""
        return f"is writable by every user (mode {stat.S_IMODE(info.st_mode):o}){sticky}"
    group_writable = info.st_mode & stat.S_IWGRP and not stat.S_ISLNK(info.st_mode)
    if group_writable and not _private_group(info.st_gid, info.st_uid):
        return (
            f"is writable by group {_group_name(info.st_gid)} (mode {stat.S_IMODE(info.st_mode):o})"
        )
    return None


def own_regular_file(info: os.stat_result) -> str | None:
    """Why a file (its lstat) must not be read as ours or written to, or None: a link, a
    special file, a file with other hard links (it may be another of your files), or one
    other users can write."""
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    if info.st_nlink > 1:
        return f"has {info.st_nlink} hard links (it may be another of your files)"
    return others_can_write(info)


def _private_group(gid: int, uid: int) -> bool:
    try:
        import grp
        import pwd

        group, user = grp.getgrgid(gid), pwd.getpwuid(uid)
    except (ImportError, KeyError):
        return False
    return group.gr_name == user.pw_name and not set(group.gr_mem) - {user.pw_name}


def _group_name(gid: int) -> str:
    try:
        import grp

        return f"{grp.getgrgid(gid).gr_name!r} (gid {gid})"
    except (ImportError, KeyError):
        return f"gid {gid}"


# -- setting a file aside ----------------------------------------------------------------------


def set_aside(path: Path, label: str = "damaged", expect_inode: int | None = None) -> Path | None:
    """Rename `path` (a file or a link: never followed) to `<name>.<label>-<UTC time>` next to
    it; returns the new path, or None when there was nothing to move.

    With `expect_inode`, a file that was replaced meanwhile (an atomic write by another
    process: a new inode) is put back, not set aside. OSError when the folder is read-only."""
    path = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.{label}-{stamp}")
    count = 1
    while os.path.lexists(aside):
        count += 1
        aside = path.with_name(f"{path.name}.{label}-{stamp}-{count}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return None
    if expect_inode is not None and os.lstat(aside).st_ino != expect_inode:
        with contextlib.suppress(OSError):
            os.link(aside, path, follow_symlinks=False)  # put back unless replaced again
            os.unlink(aside)
        return None
    fsync_dir(path.parent)
    return aside


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
