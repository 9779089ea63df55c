"""history.jsonl: one JSON object a line, appended; rewritten only to drop its oldest half once it
passes MAX_BYTES (years of checks), so it cannot grow without bound.

Append-only so a crash can at worst leave one torn last line, which `read` skips. Fields:
time (ISO 8601 UTC), event, from_version, to_version, channel, bytes, duration (seconds),
result ("ok" | "failed" | "cancelled": a download the user cancelled; `verified`/`repaired`
write "intact" | "damaged"), error (message or null), plus event-specific extras.

Never through a link: the file is opened with O_NOFOLLOW | O_APPEND, and a link, a special
file, a file with other hard links or one that other users can write (docs/security.md, local
state) is set aside (`history.jsonl.untrusted-<time>`) and a new history started, so appending
can never write into somebody else's file. Reading skips and counts damaged lines (not UTF-8,
not JSON, too long or too deep, missing fields) instead of failing.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from client.files import (
    MAX_JSON_DEPTH,
    LocalFileError,
    fsync_dir,
    json_too_deep,
    own_regular_file,
    set_aside,
)

MAX_BYTES = 1 << 20  # about 5,000 records
MAX_LINE_BYTES = 64 << 10  # one record is a few hundred bytes
MAX_READ_BYTES = 8 << 20  # `read` looks at no more than the newest 8 MiB
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# field -> the types a record may hold there; a record that breaks this is damaged
_REQUIRED = ("time", "event", "result")  # strings in every record
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "from_version": (str, type(None)),
    "to_version": (str, type(None)),
    "error": (str, type(None)),
}


def append(
    path: Path,
    event: str,
    *,
    from_version: str | None = None,
    to_version: str | None = None,
    channel: str | None = None,
    bytes: int = 0,  # noqa: A002 - the documented field name
    duration: float = 0.0,
    result: str = "ok",
    error: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    record = _record(
        event,
        from_version=from_version,
        to_version=to_version,
        channel=channel,
        bytes=bytes,
        duration=round(duration, 3),
        result=result,
        error=error,
        **extra,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, notes = _open_own(path)
    lines = [json.dumps(note) + "\n" for note in notes] + [json.dumps(record) + "\n"]
    try:
        info = os.fstat(fd)
        if info.st_size and _read_at(fd, 1, info.st_size - 1) != b"\n":
            lines[0] = "\n" + lines[0]  # a torn last line (crash mid-write) stays on its own line
        # O_APPEND: concurrent writers (there should be none, see the lock) never interleave
        os.write(fd, "".join(lines).encode("utf-8"))
        os.fsync(fd)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if notes or not info.st_size:
        fsync_dir(path.parent)  # a new file: its name survives a power cut too
    if size > MAX_BYTES:
        _drop_oldest_half(path)
    return record


def _record(event: str, **fields: Any) -> dict[str, Any]:
    return {"time": datetime.now(UTC).isoformat(timespec="seconds"), "event": event, **fields}


def _open_own(path: Path) -> tuple[int, list[dict[str, Any]]]:
    """A descriptor for appending to our own history file, and the records saying what was set
    aside to get it (a link, another user's file, ...: never written through)."""
    notes: list[dict[str, Any]] = []
    for _ in range(3):
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _NO_FOLLOW | _CLOEXEC, 0o644)
        except OSError:
            if not os.path.islink(path):
                raise
            problem: str | None = "is a symbolic link"
        else:
            problem = own_regular_file(os.fstat(fd))
            if problem is None:
                return fd, notes
            os.close(fd)
        aside = set_aside(path, "untrusted")
        moved = f"moved to {aside}" if aside else "it was gone already"
        message = (
            f"{path} {problem}: not written to; {moved} and a new history started. "
            "Check who can write to the install root"
        )
        _log_warning(message)
        notes.append(_record("history_set_aside", result="repaired", error=message))
    raise OSError(f"{path}: cannot get a history file of our own (it keeps being replaced)")


def _drop_oldest_half(path: Path) -> None:
    """Keep the newest half of MAX_BYTES, starting at a whole line (bytes: any damage stays)."""
    from client.files import atomic_write_bytes

    keep = MAX_BYTES // 2
    fd = os.open(path, os.O_RDONLY | _NO_FOLLOW | _CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        tail = _read_at(fd, keep, max(0, size - keep))
    finally:
        os.close(fd)
    if size > keep:
        tail = tail[tail.find(b"\n") + 1 :] if b"\n" in tail else b""
    atomic_write_bytes(path, tail)


class HistoryRead:
    """What `read_report` found: the records (oldest first) and what had to be skipped."""

    def __init__(self, records: list[dict[str, Any]], skipped: int, problem: str | None) -> None:
        self.records = records
        self.skipped = skipped  # damaged lines left out
        self.problem = problem  # why the file could not be read at all, or None

    def warning(self, path: Path) -> str | None:
        """A sentence for people, or None when everything was read."""
        if self.problem:
            return f"{self.problem}: no history shown"
        if self.skipped:
            return (
                f"{self.skipped} damaged line(s) in {path} skipped (not UTF-8, not JSON or not "
                "a history record); the other records are shown"
            )
        return None


def read_report(path: Path, limit: int | None = None) -> HistoryRead:
    """Records oldest first (the last `limit` if given), with the count of damaged lines."""
    path = Path(path)
    try:
        data = _read_tail(path)
    except FileNotFoundError:
        return HistoryRead([], 0, None)
    except LocalFileError as error:
        return HistoryRead([], 0, str(error))
    except OSError as error:
        return HistoryRead([], 0, f"{path} cannot be read: {error.strerror or error}")
    records, skipped = [], 0
    for line in data.splitlines():
        if not line.strip():
            continue
        record = _parse_line(line)
        if record is None:
            skipped += 1
        else:
            records.append(record)
    return HistoryRead(records[-limit:] if limit else records, skipped, None)


def read(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Records oldest first (the last `limit` if given); damaged lines are skipped (and a
    warning logged saying how many)."""
    report = read_report(path, limit)
    warning = report.warning(Path(path))
    if warning:
        _log_warning(warning)
    return report.records


def _read_tail(path: Path) -> bytes:
    """The newest MAX_READ_BYTES of the file (from a whole line), never through a link."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _NO_FOLLOW | _CLOEXEC)
    except OSError:
        if os.path.islink(path):
            raise LocalFileError(path, "is a symbolic link: not followed") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise LocalFileError(path, "is not a regular file")
        start = max(0, info.st_size - MAX_READ_BYTES)
        data = _read_at(fd, MAX_READ_BYTES, start)
    finally:
        os.close(fd)
    return data[data.find(b"\n") + 1 :] if start else data


def _read_at(fd: int, size: int, offset: int) -> bytes:
    """Up to `size` bytes from `offset` (lseek + read: os.pread is not everywhere)."""
    os.lseek(fd, offset, os.SEEK_SET)
    chunks, got = [], 0
    while got < size and (chunk := os.read(fd, min(1 << 20, size - got))):
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _parse_line(line: bytes) -> dict[str, Any] | None:
    if len(line) > MAX_LINE_BYTES:
        return None
    try:
        text = line.decode("utf-8")
        if json_too_deep(text, MAX_JSON_DEPTH):
            return None
        record = json.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(record, dict):
        return None
    if not all(isinstance(record.get(field), str) for field in _REQUIRED):
        return None
    for field, types in _FIELD_TYPES.items():
        if not isinstance(record.get(field), types):
            return None
    return record


def _log_warning(message: str) -> None:
    import logging  # lazily: only when something is wrong

    logging.getLogger("client.history").warning(message)
