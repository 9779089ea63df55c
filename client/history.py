"""history.jsonl: one JSON object a line, appended; rewritten only to drop its oldest half once it
passes MAX_BYTES (years of checks), so it cannot grow without bound.

Append-only so a crash can at worst leave one torn last line, which `read` skips. Fields:
time (ISO 8601 UTC), event, from_version, to_version, channel, bytes, duration (seconds),
result ("ok" | "failed"; `verified`/`repaired` write "intact" | "damaged"), error (message or
null), plus event-specific extras.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAX_BYTES = 1 << 20  # about 5,000 records


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
    record = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "event": event,
        "from_version": from_version,
        "to_version": to_version,
        "channel": channel,
        "bytes": bytes,
        "duration": round(duration, 3),
        "result": result,
        "error": error,
        **extra,
    }
    line = json.dumps(record, sort_keys=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: concurrent writers (there should be none, see the lock) still never interleave
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size and os.lseek(fd, -1, os.SEEK_END) >= 0 and os.read(fd, 1) != b"\n":
            line = "\n" + line  # a torn last line (crash mid-write) stays on its own line
        os.write(fd, line.encode("utf-8"))
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > MAX_BYTES:
        _drop_oldest_half(path)
    return record


def _drop_oldest_half(path: Path) -> None:
    from client.files import atomic_write_text

    lines = Path(path).read_text(encoding="utf-8").splitlines(keepends=True)
    atomic_write_text(path, "".join(lines[len(lines) // 2 :]))


def read(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Records oldest first (the last `limit` if given); unreadable lines are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records[-limit:] if limit else records
