"""The health rule, as pure decisions on plain data (the I/O is in client.rollback and
client.launcher). Standard library only: this module is on the application's start-up path.

A freshly installed version is *pending* (state.json `pending`) until one of its starts is
good. Rules (docs/decisions.md, "The health rule"):

- a **good start**: the application calls `confirm_healthy()`; or it is still alive
  `healthy_after_seconds` after the start; or, under `update-client launch`, it exits with
  code 0. One good start keeps the version: `pending` is cleared.
- a **failed start**: the process ended before it was good. Under `launch` that is seen at
  once (a non-zero exit or death by a signal); otherwise at the next start, which finds the
  last start still *open* (marked running, never good) and its process gone.
- a start the user ended (a SIGINT/SIGTERM that `launch` forwarded) counts neither way.
- after `failed_starts_before_rollback` consecutive failed starts the next start rolls back
  to the previous version and leaves a rollback notice for the user.

The pending record: {"version", "previous", "starts", "failed", "open"}, where `starts`
counts the starts, `failed` the consecutive failed ones already judged, and `open` is the
start not yet judged ({"pid", "time"}) or null. An older client's record has only
{"version", "previous", "starts"}: its `starts` > 0 is one start that was never confirmed
(the old "trial start"), i.e. one open start.
"""

from __future__ import annotations

from enum import StrEnum

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class StartupDecision(StrEnum):
    """What to do when the application starts (see `decide`)."""

    OK = "ok"  # nothing pending for the version that starts
    CLEAR = "clear"  # pending names a version that is not current, or cannot roll back: forget
    TRIAL = "trial"  # a start of the pending version: count it and watch it
    ROLLBACK = "rollback"  # it failed on enough starts in a row: go back to previous


class StartOutcome(StrEnum):
    """How one watched start ended."""

    GOOD = "good"  # confirmed, alive long enough, or a clean exit under launch
    FAILED = "failed"  # ended before it was good
    STOPPED = "stopped"  # stopped by the user through launch: not counted


def open_start(pending: dict[str, Any]) -> dict[str, Any] | None:
    """The start of `pending` not yet judged ({"pid", "time"}; an older client's trial start
    is {"pid": None, "time": None}), or None."""
    if "open" in pending or "failed" in pending:
        found = pending.get("open")
        return found if isinstance(found, dict) else None
    return {"pid": None, "time": None} if int(pending.get("starts", 0)) > 0 else None


def failed_starts(pending: dict[str, Any], alive: Callable[[int], bool]) -> int:
    """Consecutive failed starts of the pending version, counting an open start whose process
    is gone (`alive(pid)`: whether that process still runs; a dead or unknown one failed)."""
    failed = int(pending.get("failed", 0))
    start = open_start(pending)
    if start is not None:
        pid = start.get("pid")
        if not (isinstance(pid, int) and alive(pid)):
            failed += 1
    return failed


def decide(
    pending: dict[str, Any] | None,
    current: str | None,
    running: str | None,
    limit: int,
    alive: Callable[[int], bool],
) -> StartupDecision:
    """What to do when `running` starts, `current` being where the `current` link points and
    `limit` the setting failed_starts_before_rollback.

    "clear" covers a switch that never happened, a rollback that already happened, and a
    version that failed `limit` times with nothing to go back to. A process of another
    version than the pending one (an old copy still starting) changes nothing."""
    if not pending:
        return StartupDecision.OK
    if pending.get("version") != current:
        return StartupDecision.CLEAR
    if running is not None and running != current:
        return StartupDecision.OK
    if failed_starts(pending, alive) < limit:
        return StartupDecision.TRIAL
    return StartupDecision.ROLLBACK if pending.get("previous") else StartupDecision.CLEAR


def counted(
    pending: dict[str, Any], pid: int, now: float, alive: Callable[[int], bool]
) -> dict[str, Any]:
    """The pending record after a TRIAL start by process `pid` at `now`: the last open start
    judged (failed if its process is gone), this one open."""
    return {
        "version": pending["version"],
        "previous": pending.get("previous"),
        "starts": int(pending.get("starts", 0)) + 1,
        "failed": failed_starts(pending, alive),
        "open": {"pid": pid, "time": now},
    }


def finished(
    pending: dict[str, Any], owners: tuple[int, ...], outcome: StartOutcome
) -> tuple[dict[str, Any] | None, bool]:
    """The pending record after a watched start ended with `outcome`, and whether it changed.

    Only the open start of one of the `owners` (the process ids that made it: `launch` and
    its child) is judged; any other state (already confirmed, a newer start) stays."""
    start = open_start(pending)
    if start is None or start.get("pid") not in owners:
        return pending, False
    if outcome == StartOutcome.GOOD:
        return None, True
    failed = int(pending.get("failed", 0)) + (1 if outcome == StartOutcome.FAILED else 0)
    return {**pending, "failed": failed, "open": None}, True


def exit_outcome(
    code: int, seconds_alive: float, healthy_after: float, stopped_by_user: bool
) -> StartOutcome:
    """How a start watched by `launch` ended: exit `code` (negative: killed by that signal)
    after `seconds_alive`."""
    if code == 0 or seconds_alive >= healthy_after:
        return StartOutcome.GOOD
    return StartOutcome.STOPPED if stopped_by_user else StartOutcome.FAILED


def seconds_text(seconds: float) -> str:
    """30 -> "30 seconds", 1 -> "1 second", 2.5 -> "2.5 seconds"."""
    shown = f"{seconds:g}"
    return f"{shown} second" if shown == "1" else f"{shown} seconds"


def rollback_reason(version: str, failures: int, healthy_after: float) -> str:
    """The plain sentence of a health rollback (history and the rollback notice)."""
    within = f"within {seconds_text(healthy_after)}"
    if failures <= 1:
        return f"version {version} stopped {within} of starting"
    return f"version {version} stopped {within} on {failures} starts in a row"


def rollback_line(app: str, notice: dict[str, Any]) -> str:
    """The one line `launch` prints on stderr after a health rollback: which version failed,
    which one runs now, and why."""
    name = f"{app} " if app else "version "
    return (
        f"{name}{notice['failed_version']} was rolled back to {notice['version']}, which is "
        f"running now: {notice['reason']}."
    )
