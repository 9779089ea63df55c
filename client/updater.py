"""The update workflow: check -> download -> install, rollback, health, background thread.

Only the standard library and the client's own light modules are imported at module level:
`Updater.from_config(...).start()` must cost an application next to nothing at start-up.
tuf, requests, filelock and the patch codec are imported inside the methods that use them,
which run in the background thread or in the CLI.

Trust: all metadata is verified by python-tuf's ngclient against cache/metadata (which only
ever holds what verified); every downloaded byte is checked against signed length and hashes;
a patched tar is checked against the signed tar_sha256 before it is installed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from client import settings as settings_mod
from client.errors import BusyError, UpdateError, describe
from client.layout import ROOT_FILE, Layout, State, startup_decision
from client.settings import Settings, SettingsError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _log() -> Any:
    import logging  # lazily: ~10 ms the application should not pay at start-up

    return logging.getLogger(__name__)


def _history() -> Any:
    from client import history

    return history


EVENT_KINDS = (
    "checked",
    "update_available",
    "no_update",
    "download_progress",
    "downloaded",
    "installed",
    "rolled_back",
    "health_confirmed",
    "error",
)
# set by `update-client launch` so the launched app does not count its start a second time
STARTUP_DONE_ENV = "UPDATE_CLIENT_STARTUP_DONE"


class Event:
    """What happened: `kind` (one of EVENT_KINDS), a message for people, details in `data`."""

    __slots__ = ("kind", "message", "data", "notify")

    def __init__(
        self, kind: str, message: str, data: dict[str, Any] | None = None, notify: bool = True
    ) -> None:
        self.kind = kind
        self.message = message
        self.data = data or {}
        self.notify = notify  # the `notifications` setting: whether the app should show it

    def __repr__(self) -> str:
        return f"Event({self.kind!r}, {self.message!r}, {self.data!r})"


class UpdateInfo:
    """An update this client can install, and how it would be downloaded."""

    FIELDS = (
        "from_version",
        "version",
        "channel",
        "notes",
        "required",
        "published",
        "method",  # "patch", "full", or "kept" (already on disk: switched back to, no download)
        "download_bytes",  # bytes this client would download (patch chain or archive)
        "full_bytes",
        "withdrawn",  # why the publisher withdrew the running version ("" if it did not)
    )

    def __init__(self, **values: Any) -> None:
        for name in self.FIELDS:
            setattr(self, name, values[name])

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def __repr__(self) -> str:
        return f"UpdateInfo({self.to_dict()!r})"


def next_check_time(
    last_check: float | None, interval_hours: float, jitter: float, now: float
) -> float:
    """When the next background check is due (pure): remembered across restarts."""
    if last_check is None or last_check > now:  # never checked, or the clock went back
        return now
    return last_check + interval_hours * 3600 + jitter


def _guess_install_root() -> Path:
    """The install root of the running app: <root>/versions/<v>/... or the working folder."""
    try:
        here = Path(sys.argv[0]).resolve()
    except (IndexError, OSError):
        return Path.cwd()
    for parent in here.parents:
        if parent.parent.name == "versions":
            return parent.parent.parent
    return Path.cwd()


class Updater:
    """Embeds the update client in an application. See docs/client.md."""

    def __init__(
        self,
        install_root: Path,
        settings: Settings | None = None,
        config_path: Path | None = None,
        settings_error: SettingsError | None = None,
    ) -> None:
        self.layout = Layout(install_root)
        self.config_path = Path(config_path) if config_path else self.layout.config_file
        self.settings = settings or Settings()
        self.settings_error = settings_error
        self.lock_timeout = 5.0  # seconds a second process waits before reporting busy
        self._callbacks: list[Callable[[Event], None]] = []
        self._guard = threading.RLock()  # one operation at a time inside this process
        self._filelock: Any = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._force = False
        # seconds between start() and the first background work: the app finishes starting first
        self.startup_delay = 2.0 + (os.getpid() % 300) / 100  # spread without importing random
        self._last_metadata: dict[str, bytes] = {}
        self._mirror_used: str | None = None
        self.running_version = self._detect_running_version()

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str] | None = None,
        install_root: str | os.PathLike[str] | None = None,
    ) -> Updater:
        """Settings from `path` (default: <install root>/updater_config.json). Never raises for
        a bad file: updates are then disabled and `start()` reports an `error` event."""
        root = Path(install_root) if install_root else None
        config = Path(path) if path else None
        if config is None:
            root = root or _guess_install_root()
            config = root / settings_mod.CONFIG_FILE_NAME
        error: SettingsError | None = None
        try:
            settings = settings_mod.load(config)
        except SettingsError as problem:
            settings, error = Settings(), problem
        if root is None:
            root = Path(settings.install_root) if settings.install_root else config.parent
        return cls(root, settings, config, error)

    def _detect_running_version(self) -> str | None:
        try:
            here = Path(sys.argv[0]).resolve()
            versions = self.layout.versions.resolve()
            if here.is_relative_to(versions):
                return here.relative_to(versions).parts[0]
        except (IndexError, OSError, ValueError):
            pass
        return self.layout.current_version()

    @property
    def enabled(self) -> bool:
        return self.settings_error is None

    # -- events ----------------------------------------------------------------------------

    def on_event(self, callback: Callable[[Event], None]) -> None:
        """Register a callback; it is called from the updater's thread (marshal to your UI)."""
        self._callbacks.append(callback)

    def _emit(self, event_kind: str, message: str, **data: Any) -> None:
        event = Event(event_kind, message, data, self.settings.notifications)
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception:  # a broken handler must not break updating (or the app)
                _log().exception("update event handler failed for %s", event_kind)

    def _fail(self, error: BaseException, action: str, **record: Any) -> UpdateError:
        """Turn any failure into an UpdateError, log it to history, emit an error event."""
        problem = describe(
            error,
            last_metadata=self._last_metadata,
            root_file=self.layout.metadata_dir / "root.json",
        )
        with contextlib.suppress(OSError):
            _history().append(
                self.layout.history_file,
                action,
                result="failed",
                error=problem.message,
                channel=self.settings.update_channel,
                kind=problem.kind,
                **record,
            )
        self._emit("error", problem.message, kind=problem.kind, action=action)
        return problem

    # -- locking ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One updater per install root (file lock across processes, RLock across threads)."""
        from filelock import FileLock, Timeout

        if self._filelock is None:
            self.layout.root.mkdir(parents=True, exist_ok=True)
            self._filelock = FileLock(str(self.layout.lock_file), thread_local=False)
        with self._guard:
            try:
                self._filelock.acquire(timeout=self.lock_timeout)
            except Timeout:
                raise BusyError(
                    f"another updater is working on {self.layout.root}: try again when it is done"
                ) from None
            try:
                yield
            finally:
                self._filelock.release()

    def _require_ready(self) -> None:
        if self.settings_error is not None:
            raise UpdateError(
                "config", f"updates disabled: invalid settings: {self.settings_error}"
            )
        if not self.layout.is_set_up():
            self._not_set_up()

    def _not_set_up(self) -> None:
        raise UpdateError(
            "not_set_up",
            f"{self.layout.root} is not an install root: run `update-client setup "
            f"--install-root {self.layout.root} --from ARCHIVE_OR_FOLDER` first",
        )

    # -- TUF sessions over mirrors ---------------------------------------------------------

    def _transport(self) -> Any:
        from client.transport import Transport

        s = self.settings
        transport = Transport(
            connect_timeout=s.connect_timeout_seconds,
            read_timeout=s.read_timeout_seconds,
            deadline_seconds=s.deadline_seconds,
            max_download_bytes=int(s.max_download_mb * (1 << 20)),
            ca_bundle=s.ca_bundle,
            allow_http_loopback=s.dev_allow_http_loopback,
            proxy=s.proxy,
        )
        self._last_metadata = transport.last_metadata
        return transport

    def _online(
        self, action: Callable[[Any, Any], Any], full_refresh: bool = True
    ) -> tuple[Any, Any]:
        """`action(ngclient_updater, transport)` on the mirrors with a fresh transport, closed
        afterwards; returns (its result, the transport) for the bytes and requests it counted."""
        transport = self._transport()
        try:
            result = self._on_mirrors(transport, lambda ng: action(ng, transport), full_refresh)
        finally:
            transport.close()
        return result, transport

    def _on_mirrors(
        self, transport: Any, action: Callable[[Any], Any], full_refresh: bool = True
    ) -> Any:
        """Run `action(ngclient_updater)` against each server in order until one succeeds.

        A fresh ngclient Updater per mirror: the trusted metadata on disk only ever holds what
        verified, so a hostile or broken first mirror cannot poison the second attempt.
        Without `full_refresh` only root and timestamp are refreshed (the network part of the
        TUF workflow); the action then calls `_finish_refresh` unless it can stop there.
        """
        from tuf.api.exceptions import DownloadError, RepositoryError
        from tuf.ngclient import Updater as NgUpdater

        servers = self.settings.servers
        if not servers:
            raise UpdateError(
                "config",
                f"no update servers configured: set `servers` in {self.config_path} "
                '(e.g. [{"metadata_url": "https://.../metadata", "targets_url": "https://.../targets"}])',
            )
        self._repair_trusted_root()
        failures: list[tuple[str, UpdateError]] = []
        for server in servers:
            try:
                with transport.operation():
                    ng = NgUpdater(
                        metadata_dir=str(self.layout.metadata_dir),
                        metadata_base_url=server["metadata_url"],
                        target_dir=str(self.layout.targets_dir),
                        target_base_url=server["targets_url"],
                        fetcher=transport,
                    )
                    if full_refresh:
                        ng.refresh()
                    else:
                        # the specification's steps 5.3 and 5.4 (ngclient's own order)
                        ng._load_root()
                        ng._load_timestamp()
                    self._mirror_used = server["metadata_url"]
                    return action(ng)
            except (DownloadError, RepositoryError) as error:
                problem = describe(
                    error,
                    last_metadata=transport.last_metadata,
                    root_file=self.layout.metadata_dir / "root.json",
                )
                _log().info("update server %s failed: %s", server["metadata_url"], problem)
                failures.append((server["metadata_url"], problem))
        if len(failures) == 1:
            raise failures[0][1]
        summary = "; ".join(f"{i}) {url}: {p.message}" for i, (url, p) in enumerate(failures, 1))
        raise UpdateError(
            failures[-1][1].kind, f"all {len(failures)} update servers failed: {summary}"
        )

    def _repair_trusted_root(self) -> None:
        """A damaged cache/metadata/root.json (disk error, bad edit) is replaced by the root the
        running bundle carries, exactly what `setup` trusted: ngclient then walks the signed
        root chain forward from it again. Never trusted from the network."""
        from tuf.api.metadata import Metadata, Root

        trusted = self.layout.metadata_dir / "root.json"
        try:
            if isinstance(Metadata.from_bytes(trusted.read_bytes()).signed, Root):
                return
        except FileNotFoundError:
            pass
        except Exception:  # noqa: BLE001 - any damage at all: try the bundled root below
            pass
        bundled = self.layout.current_link / ROOT_FILE
        try:
            data = bundled.read_bytes()
            if not isinstance(Metadata.from_bytes(data).signed, Root):
                raise ValueError("not root metadata")
        except Exception as error:  # noqa: BLE001
            raise UpdateError(
                "verification",
                f"the trusted root metadata {trusted} is damaged and the installed bundle's "
                f"{bundled} cannot replace it ({error}): reinstall the application",
            ) from None
        _log().warning("trusted root %s was damaged: restored from %s", trusted, bundled)
        settings_mod.atomic_write_text(trusted, data.decode("utf-8"))

    def _targets(self, ng: Any) -> dict[str, Any]:
        # ngclient has no public listing: the verified top-level targets role is the catalog
        return dict(ng._trusted_set.targets.targets)

    # -- check -----------------------------------------------------------------------------

    def _plan(self, ng: Any, state: State) -> tuple[Any, UpdateInfo | None, str]:
        """(release and patch chain, what the user is told, why the running version was
        withdrawn or "") from verified targets metadata."""

        from client.selection import catalog, choose_replacement, choose_update, plan_patch_chain

        current = self.layout.current_version() or ""
        channel = self.settings.update_channel
        cat = catalog(state.app, self._targets(ng))
        if state.rollout_bucket is None:  # drawn once, saved with the state by the caller
            state.rollout_bucket = int(_random_uniform(0, 100)) % 100
        release = choose_update(
            cat.releases.values(), current, channel, state.skipped, state.pinned,
            state.rollout_bucket,
        )  # fmt: skip
        running = cat.releases.get(_normalized(current))
        withdrawn = running.info.yanked if running is not None else ""
        if release is None and withdrawn and state.pinned is None:
            release = choose_replacement(cat.releases.values(), current, channel, state.skipped)
        if release is None:
            return None, None, withdrawn
        # stepping down from a withdrawn version to one still on disk is a switch, not a download
        kept = (
            bool(withdrawn)
            and self.settings.rollback_enabled
            and (release.info.version in self.layout.kept_versions())
        )
        base = self.layout.base_tar(state.app, current)
        chain = [] if kept else plan_patch_chain(
            cat.patches, current, release.info.version, release.length, base.is_file()
        )  # fmt: skip
        info = UpdateInfo(
            from_version=current,
            version=release.info.version,
            channel=release.info.channel,
            notes=release.info.notes,
            required=release.info.required,
            published=release.info.published,
            method="kept" if kept else "patch" if chain else "full",
            download_bytes=0 if kept else sum(e.length for e in chain) if chain else release.length,
            full_bytes=release.length,
            withdrawn=withdrawn,
        )
        return (release, chain), info, withdrawn

    def _check_action(self, ng: Any, state: State) -> UpdateInfo | None:
        """Plan from fully verified metadata, unless nothing it depends on has changed.

        When the verified timestamp names the snapshot version of the last check that found
        nothing, and nothing local that the choice depends on changed (current version,
        channel, skipped, pin, rollout bucket), and the snapshot and targets verified then are
        still unexpired, the answer is the same: the local snapshot and targets need not be
        loaded and verified again. Root and timestamp are always refreshed and verified, so
        rollback, freeze and fast-forward defences are untouched; it keeps an up-to-date check
        cheap however many releases targets lists.
        """
        key = self._up_to_date_key(ng, state)
        memo = state.up_to_date
        if memo and memo.get("key") == key and time.time() < memo.get("until", 0):
            return None
        _finish_refresh(ng)
        _, info, withdrawn = self._plan(ng, state)
        if info is None:
            trusted = ng._trusted_set
            until = min(trusted.snapshot.expires, trusted.targets.expires).timestamp()
            state.up_to_date = {
                "key": self._up_to_date_key(ng, state),
                "until": until,
                # withdrawn, with no good release to move to: said at every check
                "withdrawn": withdrawn,
            }
        else:
            state.up_to_date = None
        return info

    def _up_to_date_key(self, ng: Any, state: State) -> list[Any]:
        return [
            ng._trusted_set.timestamp.snapshot_meta.version,
            self.layout.current_version(),
            self.settings.update_channel,
            sorted(state.skipped),
            state.pinned,
            state.rollout_bucket,
        ]

    def check(self) -> UpdateInfo | None:
        """Refresh verified metadata and return the update to install, or None."""
        started = time.monotonic()
        try:
            self._require_ready()
            with self._exclusive():
                state = self.layout.read_state()
                try:
                    info, transport = self._online(
                        lambda ng, _: self._check_action(ng, state), full_refresh=False
                    )
                    state.available = info.to_dict() if info else None
                finally:
                    state.last_check = time.time()
                    state.check_jitter_seconds = _random_uniform(
                        0, min(1800.0, self.settings.check_interval_hours * 360)
                    )
                    # bookkeeping only: a power cut that loses it costs one more check
                    self.layout.write_state(state, durable=False)
        except Exception as error:
            raise self._fail(error, "checked", duration=time.monotonic() - started) from error
        _history().append(
            self.layout.history_file,
            "checked",
            from_version=self.layout.current_version(),
            to_version=info.version if info else None,
            channel=self.settings.update_channel,
            bytes=transport.bytes_received,
            duration=time.monotonic() - started,
            requests=transport.requests_made,
            server=self._mirror_used,
        )
        self._emit(
            "checked",
            "update check done",
            requests=transport.requests_made,
            bytes=transport.bytes_received,
        )
        if info is None:
            self._emit_no_update(state.app, (state.up_to_date or {}).get("withdrawn") or "")
        else:
            self._emit(
                "update_available", f"{state.app} {info.version} is available", **info.to_dict()
            )
        return info

    def _emit_no_update(self, app: str, withdrawn: str) -> None:
        current = self.layout.current_version()
        if withdrawn:  # the running version is withdrawn and there is nowhere to move to
            message = (
                f"{app} {current} was withdrawn by the publisher ({withdrawn}) and no other "
                "release is available to move to: keep using it until a fix is published"
            )
        else:
            message = f"{app} {current} is up to date"
        self._emit("no_update", message, withdrawn=withdrawn)

    # -- download --------------------------------------------------------------------------

    def _progress(self) -> Callable[[str, int, int], None]:
        last = {"t": 0.0}

        def report(name: str, done: int, total: int) -> None:
            now = time.monotonic()
            if done >= total or now - last["t"] >= 0.1:  # at most ~10 events a second
                last["t"] = now
                self._emit(
                    "download_progress", f"downloading {name}", name=name, done=done, total=total
                )

        return report

    def download(self) -> UpdateInfo | None:
        """Check, then download and verify the chosen update (ready for `install`)."""
        from client.assemble import build_tar

        started = time.monotonic()
        try:
            self._require_ready()
            with self._exclusive():
                state = self.layout.read_state()

                def action(ng: Any, transport: Any) -> Any:
                    plan, info, withdrawn = self._plan(ng, state)
                    if info is None:
                        return plan, info, withdrawn, None, None, None
                    if info.method == "kept":  # nothing to fetch: install() switches back
                        return plan, info, withdrawn, None, "kept", None
                    tar, method, reason = build_tar(
                        self.layout, ng, transport, state.app, plan, self._progress()
                    )
                    return plan, info, withdrawn, tar, method, reason

                result, transport = self._online(action)
                plan, info, withdrawn, tar, method, reason = result
                if info is None:
                    state.available = None
                    self.layout.write_state(state)
                    self._emit_no_update(state.app, withdrawn)
                    return None
                archive_info = plan[0].info
                state.available = info.to_dict()
                state.downloaded = {
                    "version": info.version,
                    "tar": tar.name if tar is not None else None,
                    "tar_sha256": archive_info.tar_sha256,
                    "unpacked_size": archive_info.unpacked_size,
                    "method": method,
                }
                self.layout.write_state(state)
        except Exception as error:
            raise self._fail(error, "downloaded", duration=time.monotonic() - started) from error
        if method == "kept":  # nothing was downloaded: install() switches back to it
            self._emit(
                "downloaded",
                f"{info.from_version} was withdrawn: {info.version} is ready to switch back to",
                **info.to_dict(),
            )
            return info
        _history().append(
            self.layout.history_file,
            "downloaded",
            from_version=info.from_version,
            to_version=info.version,
            channel=self.settings.update_channel,
            bytes=transport.bytes_received,
            duration=time.monotonic() - started,
            method=method,
            patch_fallback=reason,
            server=self._mirror_used,
        )
        self._emit(
            "downloaded",
            f"{state.app} {info.version} downloaded and verified",
            **{
                **info.to_dict(),
                "method": method,
                "bytes": transport.bytes_received,
                "patch_fallback": reason,
            },
        )
        return info

    # -- install ---------------------------------------------------------------------------

    def install(self) -> str | None:
        """Install the downloaded update; returns the new version (None if nothing is ready).
        The running version keeps running; call `restart()` to switch to the new one."""
        from client.assemble import file_digest
        from client.install import (
            backup_user_data,
            clean_staging,
            place_version,
            prune_cache,
            prune_versions,
            switch_current,
        )

        started = time.monotonic()
        try:
            self._require_ready()
            with self._exclusive():
                state = self.layout.read_state()
                ready = state.downloaded
                current = self.layout.current_version() or ""
                if not ready:
                    return None
                version = ready["version"]
                if ready.get("method") == "kept":
                    state.downloaded = state.available = None
                    self.layout.write_state(state)
                    return self.rollback(version, reason=f"{current} was withdrawn")
                tar = self.layout.targets_dir / ready["tar"]
                if file_digest(tar)[1] != ready["tar_sha256"]:
                    state.downloaded = None
                    self.layout.write_state(state)
                    raise UpdateError(
                        "verification",
                        f"the downloaded {tar.name} changed on disk since it was verified: "
                        "download again",
                    )
                if self.settings.backup_before_update and self.settings.backup_paths:
                    backup_user_data(self.layout, current, self.settings.backup_paths)
                try:
                    place_version(self.layout, tar, version, ready["unpacked_size"], state.app)
                finally:
                    clean_staging(self.layout)
                # intent first, then the switch: a crash in between is resolved at next start
                state.pending = {"version": version, "previous": current, "starts": 0}
                state.previous = current
                state.downloaded = None
                state.available = None
                self.layout.write_state(state)
                switch_current(self.layout, version)
                removed = prune_versions(self.layout, self.settings.max_backups, version, {current})
                prune_cache(self.layout, state.app, {version, current})
        except Exception as error:
            raise self._fail(error, "installed", duration=time.monotonic() - started) from error
        _history().append(
            self.layout.history_file,
            "installed",
            from_version=current,
            to_version=version,
            channel=self.settings.update_channel,
            duration=time.monotonic() - started,
            removed_versions=removed,
        )
        self._emit(
            "installed",
            f"{state.app} {version} installed: restart to use it",
            from_version=current,
            version=version,
            restart_required=True,
        )
        return version

    def update(self) -> str | None:
        """check + download + install; returns the installed version or None if up to date."""
        info = self.download()
        return self.install() if info is not None else None

    # -- rollback and health ---------------------------------------------------------------

    def rollback(
        self, version: str | None = None, restore_data: bool = False, reason: str = "requested"
    ) -> str:
        """Switch `current` back to `version` (default: the previous one): instant, offline.
        The version left is skipped by automatic updates until a newer one is published."""
        from packaging.version import InvalidVersion, Version

        from client.install import restore_user_data, switch_current

        started = time.monotonic()
        try:
            if not self.settings.rollback_enabled:
                raise UpdateError(
                    "disabled", "rollback is disabled in the settings (rollback_enabled = false)"
                )
            if not self.layout.is_set_up():
                self._not_set_up()
            with self._exclusive():
                state = self.layout.read_state()
                current = self.layout.current_version() or ""
                kept = self.layout.kept_versions()
                target = version or state.previous
                if not target:
                    raise UpdateError("rollback", "no previous version to roll back to")
                try:
                    target = str(Version(target))
                except InvalidVersion:
                    raise UpdateError(
                        "rollback", f"{target!r} is not a version; kept versions: {', '.join(kept)}"
                    ) from None
                if target == current:
                    raise UpdateError("rollback", f"{target} is already the current version")
                if target not in kept:
                    raise UpdateError(
                        "rollback",
                        f"version {target} is not kept on this machine; "
                        f"kept versions: {', '.join(kept)}",
                    )
                if Version(current) > Version(target) and current not in state.skipped:
                    state.skipped.append(current)
                state.skipped = [v for v in state.skipped if v != target]
                state.previous = current
                state.pending = None
                if state.downloaded and state.downloaded.get("version") in state.skipped:
                    state.downloaded = None
                self.layout.write_state(state)
                switch_current(self.layout, target)
                restored = restore_user_data(self.layout, target) if restore_data else []
        except Exception as error:
            raise self._fail(error, "rolled_back", to_version=version) from error
        _history().append(
            self.layout.history_file,
            "rolled_back",
            from_version=current,
            to_version=target,
            channel=self.settings.update_channel,
            duration=time.monotonic() - started,
            reason=reason,
            restored=restored,
        )
        self._emit(
            "rolled_back",
            f"rolled back from {current} to {target}",
            from_version=current,
            version=target,
            reason=reason,
            restored=restored,
            restart_required=self.running_version != target,
        )
        return target

    def confirm_healthy(self) -> bool:
        """Call once the new version runs fine: it stays. Without this, it is rolled back at the
        next start. Returns True if a pending version was confirmed."""
        try:
            with self._exclusive():
                state = self.layout.read_state()
                pending = state.pending
                if not pending or pending.get("version") != self.running_version:
                    return False
                state.pending = None
                self.layout.write_state(state)
        except Exception as error:
            raise self._fail(error, "health_confirmed") from error
        _history().append(
            self.layout.history_file,
            "health_confirmed",
            to_version=pending["version"],
            from_version=pending.get("previous"),
        )
        self._emit(
            "health_confirmed",
            f"version {pending['version']} confirmed healthy",
            version=pending["version"],
        )
        return True

    def apply_startup_decision(self) -> str:
        """At application start: count a new version's trial start, or roll back a version
        that had its trial and never confirmed. Returns the decision taken."""
        if os.environ.get(STARTUP_DONE_ENV) == (self.running_version or ""):
            return "ok"  # `update-client launch` already decided for this start
        if not self.layout.is_set_up():
            return "ok"
        with self._exclusive():
            state = self.layout.read_state()
            decision = startup_decision(state, self.layout.current_version())
            if decision == "trial":
                state.pending = {**(state.pending or {}), "starts": 1}
                self.layout.write_state(state)
            elif decision == "clear" or (
                decision == "rollback" and not self.settings.rollback_enabled
            ):
                state.pending = None
                self.layout.write_state(state)
        if decision == "rollback" and self.settings.rollback_enabled:
            pending = state.pending or {}
            self.rollback(
                pending.get("previous"),
                reason=f"version {pending.get('version')} was not confirmed healthy",
            )
        return decision

    def entry_argv(self) -> list[str]:
        """The command that starts the current version (raises UpdateError if it is missing)."""
        entry = self.layout.current_link / self.settings.entry_point
        if not entry.is_file():
            raise UpdateError(
                "install", f"entry point {entry} does not exist (setting entry_point)"
            )
        return [sys.executable, str(entry)] if entry.suffix == ".py" else [str(entry)]

    def restart(self) -> None:
        """Replace this process with the application started from the current version."""
        try:
            argv = self.entry_argv() + sys.argv[1:]
        except UpdateError as error:
            raise self._fail(error, "restart") from error
        self.stop()
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(argv[0], argv)

    # -- integrity of the installed version -------------------------------------------------

    def verify_install(self, repair: bool = False) -> dict[str, Any]:
        """Compare the current version's files with its signed release; with `repair`, put
        back every modified or missing file. Fetches the signed metadata (and the archive if
        its tar is not cached); returns {"version", "intact", "modified", "missing", "extra",
        "repaired"}. Files the release does not contain are reported, never removed."""
        from client.archive import extract_tar
        from client.install import clean_staging
        from client.integrity import compare_tree, repair_tree

        started = time.monotonic()
        version = ""
        try:
            self._require_ready()
            with self._exclusive():
                state = self.layout.read_state()
                version = self.layout.current_version() or ""
                (tar, unpacked), _ = self._online(
                    lambda ng, transport: self._signed_tar(ng, transport, state.app, version)
                )
                installed = self.layout.version_dir(version)
                try:
                    clean_staging(self.layout)
                    reference = self.layout.staging / version
                    extract_tar(tar, reference, unpacked)
                    found = compare_tree(reference, installed)
                    repaired = repair_tree(reference, installed, found) if repair else []
                    after = compare_tree(reference, installed) if repaired else found
                finally:
                    clean_staging(self.layout)
        except Exception as error:
            action = "repaired" if repair else "verified"
            raise self._fail(error, action, duration=time.monotonic() - started) from error
        report = {"version": version, **found.to_dict(), "repaired": repaired}
        report["intact"] = after.intact
        _history().append(
            self.layout.history_file,
            "repaired" if repaired else "verified",
            to_version=version,
            result="intact" if after.intact else "damaged",
            modified=len(found.modified),
            missing=len(found.missing),
            repaired=len(repaired),
            duration=time.monotonic() - started,
        )
        return report

    def _signed_tar(self, ng: Any, transport: Any, app: str, version: str) -> tuple[Path, int]:
        """The verified tar of the installed `version` (cached patch base, else downloaded)."""
        from client.assemble import build_tar, file_digest
        from client.selection import catalog

        release = catalog(app, self._targets(ng)).releases.get(version)
        if release is None:
            raise UpdateError(
                "verification",
                f"{app} {version} is no longer in the signed release list (the publisher pruned "
                "it), so its files cannot be checked: update to a published version",
            )
        tar = self.layout.base_tar(app, version)
        signed = (release.info.tar_size, release.info.tar_sha256)
        if not (tar.is_file() and file_digest(tar) == signed):
            plan = (release, [])  # the full archive: there is no patch into the same version
            tar, _, _ = build_tar(self.layout, ng, transport, app, plan, self._progress())
        return tar, release.info.unpacked_size

    # -- settings, pins, history, status ---------------------------------------------------

    def set_setting(self, key: str, value: Any) -> None:
        """Change one setting and save the file atomically (raises SettingsError if invalid)."""
        new = settings_mod.with_value(self.settings, key, value)
        settings_mod.save(self.config_path, new)
        self.settings = new
        self._wake.set()  # e.g. a new interval applies now

    def pin(self, version: str | None) -> None:
        """Stay on (or move to) `version`; None removes the pin."""
        if version is not None:
            from packaging.version import InvalidVersion, Version

            try:
                version = str(Version(version))
            except InvalidVersion:
                raise UpdateError(
                    "invalid_input", f"cannot pin {version!r}: not a version such as 1.2.0"
                ) from None
        with self._exclusive():
            state = self.layout.read_state()
            state.pinned = version
            self.layout.write_state(state)

    def history(self, limit: int | None = None) -> list[dict[str, Any]]:
        return _history().read(self.layout.history_file, limit)

    def status(self) -> dict[str, Any]:
        state = self.layout.read_state()

        def iso(ts: float | None) -> str | None:
            from datetime import UTC, datetime

            return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else None

        due = next_check_time(
            state.last_check,
            self.settings.check_interval_hours,
            state.check_jitter_seconds,
            time.time(),
        )
        return {
            "app": state.app,
            "install_root": str(self.layout.root),
            "current_version": self.layout.current_version(),
            "running_version": self.running_version,
            "previous_version": state.previous,
            "kept_versions": self.layout.kept_versions(),
            "channel": self.settings.update_channel,
            "last_check": iso(state.last_check),
            "next_check": iso(due) if self.settings.auto_check else None,
            "pending_update": state.available,
            "downloaded": state.downloaded["version"] if state.downloaded else None,
            "awaiting_health_confirmation": (state.pending or {}).get("version"),
            "skipped_versions": state.skipped,
            "pinned_version": state.pinned,
            "rollout_bucket": state.rollout_bucket,
            "updates_enabled": self.enabled,
            "settings_error": str(self.settings_error) if self.settings_error else None,
        }

    # -- background ------------------------------------------------------------------------

    def start(self) -> None:
        """Start background checks and return at once (errors arrive as `error` events).

        The only synchronous work is reading state.json; only on the first start after an
        update (rare) is the health decision applied here, before the app can crash again."""
        if self._thread is not None:
            return
        if self.settings_error is None:
            state = self.layout.read_state()
            if startup_decision(state, self.layout.current_version()) != "ok":
                try:
                    self.apply_startup_decision()
                except Exception as error:  # never crash the host application
                    self._fail(error, "startup")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="updater", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def check_soon(self) -> None:
        """Ask the background thread for a check now (a manual check without blocking)."""
        self._force = True
        self._wake.set()

    def _run(self) -> None:
        try:
            if self.settings_error is not None:
                self._emit(
                    "error",
                    f"updates disabled: invalid settings: {self.settings_error}",
                    kind="config",
                    action="start",
                )
                return
            # let the application finish starting before any heavy import or network use
            if self._stop.wait(self.startup_delay):
                return
            while not self._stop.is_set():
                state = self.layout.read_state()
                due = next_check_time(
                    state.last_check,
                    self.settings.check_interval_hours,
                    state.check_jitter_seconds,
                    time.time(),
                )
                wait = 0.0 if self._force else max(0.0, due - time.time())
                if not self.settings.auto_check and not self._force:
                    wait = 3600.0
                if wait > 0:
                    self._wake.wait(min(wait, 3600.0))
                    self._wake.clear()
                    continue  # re-evaluate: woken early, settings changed, or time is up
                self._force = False
                self._background_cycle()
        except Exception:  # never let the thread die loudly inside the host application
            _log().exception("update thread stopped")

    def _background_cycle(self) -> None:
        try:
            info = self.check()
            if info is not None and self.settings.auto_download:
                info = self.download()
                if info is not None and self.settings.auto_install:
                    self.install()
        except BusyError:
            _log().info("another updater holds the install root: will try at the next check")
        except UpdateError:
            pass  # already reported as an `error` event and in history


def _normalized(version: str) -> str:
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def _finish_refresh(ng: Any) -> None:
    """The rest of ngclient's refresh after root and timestamp: snapshot, then targets."""
    ng._load_snapshot()
    ng._load_targets("targets", "root")


def _random_uniform(low: float, high: float) -> float:
    import random

    return random.uniform(low, high)
