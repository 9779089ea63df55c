"""The Update History window's rows, from history.jsonl records: pure, in words.

Each row says when, what, from which version to which, whether it worked and why, and whether
its version can be switched back to (kept on this machine and not the current one). Checks
that found nothing are left out: they are most of the file and tell a person nothing.
"""

from __future__ import annotations

from typing import Any

from client.words import error_words

_EVENTS = {
    "checked": "Checked",
    "downloaded": "Downloaded",
    "installed": "Installed",
    "rolled_back": "Rolled back",
    "health_confirmed": "Confirmed working",
    "verified": "Verified",
    "repaired": "Repaired",
    "setup": "Set up",
    "took_over": "Moved over from tufup",
    "startup": "Started",
    "restart": "Restarted",
}
_SWITCHED_TO = {"setup", "installed", "rolled_back", "health_confirmed"}  # rows naming a version
_RESULTS = {"ok": "OK", "failed": "Failed", "intact": "Intact", "damaged": "Damaged"}


class HistoryRow:
    """time, event, change, result, reason, version, can_roll_back (a plain class)."""

    __slots__ = ("time", "event", "change", "result", "reason", "version", "can_roll_back")

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, values[name])

    def __repr__(self) -> str:
        return f"HistoryRow({self.time!r}, {self.event!r}, {self.change!r}, {self.result!r})"


def local_time(iso: str) -> str:
    """'2026-12-02T13:05:00+00:00' -> '2026-12-02 14:05' in local time ('' if unreadable)."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return ""


def _reason(record: dict[str, Any]) -> str:
    if record.get("result") == "failed":
        headline, _ = error_words(str(record.get("kind") or "internal"), "")
        return headline
    if record.get("event") == "rolled_back":
        return str(record.get("reason") or "requested")
    if record.get("event") == "downloaded" and record.get("method"):
        return {"patch": "patch", "full": "full download"}.get(str(record["method"]), "")
    if record.get("event") in ("verified", "repaired"):
        modified, missing = record.get("modified", 0), record.get("missing", 0)
        return f"{modified} modified, {missing} missing" if modified or missing else ""
    return ""


def history_rows(
    records: list[dict[str, Any]], kept: list[str], current: str | None, limit: int = 200
) -> list[HistoryRow]:
    """Newest first, at most `limit`."""
    rows: list[HistoryRow] = []
    for record in reversed(records):
        event = str(record.get("event", ""))
        if event == "checked" and record.get("result") == "ok" and not record.get("to_version"):
            continue
        source, target = record.get("from_version"), record.get("to_version")
        change = f"{source} -> {target}" if source and target else str(target or source or "")
        version = target if event in _SWITCHED_TO and record.get("result") == "ok" else None
        rows.append(
            HistoryRow(
                time=local_time(str(record.get("time", ""))),
                event=_EVENTS.get(event, event.replace("_", " ").capitalize()),
                change=change,
                result=_RESULTS.get(str(record.get("result")), str(record.get("result", ""))),
                reason=_reason(record),
                version=version,
                can_roll_back=bool(version) and version in kept and version != current,
            )
        )
        if len(rows) >= limit:
            break
    return rows
