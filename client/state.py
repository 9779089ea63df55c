"""state.json's format: what each field may hold, the format's version, and State.

Every field is checked against what it may hold; anything else is damage and never used
(Layout.read_state rebuilds or resets it). The file carries `format` (STATE_FORMAT): the
version of the client format that wrote it, so a newer client can migrate forward and an older
one knows it reads a newer file. Compatibility both ways, since every bundle embeds its own
client and a rollback runs an older one (docs/decisions.md, "On-disk formats"):
- a file without `format` (an older client's) is format 1; reading migrates it forward;
- fields this client does not know (a newer client's) are kept and written back unchanged,
  and the file is written with this client's format, so the newer client, reading it again,
  knows an older one changed it and re-derives its own fields.
Standard library only: this module is on the application's start-up path.
"""

from __future__ import annotations

import json
import math
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

STATE_FORMAT = 2  # 1: no `format` field (clients before on-disk formats were versioned)
MAX_STATE_BYTES = 1 << 20  # state.json is a few hundred bytes
MAX_UNKNOWN_FIELDS = 64  # a newer client's fields kept; more is damage

# -- what each state field may hold (anything else is damage, never used) -------------------

# a canonical PEP 440 version as the client writes it (str(Version(...))), without packaging
_VERSION = re.compile(
    r"^(\d+!)?\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9]+(\.[a-z0-9]+)*)?$"
)
# a name used in file names (app names, cached tars): no separators, no leading dot
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}$")
_METHODS = ("patch", "full", "kept")


def _version(v: Any, empty: bool = False) -> bool:
    return (empty and v in (None, "")) or (
        isinstance(v, str) and len(v) <= 64 and bool(_VERSION.match(v))
    )


def is_file_name(v: Any) -> bool:
    return isinstance(v, str) and bool(_FILE_NAME.match(v)) and ".." not in v


def _number(v: Any, high: float) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= high


def _count(v: Any, high: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= high


def _downloaded(v: dict[str, Any]) -> bool:
    if not _version(v.get("version")) or v.get("method") not in (*_METHODS, None):
        return False  # no method: a full archive (operations.install)
    if v.get("method") == "kept" and v.get("tar") is None:
        return True  # a switch back: nothing was downloaded
    if "ready" in v:  # tree format: the verified folder ready/<version> and its fingerprint
        return (
            v.get("method") in ("patch", "full")
            and is_file_name(v.get("ready"))
            and isinstance(v.get("fingerprint"), str)
            and bool(re.fullmatch(r"[0-9a-f]{64}", v["fingerprint"]))
            and _count(v.get("unpacked_size"), 1 << 62)
        )
    digest = v.get("tar_sha256")
    return (
        is_file_name(v.get("tar"))
        and isinstance(digest, str)
        and bool(re.fullmatch(r"[0-9a-f]{64}", digest))
        and _count(v.get("unpacked_size"), 1 << 62)
    )


def _pending(v: dict[str, Any]) -> bool:
    start = v.get("open")
    return (
        _version(v.get("version"))
        and _version(v.get("previous"), empty=True)
        and _count(v.get("starts", 0), 1 << 30)
        and _count(v.get("failed", 0), 1000)
        and (
            start is None
            or (
                isinstance(start, dict)
                and (start.get("pid") is None or _count(start.get("pid"), 1 << 32))
                and (start.get("time") is None or _number(start.get("time"), 2.0**33))
            )
        )
    )


def _notice(v: dict[str, Any]) -> bool:
    return (
        _version(v.get("failed_version"))
        and _version(v.get("version"))
        and isinstance(v.get("reason"), str)
        and len(v["reason"]) <= 1000
        and _number(v.get("time"), 2.0**33)
    )


def _optional(check: Callable[[dict[str, Any]], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or (isinstance(v, dict) and check(v))


# field: (default, what it may hold, what that is in words)
_FIELDS: dict[str, tuple[Any, Callable[[Any], bool], str]] = {
    "app": ("", is_file_name, "an application name"),
    "previous": (None, lambda v: _version(v, empty=True), "a version or null"),
    # installed, no good start yet (client.health): {"version", "previous", "starts",
    # "failed", "open"}; an older client's record has only the first three
    "pending": (
        None,
        _optional(_pending),
        '{"version", "previous", "starts", "failed", "open"} or null',
    ),
    # the last automatic (health) rollback the user has not acknowledged
    "rollback_notice": (
        None,
        _optional(_notice),
        '{"failed_version", "version", "reason", "time"} or null',
    ),
    # rolled back from: not offered again (a newer release is)
    "skipped": (
        [],
        lambda v: isinstance(v, list) and len(v) <= 1000 and all(map(_version, v)),
        "a list of versions",
    ),
    "pinned": (None, lambda v: v is None or _version(v), "a version or null"),
    "last_check": (None, lambda v: v is None or _number(v, 2.0**33), "epoch seconds or null"),
    "check_jitter_seconds": (0.0, lambda v: _number(v, 86400), "seconds, 0 to 86400"),
    # last update found: UpdateInfo as a dict
    "available": (
        None,
        _optional(
            lambda v: (
                _version(v.get("version"))
                and v.get("method") in _METHODS
                and isinstance(v.get("withdrawn", ""), str)
            )
        ),
        "an update (version, method) or null",
    ),
    # verified download ready to install: {"version", "tar", "tar_sha256", "unpacked_size",
    # "method"} (format 1), or {"version", "ready", "fingerprint", "unpacked_size", "method"}
    # (tree format: the version folder built in ready/<version>)
    "downloaded": (None, _optional(_downloaded), "a verified download or null"),
    # 0-99, drawn once per install root: staged rollouts
    "rollout_bucket": (None, lambda v: v is None or _count(v, 99), "an integer 0-99 or null"),
    # last check that found nothing: {"key": what the answer depended on, "until": expiry}
    "up_to_date": (
        None,
        _optional(
            lambda v: (
                isinstance(v.get("key"), list)
                and _number(v.get("until"), math.inf)
                and isinstance(v.get("withdrawn", ""), str)
            )
        ),
        '{"key", "until"} or null',
    ),
}
_STATE_DEFAULTS: dict[str, Any] = {key: rule[0] for key, rule in _FIELDS.items()}
STATE_FIELDS = tuple(_STATE_DEFAULTS)


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:75] + " ..."


class State:
    """The contents of state.json (a plain class: no dataclasses import at start-up)."""

    app: str
    previous: str | None
    pending: dict[str, Any] | None
    skipped: list[str]
    pinned: str | None
    last_check: float | None
    check_jitter_seconds: float
    available: dict[str, Any] | None
    downloaded: dict[str, Any] | None
    rollout_bucket: int | None
    up_to_date: dict[str, Any] | None
    rollback_notice: dict[str, Any] | None

    def __init__(self, **values: Any) -> None:
        for key, default in _STATE_DEFAULTS.items():
            setattr(self, key, json.loads(json.dumps(values.get(key, default))))
        self.format = STATE_FORMAT  # the format of the file this was read from (1: older)
        self.unknown: dict[str, Any] = {}  # a newer client's fields: kept, written back

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        """The valid fields of `data` (every other one at its default); see `parse`."""
        return cls.parse(data)[0]

    @classmethod
    def parse(cls, data: dict[str, Any]) -> tuple[State, dict[str, str]]:
        """A State from the fields of `data` that hold what they may, and {field: problem} for
        those that do not (left at their default). Keys this client does not know are kept in
        `unknown` (a newer client's; at most MAX_UNKNOWN_FIELDS, else dropped as damage)."""
        values, problems = {}, {}
        for key, (_, allowed, expected) in _FIELDS.items():
            if key not in data:
                continue
            if allowed(data[key]):
                values[key] = data[key]
            else:
                problems[key] = f"{key}: {_show(data[key])} is not {expected}"
        state = cls(**values)
        written = data.get("format", 1)
        if isinstance(written, int) and not isinstance(written, bool) and 1 <= written <= 1000:
            state.format = written
        else:
            problems["format"] = f"format: {_show(written)} is not a format number"
            state.format = 1
        unknown = {k: v for k, v in data.items() if k not in _FIELDS and k != "format"}
        if len(unknown) > MAX_UNKNOWN_FIELDS:
            problems["unknown"] = f"{len(unknown)} unknown fields (at most {MAX_UNKNOWN_FIELDS})"
        else:
            state.unknown = unknown
        return state, problems

    def to_dict(self) -> dict[str, Any]:
        """What state.json holds: a newer client's fields as they were, this client's fields,
        and this client's format (so a newer one knows who wrote it last)."""
        known = {key: getattr(self, key) for key in _STATE_DEFAULTS}
        return {**self.unknown, **known, "format": STATE_FORMAT}

    def __repr__(self) -> str:
        return f"State({self.to_dict()!r})"
