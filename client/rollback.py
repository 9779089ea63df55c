"""Switching back and the health rule's I/O: rollback, good and failed starts, the notice, skip.

A rollback is a switch of `current` to a kept version: instant and offline; the version left
is skipped by automatic updates until a newer one is published. The health rule itself
(client.health, pure): a freshly installed version stays once one start is good (confirmed,
alive `healthy_after_seconds`, or a clean exit under `launch`); after
`failed_starts_before_rollback` failed starts in a row, the next start switches back and
leaves a rollback notice (state.json `rollback_notice`) until the user acknowledges it.
Each step runs in the shared frame (`Core.operation`) or under its lock.
"""

from __future__ import annotations

import os
import time

from client.errors import ErrorKind, UpdateError
from client.events import EventKind
from client.frame import Core
from client.health import (
    StartOutcome,
    StartupDecision,
    counted,
    exit_outcome,
    failed_starts,
    finished,
    open_start,
    rollback_reason,
    seconds_text,
)
from client.layout import startup_decision

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# set by `update-client launch` so the launched app does not count its start a second time
STARTUP_DONE_ENV = "UPDATE_CLIENT_STARTUP_DONE"


def rollback(
    core: Core,
    version: str | None = None,
    restore_data: bool = False,
    reason: str = "requested",
    automatic: bool = False,
) -> str:
    """Switch `current` back to `version` (default: the previous one); returns it.
    `automatic`: the health rule's rollback, which leaves a rollback notice for the user."""
    from packaging.version import InvalidVersion, Version

    from client.install import restore_user_data, switch_current

    if not core.settings.rollback_enabled:
        error = UpdateError(
            ErrorKind.DISABLED, "rollback is disabled in the settings (rollback_enabled = false)"
        )
        raise core.fail(error, "rolled_back", to_version=version) from error
    with core.operation("rolled_back", ready=False, to_version=version) as op:
        state = op.state
        current = core.layout.current_version() or ""
        kept = core.layout.kept_versions()
        target = version or state.previous
        if not target:
            raise UpdateError(ErrorKind.ROLLBACK, "no previous version to roll back to")
        try:
            target = str(Version(target))
        except InvalidVersion:
            raise UpdateError(
                ErrorKind.ROLLBACK, f"{target!r} is not a version; kept versions: {', '.join(kept)}"
            ) from None
        if target == current:
            raise UpdateError(ErrorKind.ROLLBACK, f"{target} is already the current version")
        if target not in kept:
            raise UpdateError(
                ErrorKind.ROLLBACK,
                f"version {target} is not kept on this machine; kept versions: {', '.join(kept)}",
            )
        _check_kept(core, target, op.warnings)
        if Version(current) > Version(target) and current not in state.skipped:
            state.skipped.append(current)
        state.skipped = [v for v in state.skipped if v != target]
        state.previous = current
        state.pending = None
        if automatic:
            state.rollback_notice = {
                "failed_version": current,
                "version": target,
                "reason": reason,
                "time": time.time(),
            }
        if state.downloaded and state.downloaded.get("version") in state.skipped:
            state.downloaded = None
        core.layout.write_state(state)
        switch_current(core.layout, target)
        # the point of no return: a failed restore is a warning of a done rollback
        restored = (
            op.after_commit("restoring user data", lambda: restore_user_data(core.layout, target))
            if restore_data
            else None
        ) or []
        op.record(
            "rolled_back",
            from_version=current,
            to_version=target,
            reason=reason,
            restored=restored,
            automatic=automatic,
        )
        op.emit(
            EventKind.ROLLED_BACK,
            f"rolled back from {current} to {target}",
            from_version=current,
            version=target,
            reason=reason,
            restored=restored,
            automatic=automatic,
            restart_required=core.running_version != target,
        )
    return target


def _check_kept(core: Core, version: str, warnings: list[str]) -> None:
    """A kept version is what was installed, before anything is switched to it: its files are
    compared with the record written at install; a version without a record (installed by an
    older client) is switched to with a warning saying it could not be checked."""
    from client.install import read_manifest
    from client.integrity import compare_manifest

    manifest = read_manifest(core.layout, version)
    if manifest is None:
        warnings.append(
            f"{version} could not be checked before switching to it: no record of its files"
        )
        return
    found = compare_manifest(manifest, core.layout.version_dir(version))
    if not found.intact:
        changed = ", ".join((found.modified + found.missing)[:5])
        counts = f"{len(found.modified)} modified, {len(found.missing)} missing"
        raise UpdateError(
            ErrorKind.VERIFICATION,
            f"the kept version {version} changed on disk since it was installed "
            f"({counts}: {changed}): "
            f"not switched to it; get it again, verified, with `update-client pin {version}` and "
            "`update-client update`",
        )


_HOW = {
    "confirmed": "confirmed by the application",
    "alive": "still running {seconds} after it started",
    "exited": "exited cleanly (code 0)",
}


def _how_text(core: Core, how: str) -> str:
    seconds = seconds_text(core.settings.healthy_after_seconds)
    return _HOW.get(how, how).format(seconds=seconds)


def confirm_healthy(core: Core, how: str = "confirmed") -> bool:
    """The running version works (a good start): it stays. True if a pending version was
    confirmed. `how`: "confirmed" (the application said so), "alive" (it ran
    healthy_after_seconds) or "exited" (a clean exit under launch)."""
    with core.operation("health_confirmed", ready=False, installed=False) as op:
        state = op.state
        pending = state.pending
        if not pending or pending.get("version") != core.running_version:
            return False
        state.pending = None
        core.layout.write_state(state)
        _confirmed(core, op, pending, how)
    return True


def _confirmed(core: Core, op: Any, pending: dict[str, Any], how: str) -> None:
    words = _how_text(core, how)
    op.record(
        "health_confirmed",
        to_version=pending["version"],
        from_version=pending.get("previous"),
        how=how,
        reason=words,
    )
    op.emit(
        EventKind.HEALTH_CONFIRMED,
        f"version {pending['version']} is healthy: {words}",
        version=pending["version"],
        how=how,
    )


def finish_start(
    core: Core, owners: tuple[int, ...], exit_code: int | None, stopped_by_user: bool = False
) -> bool:
    """Judge the open start made by one of `owners` (process ids: `launch` and its child).
    `exit_code` None: the process still runs, and the start is good once it has lived
    `healthy_after_seconds`; else it ended with that code (negative: killed by that signal),
    judged by `client.health.exit_outcome`. True if the state changed."""
    healthy = core.settings.healthy_after_seconds
    with core.operation("start_watched", ready=False, installed=False) as op:
        state = op.state
        pending = state.pending
        start = open_start(pending) if pending else None
        if not pending or start is None or start.get("pid") not in owners:
            return False
        lived = time.time() - float(start.get("time") or time.time())
        if exit_code is None:
            if lived < healthy:
                return False
            outcome, how = StartOutcome.GOOD, "alive"
        else:
            outcome = exit_outcome(exit_code, lived, healthy, stopped_by_user)
            how = "exited" if exit_code == 0 else "alive"
        state.pending, _ = finished(pending, owners, outcome)
        core.layout.write_state(state)
        if outcome == StartOutcome.GOOD:
            _confirmed(core, op, pending, how)
        elif outcome == StartOutcome.FAILED:
            _failed_start(op, pending["version"], state.pending, _ended(exit_code or 0, lived))
    return True


def _ended(code: int, lived: float) -> str:
    after = f"after {seconds_text(round(lived, 1))}"
    if code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name} {after}"
    return f"exited with code {code} {after}"


def _failed_start(op: Any, version: str, pending: dict[str, Any] | None, detail: str) -> None:
    failed = (pending or {}).get("failed", 0)
    op.record(
        "start_failed",
        to_version=version,
        result="failed",
        error=f"version {version} {detail or 'stopped before it was healthy'}",
        failed_starts=failed,
    )


def _alive(pid: int) -> bool:
    """Whether process `pid` still runs (the process of an open start). This process itself
    is not: it starts again (an exec restart keeps the pid). Where there is no safe probe
    (Windows: os.kill would terminate), every such process counts as gone."""
    if pid == os.getpid() or os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # someone else's process holds that pid now: it runs
    except OSError:
        return False
    return True


def needs_startup_decision(core: Core) -> bool:
    """Cheap test (reads state.json only) whether `apply_startup_decision` has work to do."""
    if core.settings_error is not None:
        return False
    state = core.layout.read_state()
    decision = startup_decision(
        state,
        core.layout.current_version(),
        core.running_version,
        core.settings.failed_starts_before_rollback,
        _alive,
    )
    return decision != StartupDecision.OK


def apply_startup_decision(core: Core, pid: int | None = None) -> StartupDecision:
    """At application start: count a start of a freshly installed version (process `pid`,
    default this one, watches it), or roll back a version that failed on
    `failed_starts_before_rollback` starts in a row. Returns the decision taken."""
    if os.environ.get(STARTUP_DONE_ENV) == (core.running_version or ""):
        return StartupDecision.OK  # `update-client launch` already decided for this start
    if not core.layout.is_set_up():
        return StartupDecision.OK
    limit = core.settings.failed_starts_before_rollback
    with core.exclusive():
        state = core.layout.read_state()
        current = core.layout.current_version()
        decision = startup_decision(state, current, core.running_version, limit, _alive)
        pending = state.pending or {}
        failures = failed_starts(pending, _alive) if pending else 0
        if decision == StartupDecision.TRIAL:
            state.pending = counted(pending, pid or os.getpid(), time.time(), _alive)
            core.layout.write_state(state)
        elif decision == StartupDecision.CLEAR or (
            decision == StartupDecision.ROLLBACK and not core.settings.rollback_enabled
        ):
            state.pending = None
            core.layout.write_state(state)
    if pending and failures > int(pending.get("failed", 0)):  # an open start that died
        core.record(
            "start_failed",
            to_version=pending.get("version"),
            result="failed",
            error=f"version {pending.get('version')} stopped before it was healthy "
            "(found at the next start)",
            failed_starts=failures,
        )
    if decision == StartupDecision.ROLLBACK and core.settings.rollback_enabled:
        _health_rollback(core, pending, failures)
    return decision


def _health_rollback(core: Core, pending: dict[str, Any], failures: int) -> None:
    reason = rollback_reason(
        str(pending.get("version")), failures, core.settings.healthy_after_seconds
    )
    rollback(core, pending.get("previous"), reason=reason, automatic=True)


def rollback_if_failed(core: Core) -> bool:
    """Right after a start was judged failed (by `launch`): roll back now if the version has
    failed `failed_starts_before_rollback` starts in a row. True if it rolled back."""
    if not core.settings.rollback_enabled:
        return False
    state = core.layout.read_state()
    pending = state.pending
    if not pending or open_start(pending) is not None:
        return False  # nothing pending, or a start still open (judged at the next start)
    limit = core.settings.failed_starts_before_rollback
    current = core.layout.current_version()
    if startup_decision(state, current, None, limit, _alive) != StartupDecision.ROLLBACK:
        return False
    _health_rollback(core, pending, failed_starts(pending, _alive))
    return True


def rollback_notice(core: Core) -> dict[str, Any] | None:
    """The last automatic rollback not yet acknowledged: {"failed_version", "version",
    "reason", "time"}, or None."""
    notice = core.layout.read_state().rollback_notice
    return dict(notice) if notice else None


def acknowledge_rollback_notice(core: Core) -> None:
    """The user has seen the rollback notice: forget it."""
    with core.exclusive():
        state = core.layout.read_state()
        if state.rollback_notice is not None:
            state.rollback_notice = None
            core.layout.write_state(state)


def skip_version(core: Core, version: str) -> str:
    """The user's "Skip This Version": `version` is not offered again, by automatic or manual
    checks (a newer release is; `pin` overrides). A download of it is dropped. Returns the
    version as written (canonical)."""
    from client.formats import user_version

    version = user_version(version, "skip")
    with core.operation("version_skipped", ready=False, to_version=version) as op:
        state = op.state
        if version == core.layout.current_version():
            raise UpdateError(
                ErrorKind.INVALID_INPUT,
                f"cannot skip {version}: it is the current version (roll back instead)",
            )
        if version not in state.skipped:
            state.skipped.append(version)
        if (state.available or {}).get("version") == version:
            state.available = None
        if (state.downloaded or {}).get("version") == version:
            state.downloaded = None
        core.layout.write_state(state)
        op.record("version_skipped", to_version=version, reason="skipped by the user")
    return version
