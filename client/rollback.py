"""Switching back and the health rule: rollback, confirm_healthy, the start-up decision.

A rollback is a switch of `current` to a kept version: instant and offline; the version left
is skipped by automatic updates until a newer one is published. The health rule: a freshly
installed version gets one trial start; if it never confirms it is healthy, the next start
switches back to the previous version. Each runs in the shared frame (`Core.operation`).
"""

from __future__ import annotations

import os

from client.errors import ErrorKind, UpdateError
from client.events import EventKind
from client.frame import Core
from client.layout import StartupDecision, startup_decision

# set by `update-client launch` so the launched app does not count its start a second time
STARTUP_DONE_ENV = "UPDATE_CLIENT_STARTUP_DONE"


def rollback(
    core: Core, version: str | None = None, restore_data: bool = False, reason: str = "requested"
) -> str:
    """Switch `current` back to `version` (default: the previous one); returns it."""
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
            "rolled_back", from_version=current, to_version=target, reason=reason, restored=restored
        )
        op.emit(
            EventKind.ROLLED_BACK,
            f"rolled back from {current} to {target}",
            from_version=current,
            version=target,
            reason=reason,
            restored=restored,
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


def confirm_healthy(core: Core) -> bool:
    """The running version works: it stays. True if a pending version was confirmed."""
    with core.operation("health_confirmed", ready=False, installed=False) as op:
        state = op.state
        pending = state.pending
        if not pending or pending.get("version") != core.running_version:
            return False
        state.pending = None
        core.layout.write_state(state)
        op.record(
            "health_confirmed", to_version=pending["version"], from_version=pending.get("previous")
        )
        op.emit(
            EventKind.HEALTH_CONFIRMED,
            f"version {pending['version']} confirmed healthy",
            version=pending["version"],
        )
    return True


def needs_startup_decision(core: Core) -> bool:
    """Cheap test (reads state.json only) whether `apply_startup_decision` has work to do."""
    if core.settings_error is not None:
        return False
    state = core.layout.read_state()
    return startup_decision(state, core.layout.current_version()) != StartupDecision.OK


def apply_startup_decision(core: Core) -> StartupDecision:
    """At application start: count a new version's trial start, or roll back a version that
    had its trial and never confirmed. Returns the decision taken."""
    if os.environ.get(STARTUP_DONE_ENV) == (core.running_version or ""):
        return StartupDecision.OK  # `update-client launch` already decided for this start
    if not core.layout.is_set_up():
        return StartupDecision.OK
    with core.exclusive():
        state = core.layout.read_state()
        decision = startup_decision(state, core.layout.current_version())
        if decision == StartupDecision.TRIAL:
            state.pending = {**(state.pending or {}), "starts": 1}
            core.layout.write_state(state)
        elif decision == StartupDecision.CLEAR or (
            decision == StartupDecision.ROLLBACK and not core.settings.rollback_enabled
        ):
            state.pending = None
            core.layout.write_state(state)
    if decision == StartupDecision.ROLLBACK and core.settings.rollback_enabled:
        pending = state.pending or {}
        rollback(
            core,
            pending.get("previous"),
            reason=f"version {pending.get('version')} was not confirmed healthy",
        )
    return decision
