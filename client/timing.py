"""When an automatic install or restart may happen: the install window and busy/idle, pure.

The `install_window` setting is "HH:MM-HH:MM" in local time (e.g. "02:00-05:00"); it may wrap
midnight ("22:00-06:00"); the start belongs to the window, the end does not; null means any
time. Local time is the machine's wall clock as `datetime.fromtimestamp` gives it: DST-naive
(on the night the clocks change, a window in the skipped or repeated hour opens at whatever
that wall-clock time maps to; nothing is special-cased). Busy/idle is the application's word
(`Updater.set_busy`): automatic installs and restarts wait for idle, and for the window.

Standard library only, and `datetime` loads only when a window is evaluated: this module is
imported by client.settings, on the application's start-up path.
"""

from __future__ import annotations

import re
from enum import StrEnum

from client.words import duration_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
WINDOW_EXAMPLE = '"02:00-05:00"'


class Reason(StrEnum):
    """Why an automatic install waits (the values of `InstallTiming.reason`)."""

    NONE = ""
    BUSY = "busy"
    WINDOW = "window"


class InstallTiming:
    """Whether an automatic install (or restart) may happen now, and if not why and when.

    `allowed`; `reason`: "" | "busy" | "window"; `next_time`: epoch seconds the window opens
    (when waiting for it), else None; `message`: "" when allowed, else one plain sentence."""

    __slots__ = ("allowed", "reason", "next_time", "message")

    def __init__(self, allowed: bool, reason: str, next_time: float | None, message: str) -> None:
        self.allowed = allowed
        self.reason = reason
        self.next_time = next_time
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InstallTiming) and other.to_dict() == self.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"InstallTiming({self.to_dict()!r})"


def parse_window(text: str) -> tuple[int, int]:
    """ "02:00-05:00" -> (120, 300): minutes after local midnight of start and end. Raises
    ValueError with a message saying what is allowed."""
    match = _WINDOW.match(text) if isinstance(text, str) else None
    shown = repr(text) if len(repr(text)) <= 40 else repr(text)[:35] + " ..."
    if match is None:
        raise ValueError(
            f'{shown} is not a time window; expected "HH:MM-HH:MM" in local 24-hour time, '
            f"e.g. {WINDOW_EXAMPLE} (it may wrap midnight), or null for any time"
        )
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ValueError(f"{shown} starts and ends at the same time; use null for any time of day")
    return start, end


def window_problem(value: Any) -> str | None:
    """What is wrong with an `install_window` value (None: it is valid)."""
    if value is None:
        return None
    try:
        parse_window(value)
    except ValueError as error:
        return str(error)
    return None


def inside(window: tuple[int, int], minute: int) -> bool:
    """Whether `minute` (after local midnight) lies in the window (start in, end out)."""
    start, end = window
    return start <= minute < end if start < end else minute >= start or minute < end


def next_opening(window: tuple[int, int], now: float) -> float:
    """Epoch seconds of the next time the window opens after `now` (local wall clock)."""
    from datetime import datetime, timedelta

    local = datetime.fromtimestamp(now)
    opening = local.replace(hour=window[0] // 60, minute=window[0] % 60, second=0, microsecond=0)
    if opening <= local:
        opening += timedelta(days=1)
    return opening.timestamp()


def install_timing(busy: bool, window_text: str | None, now: float) -> InstallTiming:
    """Whether an automatic install may happen at `now` given busy/idle and the window."""
    if window_text is not None:
        from datetime import datetime

        window = parse_window(window_text)
        local = datetime.fromtimestamp(now)
        if not inside(window, local.hour * 60 + local.minute):
            opens = next_opening(window, now)
            start, end = window_text.split("-")
            idle = ", when the application is idle" if busy else ""
            message = (
                f"The update will be installed between {start} and {end} "
                f"(in {duration_text(opens - now)}){idle}."
            )
            return InstallTiming(False, Reason.WINDOW, opens, message)
    if busy:
        message = "The update will be installed when the application is idle."
        return InstallTiming(False, Reason.BUSY, None, message)
    return InstallTiming(True, Reason.NONE, None, "")
