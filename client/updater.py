"""`Updater`: the thin facade an application embeds (see docs/client.md and docs/architecture.md).

It wires the pieces together and adds nothing of its own: settings loading (`client.settings`),
the operation frame (`client.frame`), the operations (`client.operations`: check, download,
install; `client.rollback`: rollback, skip and the health rule; `client.repair`: verify and
repair), the background schedule (`client.schedule`), busy/idle and the automatic work held
for idle and the install window (`client.automatic`, `client.timing`). Each operation has a
short form returning a plain value (`check()` -> UpdateInfo or None, `install()` -> the
version or None) and a `*_result()` form returning the whole result (what was installed, the
method, why there is no update).

Only the standard library and the client's light modules load here: `Updater.from_config(...)
.start()` must cost an application next to nothing at start-up; tuf, requests, filelock and the
patch codec load inside the operations, in the background thread or the CLI.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from client.automatic import Automatic
from client.errors import ErrorKind, UpdateError
from client.events import (
    CheckResult,
    DownloadResult,
    Event,
    EventKind,
    InstallResult,
    UpdateInfo,
)
from client.firstrun import running_file
from client.frame import Core
from client.layout import Layout, StartupDecision
from client.planning import next_check_time
from client.schedule import Schedule
from client.settings import CONFIG_FILE_NAME, Settings, SettingsError, load, save, with_value
from client.timing import InstallTiming

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _guess_install_root() -> Path:
    """The install root of the running app: <root>/versions/<v>/... or the working folder."""
    try:
        here = running_file()
    except OSError:
        return Path.cwd()
    for parent in here.parents:
        if parent.parent.name == "versions":
            return parent.parent.parent
    return Path.cwd()


def _running_version(layout: Layout) -> str | None:
    """The version this process runs from (its script inside versions/), else `current`."""
    try:
        here = running_file()
        versions = layout.versions.resolve()
        if here.is_relative_to(versions):
            return here.relative_to(versions).parts[0]
    except (OSError, ValueError):
        pass
    return layout.current_version()


class Updater:
    """Embeds the update client in an application. See docs/client.md."""

    def __init__(
        self,
        install_root: Path,
        settings: Settings | None = None,
        config_path: Path | None = None,
        settings_error: SettingsError | None = None,
    ) -> None:
        layout = Layout(install_root)
        self._core = Core(
            layout,
            settings or Settings(),
            Path(config_path) if config_path else layout.config_file,
            settings_error,
            _running_version(layout),
        )
        self._schedule = Schedule(
            self._core,
            self._background_cycle,
            held_wait=lambda: self._automatic.held_wait(),
            run_held=lambda: self._automatic.run_held(self.install),
        )
        self._automatic = Automatic(self._core, self._schedule.wake)

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
            config = root / CONFIG_FILE_NAME
        error: SettingsError | None = None
        try:
            settings = load(config)
        except SettingsError as problem:
            settings, error = Settings(), problem
        if root is None:
            root = Path(settings.install_root) if settings.install_root else config.parent
        return cls(root, settings, config, error)

    # -- what the application reads and sets -------------------------------------------------

    @property
    def layout(self) -> Layout:
        return self._core.layout

    @property
    def settings(self) -> Settings:
        return self._core.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        """Use `settings` from now on (not saved: `set_setting` saves one key)."""
        self._core.settings = settings
        self._schedule.wake()

    @property
    def settings_error(self) -> SettingsError | None:
        return self._core.settings_error

    @property
    def config_path(self) -> Path:
        return self._core.config_path

    @property
    def enabled(self) -> bool:
        return self._core.settings_error is None

    @property
    def running_version(self) -> str | None:
        return self._core.running_version

    @running_version.setter
    def running_version(self, version: str | None) -> None:
        self._core.running_version = version

    @property
    def lock_timeout(self) -> float:
        """Seconds a second process waits for the install root's lock before reporting busy."""
        return self._core.lock_timeout

    @lock_timeout.setter
    def lock_timeout(self, seconds: float) -> None:
        self._core.lock_timeout = seconds

    @property
    def startup_delay(self) -> float:
        """Seconds between `start()` and the first background work."""
        return self._schedule.startup_delay

    @startup_delay.setter
    def startup_delay(self, seconds: float) -> None:
        self._schedule.startup_delay = seconds

    def on_event(self, callback: Callable[[Event], None]) -> None:
        """Register a callback; it is called from the updater's thread (marshal to your UI)."""
        self._core.events.subscribe(callback)

    # -- operations --------------------------------------------------------------------------

    def check_result(self) -> CheckResult:
        """Refresh verified metadata: the update to install, or why there is none."""
        from client.operations import check

        return check(self._core)

    def check(self) -> UpdateInfo | None:
        """Refresh verified metadata and return the update to install, or None."""
        return self.check_result().update

    def download_result(self) -> DownloadResult:
        """Check, then download and verify the chosen update (ready for `install`)."""
        from client.operations import download

        return download(self._core)

    def download(self) -> UpdateInfo | None:
        """Check, then download and verify the update; None when there is nothing to get."""
        return self.download_result().update

    def cancel(self) -> None:
        """Stop the download in progress (from any thread): it ends at its next progress step
        with UpdateError(CANCELLED), keeps its partial file for the next download to resume,
        and history records it as cancelled. Does nothing when no download is running."""
        self._core.events.cancel()

    def install_result(self) -> InstallResult:
        """Install the downloaded update (the running version keeps running)."""
        from client.operations import install

        return install(self._core, self._switch_back)

    def install(self) -> str | None:
        """Install the downloaded update; returns the new version (None if nothing is ready).
        The running version keeps running; call `restart()` to switch to the new one."""
        return self.install_result().version

    def update_result(self) -> InstallResult:
        """check + download + install, with what happened (or why nothing did)."""
        from client.operations import update

        return update(self._core, self._switch_back)

    def update(self) -> str | None:
        """check + download + install; returns the installed version or None if up to date."""
        return self.update_result().version

    def _switch_back(self, version: str, reason: str) -> str:
        return self.rollback(version, reason=reason)

    def rollback(
        self, version: str | None = None, restore_data: bool = False, reason: str = "requested"
    ) -> str:
        """Switch `current` back to `version` (default: the previous one): instant, offline.
        The version left is skipped by automatic updates until a newer one is published."""
        from client.rollback import rollback

        return rollback(self._core, version, restore_data, reason)

    def confirm_healthy(self) -> bool:
        """The new version runs fine: it stays (a good start). Optional: staying alive
        `healthy_after_seconds` after `start()` counts too, and under `update-client launch`
        so does a clean exit. Returns True if a pending version was confirmed."""
        from client.rollback import confirm_healthy

        return confirm_healthy(self._core)

    def apply_startup_decision(self) -> StartupDecision:
        """At application start: count (and watch) a start of a freshly installed version,
        or roll back one that failed on `failed_starts_before_rollback` starts in a row
        (leaving a rollback notice). Returns the decision taken."""
        from client.rollback import apply_startup_decision

        return apply_startup_decision(self._core)

    def rollback_notice(self) -> dict[str, Any] | None:
        """The last automatic (health) rollback not yet acknowledged: {"failed_version",
        "version" (now current), "reason" (a plain sentence), "time"}, or None."""
        from client.rollback import rollback_notice

        return rollback_notice(self._core)

    def acknowledge_rollback_notice(self) -> None:
        """The user has seen the rollback notice: `rollback_notice()` is None from now on."""
        from client.rollback import acknowledge_rollback_notice

        acknowledge_rollback_notice(self._core)

    def skip_version(self, version: str) -> None:
        """The user's "Skip This Version": checks (automatic and manual) do not offer it
        again; a newer release is offered. Saved in state.json (`skipped`)."""
        from client.rollback import skip_version

        skip_version(self._core, version)

    # -- busy / idle, install window, automatic restart ------------------------------------------

    def set_busy(self, busy: bool, reason: str = "") -> None:
        """Tell the updater the application is busy (e.g. an order in flight) or idle again.
        Nesting counts. Automatic installs and restarts wait for idle (client.automatic)."""
        self._automatic.set_busy(busy, reason)

    def busy(self, reason: str = "") -> AbstractContextManager[None]:
        """`with updater.busy("order in flight"): ...`: busy inside the block (nesting counts)."""
        return self._automatic.busy(reason)

    @property
    def is_busy(self) -> bool:
        return self._automatic.is_busy

    def install_timing(self, now: float | None = None) -> InstallTiming:
        """Whether an automatic install (or restart) may happen now; if not, why ("busy",
        "window"), when the window opens and one plain sentence saying when it will happen."""
        return self._automatic.timing(now)

    def on_restart_request(self, callback: Callable[[], None]) -> None:
        """With `auto_restart`: `callback()` is called on the updater's thread when an
        automatic install is done and the application is idle and inside the install window.
        It should let the application save, then call `restart()` (on the GUI thread)."""
        self._automatic.on_restart_request(callback)

    def verify_install(self, repair: bool = False) -> dict[str, Any]:
        """Compare the current version's files with its signed release; with `repair`, put
        back every modified or missing file (see client.repair)."""
        from client.repair import verify_install

        return verify_install(self._core, repair)

    # -- starting the application --------------------------------------------------------------

    def entry_argv(self) -> list[str]:
        """The command that starts the current version (raises UpdateError if it is missing)."""
        entry = self.layout.current_link / self.settings.entry_point
        if not entry.is_file():
            raise UpdateError(
                ErrorKind.INSTALL, f"entry point {entry} does not exist (setting entry_point)"
            )
        return [sys.executable, str(entry)] if entry.suffix == ".py" else [str(entry)]

    def restart(self) -> None:
        """Replace this process with the application started from the current version."""
        try:
            argv = self.entry_argv() + sys.argv[1:]
        except UpdateError as error:
            raise self._core.fail(error, "restart") from error
        self.stop()
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(argv[0], argv)

    # -- settings, pins, history, status -----------------------------------------------------

    def set_setting(self, key: str, value: Any) -> None:
        """Change one setting and save the file atomically (raises SettingsError if invalid)."""
        new = with_value(self.settings, key, value)
        save(self.config_path, new)
        self._core.settings = new
        self._schedule.wake()  # e.g. a new interval applies now

    def pin(self, version: str | None) -> str | None:
        """Stay on (or move to) `version`; None removes the pin. Returns the pin now in force."""
        if version is not None:
            from client.formats import user_version

            version = user_version(version, "pin")
        with self._core.exclusive():
            state = self.layout.read_state()
            state.pinned = version
            self.layout.write_state(state)
        return version

    def history(self, limit: int | None = None) -> list[dict[str, Any]]:
        from client import history

        return history.read(self.layout.history_file, limit)

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
            "rollback_notice": state.rollback_notice,
            "busy": self._automatic.reasons if self.is_busy else None,
            "pinned_version": state.pinned,
            "rollout_bucket": state.rollout_bucket,
            "updates_enabled": self.enabled,
            "settings_error": str(self.settings_error) if self.settings_error else None,
            # parts of the install root other users can write (logged, in history once)
            "warnings": self.layout.report_warnings(),
        }

    # -- background ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start background checks and return at once (errors arrive as `error` events).

        The only synchronous work is reading state.json; only on the starts of a freshly
        installed version (rare) is the health decision applied here, before the app can crash
        again; such a start is then watched: alive `healthy_after_seconds`, the version stays."""
        if self._schedule.running:
            return
        from client.rollback import needs_startup_decision

        if needs_startup_decision(self._core):
            try:
                decision = self.apply_startup_decision()
            except Exception as error:  # never crash the host application
                self._core.fail(error, "startup")
            else:
                if decision == StartupDecision.TRIAL:
                    self._schedule.watch_health(
                        self.settings.healthy_after_seconds, self._confirm_alive
                    )
        self._schedule.start(self._report_disabled)

    def _confirm_alive(self) -> None:
        from client.rollback import confirm_healthy

        confirm_healthy(self._core, how="alive")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread (waits up to `timeout` seconds for it)."""
        self._schedule.stop(timeout)

    def check_soon(self) -> None:
        """Ask the background thread for a check now (a manual check without blocking)."""
        self._schedule.check_soon()

    def _report_disabled(self) -> None:
        self._core.events.emit(
            EventKind.ERROR,
            f"updates disabled: invalid settings: {self.settings_error}",
            kind=ErrorKind.CONFIG,
            action="start",
        )

    def _background_cycle(self) -> None:
        info = self.check()
        if info is not None and self.settings.auto_download:
            info = self.download()
            if info is not None and self.settings.auto_install:
                self._automatic.install(self.install)  # now, or held for idle / the window
