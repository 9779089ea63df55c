"""The update operations: check, download, install (and update, the three in a row).

Each runs in the shared frame (`Core.operation`: lock, state, history, events) and returns a
result value (`CheckResult`, `DownloadResult`, `InstallResult`) that says what happened, so a
command line or a GUI formats results instead of listening for events or reading state.json.
Decisions come from `client.planning` (pure); the network from `client.tuf_session`. A
download can be cancelled from another thread (`Emitter.cancel`): it stops at its next
progress step and the next download resumes it.

Trust: every listing comes from fully verified targets metadata, every downloaded byte is
checked against signed length and hashes, and a patched tar against the signed tar_sha256
before it is installed.
"""

from __future__ import annotations

import time

from client.errors import ErrorKind, UpdateError
from client.events import (
    CheckResult,
    DownloadResult,
    EventKind,
    InstallResult,
    Method,
    UpdateInfo,
)
from client.frame import Core
from client.layout import State
from client.planning import Plan, no_update_message, plan_update, up_to_date_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from client.tuf_session import Session


def _random_uniform(low: float, high: float) -> float:
    import random

    return random.uniform(low, high)


# -- planning on a session ---------------------------------------------------------------------


def _plan(core: Core, session: Session, state: State) -> Plan:
    """The plan from fully verified targets metadata and this install root's facts."""
    from client.selection import catalog, unreadable_message

    current = core.layout.current_version() or ""
    if state.rollout_bucket is None:  # drawn once, saved with the state by the caller
        state.rollout_bucket = int(_random_uniform(0, 100)) % 100
    cat = catalog(state.app, session.targets())
    unreadable = unreadable_message(state.app, cat)
    if unreadable is not None:
        raise UpdateError(ErrorKind.FOREIGN_REPOSITORY, unreadable)
    return plan_update(
        cat,
        current=current,
        channel=core.settings.update_channel,
        skipped=state.skipped,
        pinned=state.pinned,
        rollout_bucket=state.rollout_bucket,
        kept_versions=core.layout.kept_versions(),
        rollback_enabled=core.settings.rollback_enabled,
        base_cached=core.layout.base_tar(state.app, current).is_file(),
        tree_base=_tree_base(core, current),
    )


def _tree_base(core: Core, current: str) -> bool:
    """Can the installed version serve as the base of a delta (its folder and the integrity
    manifest written when it was installed are there)?"""
    from client.install import manifest_file

    return bool(current) and (
        core.layout.version_dir(current).is_dir() and manifest_file(core.layout, current).is_file()
    )


def _key(core: Core, session: Session, state: State) -> list[object]:
    return up_to_date_key(
        session.snapshot_version(),
        core.layout.current_version(),
        core.settings.update_channel,
        state.skipped,
        state.pinned,
        state.rollout_bucket,
    )


def _check_on(core: Core, session: Session, state: State) -> Plan:
    """Plan from fully verified metadata, unless nothing it depends on has changed.

    When the verified timestamp names the snapshot version of the last check that found
    nothing, nothing local that the choice depends on changed (current version, channel,
    skipped, pin, rollout bucket), and the snapshot and targets verified then are still
    unexpired, the answer is the same: the local snapshot and targets need not be loaded and
    verified again. Root and timestamp are always refreshed and verified, so rollback, freeze
    and fast-forward defences are untouched; it keeps an up-to-date check cheap however many
    releases targets lists.
    """
    memo = state.up_to_date
    if (
        memo
        and memo.get("key") == _key(core, session, state)
        and time.time() < memo.get("until", 0)
    ):
        return Plan(None, [], None, memo.get("withdrawn") or "")
    session.finish_refresh()
    plan = _plan(core, session, state)
    if plan.info is None:
        state.up_to_date = {
            "key": _key(core, session, state),
            "until": session.listing_expires(),
            # withdrawn, with no good release to move to: said at every check
            "withdrawn": plan.withdrawn,
        }
    else:
        state.up_to_date = None
    return plan


def _remembered(info: UpdateInfo | None) -> dict[str, Any] | None:
    """The update as state.json keeps it: without the accumulated release notes, whose size
    the publisher decides (state.json stays small; the next check brings them again)."""
    if info is None:
        return None
    return {k: v for k, v in info.to_dict().items() if k != "release_notes"}


# -- the operations ----------------------------------------------------------------------------


def check(core: Core) -> CheckResult:
    """Refresh verified metadata and say whether there is an update to install."""
    with core.operation("checked") as op:
        state = op.state
        try:
            online = core.online(lambda s, _: _check_on(core, s, state), full_refresh=False)
            plan: Plan = online.result
            state.available = _remembered(plan.info)
        finally:
            state.last_check = time.time()
            state.check_jitter_seconds = _random_uniform(
                0, min(1800.0, core.settings.check_interval_hours * 360)
            )
            # bookkeeping only: a power cut that loses it costs one more check
            core.layout.write_state(state, durable=False)
        current = core.layout.current_version()
        info = plan.info
        op.record(
            "checked",
            from_version=current,
            to_version=info.version if info else None,
            bytes=online.bytes,
            requests=online.requests,
            server=online.mirror,
        )
        op.emit(
            EventKind.CHECKED, "update check done", requests=online.requests, bytes=online.bytes
        )
        if info is None:
            message = no_update_message(state.app, current, plan.withdrawn)
            op.emit(EventKind.NO_UPDATE, message, withdrawn=plan.withdrawn)
        else:
            message = f"{state.app} {info.version} is available"
            op.emit(EventKind.UPDATE_AVAILABLE, message, **info.to_dict())
    return CheckResult(
        update=info,
        current_version=current,
        message=message,
        withdrawn=plan.withdrawn,
        requests=online.requests,
        bytes=online.bytes,
    )


def download(core: Core) -> DownloadResult:
    """Check, then download and verify the chosen update (ready for `install`).

    `core.events.cancel()` (`Updater.cancel()`) stops it at its next progress step with
    UpdateError(CANCELLED); the partial file stays for the next download to resume, and
    history records the attempt as "cancelled"."""
    with core.events.cancellable():
        return _download(core)


def _download(core: Core) -> DownloadResult:
    from client.assemble import build_tar

    with core.operation("downloaded") as op:
        state = op.state

        def fetch(session: Session, transport: object) -> tuple[Plan, Any, Any, str | None]:
            plan = _plan(core, session, state)
            if plan.info is None or plan.method == Method.KEPT:
                # nothing to fetch (a kept version is switched back to by install)
                return plan, None, plan.method, None
            if plan.tree is not None:  # format 2: the version folder, built and verified
                from client.tree_install import download_tree

                record, method, reason = download_tree(
                    core.layout, session, transport, state.app, plan.release, plan.tree.delta,
                    core.events.progress(),
                )  # fmt: skip
                return plan, record, Method(method), reason
            tar, method, reason = build_tar(
                core.layout, session, transport, state.app, (plan.release, plan.chain),
                core.events.progress(),
            )  # fmt: skip
            return plan, tar, Method(method), reason

        online = core.online(fetch)
        plan, tar, method, reason = online.result
        info = plan.info
        current = core.layout.current_version()
        if info is None:
            state.available = None
            core.layout.write_state(state)
            message = no_update_message(state.app, current, plan.withdrawn)
            op.emit(EventKind.NO_UPDATE, message, withdrawn=plan.withdrawn)
            return DownloadResult(
                update=None, current_version=current, message=message, withdrawn=plan.withdrawn,
                method=None, bytes=online.bytes, patch_fallback=None,
            )  # fmt: skip
        archive_info = plan.release.info
        state.available = _remembered(info)
        if isinstance(tar, dict):  # format 2: ready/<version>, its fingerprint
            state.downloaded = {**tar, "method": method}
        else:
            state.downloaded = {
                "version": info.version,
                "tar": tar.name if tar is not None else None,
                "tar_sha256": archive_info.tar_sha256,
                "unpacked_size": archive_info.unpacked_size,
                "method": method,
            }
        core.layout.write_state(state)
        if method == Method.KEPT:  # nothing was downloaded: install() switches back to it
            message = (
                f"{info.from_version} was withdrawn: {info.version} is ready to switch back to"
            )
            op.emit(EventKind.DOWNLOADED, message, **info.to_dict())
        else:
            message = f"{state.app} {info.version} downloaded and verified"
            op.record(
                "downloaded",
                from_version=info.from_version,
                to_version=info.version,
                bytes=online.bytes,
                method=method,
                patch_fallback=reason,
                server=online.mirror,
            )
            op.emit(
                EventKind.DOWNLOADED,
                message,
                **{
                    **info.to_dict(),
                    "method": method,
                    "bytes": online.bytes,
                    "patch_fallback": reason,
                },
            )
    return DownloadResult(
        update=info, current_version=current, message=message, withdrawn=plan.withdrawn,
        method=method, bytes=online.bytes, patch_fallback=reason,
    )  # fmt: skip


def install(core: Core, switch_back: object) -> InstallResult:
    """Install the downloaded update. The running version keeps running until a restart.

    `switch_back(version, reason)` is the rollback operation, used when the update is a
    kept version (the running one was withdrawn)."""
    from client.files import file_digest
    from client.install import (
        backup_user_data,
        clean_staging,
        place_version,
        prune_cache,
        prune_versions,
        switch_current,
    )

    with core.operation("installed") as op:
        state = op.state
        ready = state.downloaded
        current = core.layout.current_version() or ""
        if not ready:
            return _nothing_to_install(current)
        version = ready["version"]
        if ready.get("method") == Method.KEPT:
            withdrawn = (state.available or {}).get("withdrawn") or ""
            state.downloaded = state.available = None
            core.layout.write_state(state)
            switched = switch_back(version, f"{current} was withdrawn")  # type: ignore[operator]
            return InstallResult(
                version=switched, from_version=current, method=Method.KEPT,
                message=f"switched back to {switched}", removed_versions=[],
                restart_required=core.running_version != switched, withdrawn=withdrawn,
                warnings=[],
            )  # fmt: skip
        tree = "ready" in ready  # format 2: a verified version folder waiting in ready/
        if tree:
            from client.tree_install import check_ready, install_ready

            try:
                check_ready(core.layout, ready, state.app)
            except UpdateError:
                state.downloaded = None
                core.layout.write_state(state)
                raise
        else:
            tar = core.layout.targets_dir / ready["tar"]
            if file_digest(tar)[1] != ready["tar_sha256"]:
                state.downloaded = None
                core.layout.write_state(state)
                raise UpdateError(
                    ErrorKind.VERIFICATION,
                    f"the downloaded {tar.name} changed on disk since it was verified: "
                    "download again",
                )
        if core.settings.backup_before_update and core.settings.backup_paths:
            backup_user_data(core.layout, current, core.settings.backup_paths)
        try:
            if tree:
                install_ready(core.layout, ready, core.running_version)
            else:
                place_version(
                    core.layout, tar, version, ready["unpacked_size"], state.app,
                    core.running_version,
                )  # fmt: skip
        finally:
            clean_staging(core.layout)
        # intent first, then the switch: a crash in between is resolved at next start
        state.pending = {"version": version, "previous": current, "starts": 0}
        state.previous = current
        state.downloaded = None
        state.available = None
        core.layout.write_state(state)
        switch_current(core.layout, version)
        # the point of no return: from here on, failures are warnings of a done install
        removed = op.after_commit(
            "removing old versions",
            lambda: prune_versions(core.layout, core.settings.max_backups, version, {current}),
        )
        op.after_commit(
            "cleaning the download cache",
            # a tree version needs no tar; a format-1 one keeps its patch base (and current's)
            lambda: prune_cache(core.layout, state.app, set() if tree else {version, current}),
        )
        removed = removed or []
        warnings = op.warnings
        message = f"{state.app} {version} installed: restart to use it"
        op.record("installed", from_version=current, to_version=version, removed_versions=removed)
        op.emit(
            EventKind.INSTALLED,
            message,
            from_version=current,
            version=version,
            restart_required=True,
        )
    return InstallResult(
        version=version, from_version=current, method=Method(ready.get("method") or "full"),
        message=message, removed_versions=removed, restart_required=True, withdrawn="",
        warnings=warnings,
    )  # fmt: skip


def _nothing_to_install(current: str) -> InstallResult:
    return InstallResult(
        version=None, from_version=current, method=None,
        message="nothing downloaded to install: run `download`", removed_versions=[],
        restart_required=False, withdrawn="", warnings=[],
    )  # fmt: skip


def update(core: Core, switch_back: object) -> InstallResult:
    """check + download + install; `version` None (with the reason) when up to date."""
    downloaded = download(core)
    if downloaded.update is None:
        return InstallResult(
            version=None, from_version=downloaded.current_version, method=None,
            message=downloaded.message, removed_versions=[], restart_required=False,
            withdrawn=downloaded.withdrawn, warnings=[],
        )  # fmt: skip
    return install(core, switch_back)
