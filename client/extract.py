"""Safe extraction of a release archive: our own rules, whatever the standard library's version.

A correctly signed archive is exactly what a stolen targets key or a malicious insider
produces, so extraction trusts nothing in it. The rules (docs/security.md, "Archives"):

- Members are regular files, folders and symbolic links only: hardlinks, devices, FIFOs and
  anything else are refused. Names are relative, made of plain components (no '', '.', '..',
  no NUL, no backslash), at most MAX_NAME_BYTES long; the same name twice is refused.
- Every file, folder and link is created relative to an open descriptor of its parent folder,
  never following a link (O_NOFOLLOW, O_EXCL, mkdir/symlink with dir_fd), so no link (in the
  archive or planted beside it) can redirect a write. Parents must be real folders.
- A link's target must be relative; all links are resolved by our own code on the archive's
  own entries (`link_escape`: physical '..' after a link, chains at most MAX_LINK_HOPS long)
  and must stay inside the bundle. This runs before the extracted folder is used.
- Modes are 0o755 or 0o644 (no setuid, setgid, sticky or world-writable bits).
- Declared and written bytes stay within the signed unpacked size, and the entry count within
  the signed count (or, for releases signed before the count existed, one entry per 512 bytes of
  the signed size plus 1,000).

- With a signed manifest (`expected`, the tree format): every member is in it with the same
  kind, size, sha256, executable bit and link target; nothing outside it; everything in it
  present at the end. The archive may be a stream (read once, member by member: a pack is
  never held whole in memory or on disk uncompressed).

Refusals raise UnsafeArchiveError naming the member and the rule; the caller removes staging.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Protocol

MAX_LINK_HOPS = 16
MAX_NAME_BYTES = 4096
MAX_COMPONENT_BYTES = 255
_CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


class UnsafeArchiveError(ValueError):
    """The archive tries to write outside its destination or beyond its signed limits."""


class Expected(Protocol):
    """One entry of a signed manifest as extraction checks it (`client.tree_format.Entry`)."""

    kind: str  # "d", "f" or "l"
    size: int
    sha256: str
    executable: bool
    target: str


_KINDS = {"d": "a folder", "f": "a file", "l": "a link"}


def _member_kind(member: tarfile.TarInfo) -> str:
    return "d" if member.isdir() else "l" if member.issym() else "f"


def check_member(member: tarfile.TarInfo, name: str, expected: Mapping[str, Expected]) -> Expected:
    """The signed entry `member` must match (kind, size, executable bit, link target), or
    UnsafeArchiveError; its bytes are checked against the entry's sha256 once written."""
    entry = expected.get(name)
    if entry is None:
        raise UnsafeArchiveError(
            f"archive member {name!r} is not in the signed manifest of the release: refused"
        )
    kind = _member_kind(member)
    if kind != entry.kind:
        raise UnsafeArchiveError(
            f"archive member {name!r} is {_KINDS[kind]}, the signed manifest says "
            f"{_KINDS.get(str(entry.kind), entry.kind)}: refused"
        )
    if kind == "f" and member.size != entry.size:
        raise UnsafeArchiveError(
            f"archive member {name!r} has {member.size} bytes, the signed manifest says "
            f"{entry.size}: refused"
        )
    if kind == "f" and bool(member.mode & stat.S_IXUSR) != entry.executable:
        raise UnsafeArchiveError(
            f"archive member {name!r} differs from the signed manifest in its executable bit: "
            "refused"
        )
    if kind == "l" and member.linkname != entry.target:
        raise UnsafeArchiveError(
            f"archive member {name!r} links to {member.linkname!r}, the signed manifest says "
            f"{entry.target!r}: refused"
        )
    return entry


def entry_allowance(unpacked_size: int, signed_entries: int | None) -> int:
    """How many members an archive may have: the signed count, else a bound from its size."""
    if signed_entries is not None:
        return signed_entries
    return unpacked_size // 512 + 1000


def member_parts(name: str) -> tuple[str, ...]:
    """The plain components of a member name, or UnsafeArchiveError saying what is wrong."""
    if not name or "\x00" in name or "\\" in name:
        raise UnsafeArchiveError(f"archive member {name!r} has an invalid name: refused")
    if name.startswith("/") or os.path.isabs(name):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path: refused")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise UnsafeArchiveError(f"archive member {name[:80]!r}... has an over-long name: refused")
    parts = tuple(name.rstrip("/").split("/"))  # tar writes folders with or without a slash
    for part in parts:
        if part == "..":
            raise UnsafeArchiveError(
                f"archive member {name!r} would be written outside the destination ('..'): refused"
            )
        if part in ("", "."):
            raise UnsafeArchiveError(
                f"archive member {name!r} has a '{part or '//'}' component: refused"
            )
        if len(part.encode("utf-8", "surrogateescape")) > MAX_COMPONENT_BYTES:
            raise UnsafeArchiveError(f"archive member {name!r} has an over-long component: refused")
    return parts


def link_escape(links: dict[tuple[str, ...], str], where: str = "the destination") -> str | None:
    """Why one of `links` (member parts -> target) leads outside the bundle, or None.

    Resolution is physical, as the operating system will do it later: a '..' after a link goes
    to the parent of where the link points, not back to where it stands. Components that are
    not links are taken as folders (a file there simply fails at run time, inside)."""
    for location, target in links.items():
        if target.startswith("/"):
            name = "/".join(location)
            return f"link {name} -> {target!r} has an absolute path (points outside {where})"
        if "\x00" in target or "\\" in target or not target:
            return f"link {'/'.join(location)} -> {target!r} is not a relative link"
        parts = list(location[:-1])  # resolved real folders, relative to the bundle root
        pending = target.split("/")
        hops = 0
        while pending:
            component = pending.pop(0)
            if component in ("", "."):
                continue
            if component == "..":
                if not parts:
                    return f"link {'/'.join(location)} -> {target!r} points outside the destination"
                parts.pop()
                continue
            candidate = (*parts, component)
            if candidate in links:
                hops += 1
                if hops > MAX_LINK_HOPS:
                    return (
                        f"link {'/'.join(location)} -> {target!r} goes through more than "
                        f"{MAX_LINK_HOPS} links"
                    )
                if links[candidate].startswith("/"):
                    return f"link {'/'.join(candidate)} has an absolute path"
                pending = links[candidate].split("/") + pending
                continue
            parts.append(component)
    return None


def _open_parent(root_fd: int, parts: tuple[str, ...], opened: dict[tuple[str, ...], int]) -> int:
    """A descriptor of the real folder holding `parts` (created as needed, never a link)."""
    fd = root_fd
    for depth in range(1, len(parts)):
        key = parts[:depth]
        if key in opened:
            fd = opened[key]
            continue
        with contextlib.suppress(FileExistsError):
            os.mkdir(parts[depth - 1], 0o755, dir_fd=fd)
        try:
            fd = os.open(parts[depth - 1], _DIR_FLAGS, dir_fd=fd)
        except OSError as error:  # a link or a file where a folder must be
            raise UnsafeArchiveError(
                f"archive member {'/'.join(parts)!r} would be written through "
                f"{'/'.join(key)!r}, which is not a folder: refused"
            ) from error
        opened[key] = fd
    return fd


def _write_file(
    tar: tarfile.TarFile, member: tarfile.TarInfo, parent_fd: int, name: str, digest: Any = None
) -> int:
    mode = 0o755 if member.mode & stat.S_IXUSR else 0o644
    try:
        fd = os.open(name, _NEW_FILE_FLAGS, mode, dir_fd=parent_fd)
    except FileExistsError:
        raise UnsafeArchiveError(f"archive member {member.name!r} appears twice: refused") from None
    written = 0
    with os.fdopen(fd, "wb") as sink:
        source = tar.extractfile(member)
        if source is not None:
            while chunk := source.read(min(_CHUNK, member.size - written + 1)):
                written += len(chunk)
                if written > member.size:
                    raise UnsafeArchiveError(f"archive member {member.name!r} exceeds its size")
                sink.write(chunk)
                if digest is not None:
                    digest.update(chunk)
        os.fchmod(sink.fileno(), mode)  # the umask must not change what was signed
        os.utime(sink.fileno(), (member.mtime, member.mtime))
    return written


def extract_tar(
    archive: Path | IO[bytes],
    destination: Path,
    max_unpacked_size: int,
    max_entries: int | None = None,
    manifest: dict[str, str] | None = None,
    expected: Mapping[str, Expected] | None = None,
) -> int:
    """Extract a .tar or .tar.gz file, or an uncompressed tar stream (read once, in order),
    into an empty destination folder; returns bytes written.

    Raises UnsafeArchiveError before writing a member that breaks the rules (module doc), and
    when the archive's links lead outside it after extraction (the caller discards the
    folder); `max_entries` defaults to `entry_allowance(max_unpacked_size, None)`. A given
    `manifest` is filled with what was written (`client.integrity` format), hashed on the way;
    a given `expected` (path -> signed entry) is what the archive must hold exactly."""
    if not hasattr(os, "O_NOFOLLOW") or os.open not in os.supports_dir_fd:
        raise UnsafeArchiveError("this platform cannot extract safely (no O_NOFOLLOW / dir_fd)")
    allowed = entry_allowance(max_unpacked_size, max_entries)
    destination.mkdir(parents=True, exist_ok=True)
    root_fd = os.open(destination, _DIR_FLAGS)
    opened: dict[tuple[str, ...], int] = {}
    links: dict[tuple[str, ...], str] = {}
    written = entries = 0
    seen: set[str] = set()
    if isinstance(archive, (str, Path)):
        source: dict[str, Any] = {"name": archive, "mode": "r:*"}
    else:
        source = {"fileobj": archive, "mode": "r|"}  # a stream: read once, in order
    try:
        with tarfile.open(**source) as tar:
            for member in tar:
                entries += 1
                if entries > allowed:
                    raise UnsafeArchiveError(
                        f"archive has more than {allowed} entries (its signed limit): refused"
                    )
                parts = member_parts(member.name)
                if not (member.isreg() or member.isdir() or member.issym()):
                    kind = "a hardlink" if member.islnk() else "a special file (device or FIFO)"
                    raise UnsafeArchiveError(f"archive member {member.name!r} is {kind}: refused")
                if member.isreg() and written + member.size > max_unpacked_size:
                    raise UnsafeArchiveError(
                        f"archive expands beyond its signed size of {max_unpacked_size} bytes: "
                        "refused"
                    )
                key = "/".join(parts)
                entry = check_member(member, key, expected) if expected is not None else None
                parent = _open_parent(root_fd, parts, opened)
                seen.add(key)
                if member.isdir():
                    _make_folder(parent, parts)
                    if manifest is not None:
                        manifest[key] = "dir"
                elif member.issym():
                    if (*parts,) in links:
                        raise UnsafeArchiveError(f"archive member {member.name!r} appears twice")
                    links[parts] = member.linkname
                    problem = link_escape({parts: member.linkname})  # absolute, '..' above root
                    if problem:
                        raise UnsafeArchiveError(f"{problem}: refused")
                    if manifest is not None:
                        manifest[key] = f"link:{member.linkname}"
                    try:
                        os.symlink(member.linkname, parts[-1], dir_fd=parent)
                    except FileExistsError:
                        raise UnsafeArchiveError(
                            f"archive member {member.name!r} appears twice: refused"
                        ) from None
                else:
                    hashed = manifest is not None or entry is not None
                    digest = hashlib.sha256() if hashed else None
                    written += _write_file(tar, member, parent, parts[-1], digest)
                    if entry is not None and digest.hexdigest() != entry.sha256:  # type: ignore[union-attr]
                        raise UnsafeArchiveError(
                            f"archive member {key!r} does not match its sha256 in the signed "
                            "manifest: refused"
                        )
                    if manifest is not None:
                        manifest[key] = f"file:{digest.hexdigest()}"  # type: ignore[union-attr]
    finally:
        for fd in opened.values():
            os.close(fd)
        os.close(root_fd)
    problem = link_escape(links)
    if problem:
        raise UnsafeArchiveError(f"{problem}: refused")
    if expected is not None and len(seen) != len(expected):
        absent = sorted(set(expected) - seen)
        raise UnsafeArchiveError(
            f"archive lacks {len(absent)} entries of the signed manifest (first: "
            f"{absent[0]!r}): refused"
        )
    return written


def _make_folder(parent_fd: int, parts: tuple[str, ...]) -> None:
    with contextlib.suppress(FileExistsError):
        os.mkdir(parts[-1], 0o755, dir_fd=parent_fd)
    try:
        fd = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent_fd)
    except OSError:
        raise UnsafeArchiveError(
            f"archive member {'/'.join(parts)!r} is a folder where a file or link already is: "
            "refused"
        ) from None
    try:
        os.fchmod(fd, 0o755)  # the umask must not change what was signed
    finally:
        os.close(fd)
