"""The toolkit-neutral update UI controller: what the notice and the Update menu do.

`UpdateController` owns the state of an application's update UI as an immutable `View`
(client/ui/view.py) that a Tk or Qt adapter only renders (client/ui/tk.py, client/ui/qt.py).
Rules:
- Threads: updater events arrive on the updater's threads and reach the view only through the
  `schedule` callback the adapter gives (its GUI thread); every updater call a button makes
  runs on a worker thread, so the window never freezes. Listeners run on the GUI thread.
- Gentle: background news shows a notice without stealing focus; "Remind Me Later" and
  "Skip This Version" are remembered; transient background errors (no network) stay quiet.
- Decisions are pure (`next_view`, `menu_for`); this module gathers their context (status,
  install timing, remind-later) and does the I/O. No GUI toolkit is imported here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from client.errors import ErrorKind
from client.events import Event, EventKind
from client.ui.fields import SettingField, field_label, parse_field, setting_fields
from client.ui.history import HistoryRow, history_rows
from client.ui.prefs import Prefs
from client.ui.view import (
    ACTION_LABELS,
    MENU_LABELS,
    Action,
    Context,
    MenuItem,
    Phase,
    View,
    menu_for,
    menu_label,
    next_view,
)
from client.words import when_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from client.updater import Updater

_SAYS_NEXT_CHECK = {EventKind.ERROR, EventKind.NO_UPDATE}
_SAYS_WHEN = {EventKind.DOWNLOADED, EventKind.INSTALLED}

__all__ = [
    "ACTION_LABELS",
    "MENU_LABELS",
    "Action",
    "HistoryRow",
    "MenuItem",
    "Phase",
    "SettingField",
    "UpdateController",
    "View",
    "menu_label",
]


class UpdateController:
    """Owns the update UI's View; see the module docstring. GUI thread unless noted."""

    def __init__(
        self,
        updater: Updater,
        schedule: Callable[[Callable[[], None]], None],
        *,
        before_restart: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.updater = updater
        self._schedule = schedule  # any thread -> GUI thread
        self.before_restart = before_restart
        self._clock = clock
        self._listeners: list[Callable[[View], None]] = []
        self._manual = 0  # user actions in progress
        self._window_active = True
        self._samples: list[tuple[float, int]] = []  # (time, bytes) of the download
        self._received: dict[str, int] = {}
        self._expected = 0  # bytes the offered update downloads (a patch chain: several)
        self._notice: dict[str, Any] | None = None  # an automatic rollback being told
        self.prefs = Prefs.load(updater.layout.root)
        self.view = self._refresh(View())
        updater.on_event(lambda event: self._schedule(lambda: self._on_event(event)))
        # auto_restart: the updater asks on its thread once an automatic install is done and
        # the app is idle; the restart then runs on the GUI thread, the app saving first
        updater.on_restart_request(lambda: self._schedule(self._restart))

    # -- what adapters call ----------------------------------------------------------------------

    def subscribe(self, listener: Callable[[View], None]) -> None:
        self._listeners.append(listener)
        listener(self.view)

    def set_window_active(self, active: bool) -> None:
        self._window_active = active

    @property
    def window_active(self) -> bool:
        return self._window_active

    def start(self) -> None:
        """Count the launch, tell an automatic rollback or ask about automatic checks once (on
        the second launch), then start the updater (its health rule runs first)."""
        self.prefs.launches += 1
        self.prefs.save()
        self.updater.start()
        notice = self.updater.rollback_notice()
        if notice:
            self._notice = notice
            self._show(
                phase=Phase.ROLLED_BACK,
                headline=f"Version {notice.get('failed_version')} did not start properly, so "
                f"version {notice.get('version')} is running again.",
                advice=f"Version {notice.get('failed_version')} will not be installed again; "
                "a newer release will be offered when there is one.",
                detail=str(notice.get("reason") or ""),
                version=notice.get("version"),
                actions=(Action.DISMISS,),
                visible=True,
                notify=True,
            )
        elif self.prefs.launches >= 2 and not self.prefs.auto_check_asked:
            self._show(
                ask_auto_check=True,
                visible=True,
                headline="Check for updates automatically?",
                advice="The application can look for new versions in the background and tell "
                "you when one is ready. You can change this in Update Settings.",
                actions=(Action.ENABLE_AUTO, Action.DISABLE_AUTO),
            )

    def stop(self) -> None:
        self.updater.stop()

    def perform(self, action: Action | MenuItem) -> None:
        """Do what a button or menu item says; updater work runs on a worker thread."""
        up, view = self.updater, self.view
        if action in (MenuItem.CHECK, Action.RETRY):
            self._working(Phase.CHECKING, "Checking for updates...")
            self._work(up.check_result)
        elif action in (Action.DOWNLOAD, MenuItem.DOWNLOAD):
            self._samples, self._received = [], {}
            self._show(
                phase=Phase.DOWNLOADING,
                headline=f"Downloading version {view.version}",
                progress=0.0,
                progress_text="",
                actions=(Action.CANCEL,),
                visible=True,
            )
            self._work(up.download_result)
        elif action in (Action.INSTALL, MenuItem.INSTALL):
            self._working(Phase.INSTALLING, f"Installing version {view.version}...")
            work = up.install_result if view.phase == Phase.READY else up.update_result
            self._work(work, then=lambda result: result.version and self._restart())
        elif action == Action.RESTART:
            self._restart()
        elif action == Action.CANCEL:
            up.cancel()
        elif action == Action.SKIP:
            version = view.version
            self._show(visible=False, phase=Phase.IDLE, version=None, notes=())
            if version:
                self._work(lambda: up.skip_version(version), quiet=True)
        elif action == Action.LATER:
            if view.version:
                self.prefs.remind_later(view.version, self._clock())
            self._show(visible=False)
        elif action == Action.DISMISS:
            self._dismiss()
        elif action in (Action.ENABLE_AUTO, Action.DISABLE_AUTO):
            self.prefs.auto_check_asked = True
            self.prefs.save()
            self._show(ask_auto_check=False, visible=False)
            enable = action == Action.ENABLE_AUTO
            self._work(lambda: up.set_setting("auto_check", enable), quiet=True)
        elif action == MenuItem.ROLLBACK:
            self.roll_back_to(view.previous_version or "")
        elif action == MenuItem.VERIFY:
            self._working(Phase.CHECKING, "Checking the installed files...")
            self._work(lambda: up.verify_install(repair=True), then=self._verified)
        # HISTORY and SETTINGS open windows: the adapter does that with history_rows() and
        # setting_fields()

    def roll_back_to(self, version: str) -> None:
        """Switch to a kept `version` (the adapter asked the user first), then restart."""
        self._working(Phase.INSTALLING, f"Switching to version {version}...")
        self._work(
            lambda: self.updater.rollback(version or None),
            then=lambda _: (
                self.updater.running_version != self.updater.layout.current_version()
                and self._restart()
            ),
        )

    def history_rows(self, limit: int = 200) -> list[HistoryRow]:
        up = self.updater
        return history_rows(
            up.history(limit * 4),
            kept=up.layout.kept_versions() if up.settings.rollback_enabled else [],
            current=up.layout.current_version(),
            limit=limit,
        )

    def setting_fields(self) -> list[SettingField]:
        return setting_fields(self.updater.settings)

    def check_setting(self, key: str, text: str) -> str | None:
        """The problem with `text` for `key` in words, or None if it may be saved."""
        from client.settings import SettingsError, with_value

        try:
            with_value(self.updater.settings, key, parse_field(key, text))
        except SettingsError as problem:
            return _field_message(key, problem.errors)
        return None

    def save_settings(self, texts: dict[str, str]) -> dict[str, str]:
        """Validate every field as the file is validated, save atomically, apply at once.
        Returns {key: problem}; {} when saved."""
        from client.settings import SettingsError, from_dict, save

        problems = {k: m for k, t in texts.items() if (m := self.check_setting(k, t))}
        if problems:
            return problems
        values = {**self.updater.settings.to_dict()}
        values.update({key: parse_field(key, text) for key, text in texts.items()})
        try:
            new = from_dict(values, self.updater.settings.default_install_root)
            save(self.updater.config_path, new)
        except SettingsError as problem:  # a combination no single field shows
            return {"": "; ".join(problem.errors)}
        except OSError as error:
            return {"": f"The settings could not be saved ({error.strerror or error})."}
        self.updater.settings = new
        self.view = self._refresh(self.view)
        self._publish()
        return {}

    # -- inside ----------------------------------------------------------------------------------

    def _context(self, kind: str) -> Context:
        """What next_view needs for an event of `kind` (status is read only where it is said)."""
        up, now = self.updater, self._clock()
        next_check = ""
        due = up.status().get("next_check") if kind in _SAYS_NEXT_CHECK else None
        if due:
            from datetime import datetime

            next_check = when_text(max(datetime.fromisoformat(due).timestamp(), now), now)
        timing = up.install_timing() if kind in _SAYS_WHEN else None
        return Context(
            manual=self._manual > 0,
            reminded_version=self.prefs.reminded_version(now),
            when=timing.message if timing else "",
            next_check=next_check,
            auto_install=up.settings.auto_install,
            speed=self._speed(),
        )

    def _speed(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else None

    def _on_event(self, event: Event) -> None:
        if event.kind == EventKind.UPDATE_AVAILABLE:
            self._expected = int(event.data.get("download_bytes") or 0)
        if event.kind == EventKind.DOWNLOAD_PROGRESS:  # a chain has several files: sum them
            self._received[str(event.data.get("name"))] = int(event.data.get("done") or 0)
            done, now = sum(self._received.values()), time.monotonic()
            self._samples = [s for s in self._samples if now - s[0] <= 5.0] + [(now, done)]
            total = max(self._expected or int(event.data.get("total") or 0), done)
            data = {**event.data, "done": done, "total": total}
            event = Event(event.kind, event.message, data, event.notify)
        self.view = self._refresh(next_view(self.view, event, self._context(event.kind)))
        self._publish()

    def _refresh(self, view: View) -> View:
        """The parts of the view that come from the install root, not from events."""
        up = self.updater
        current = up.layout.current_version()
        kept = [v for v in up.layout.kept_versions() if v != current]
        previous = up.layout.read_state().previous
        previous = previous if previous in kept else (kept[-1] if kept else None)
        base = view.but(
            running_version=up.running_version or current, previous_version=previous,
            notify=view.notify,
        )  # fmt: skip
        return base.but(menu=menu_for(base, up.settings.rollback_enabled), notify=view.notify)

    def _working(self, phase: Phase, headline: str) -> None:
        """Show that a user's action is under way (no buttons until it is done)."""
        self._show(phase=phase, headline=headline, advice="", detail="", actions=(), visible=True)

    def _show(self, **changes: Any) -> None:
        self.view = self._refresh(self.view.but(**changes))
        self._publish()

    def _publish(self) -> None:
        for listener in list(self._listeners):
            listener(self.view)

    def _dismiss(self) -> None:
        if self._notice is not None:
            self._notice = None
            self._work(self.updater.acknowledge_rollback_notice, quiet=True)
        phase = self.view.phase
        if phase in (Phase.UP_TO_DATE, Phase.ERROR, Phase.CHECKING):
            phase = Phase.IDLE
        self._show(visible=False, phase=phase, ask_auto_check=False)

    def _verified(self, report: dict[str, Any]) -> None:
        repaired = [p for p in report.get("repaired", []) if p != "current"]
        version = report.get("version")
        if report.get("intact") and repaired:
            headline = f"Repaired {len(repaired)} damaged or missing files of version {version}."
            advice = "Restart the application to be sure the repaired files are used."
        elif report.get("intact"):
            headline = f"All files of version {version} match the publisher's release."
            advice = ""
        else:
            headline = f"Some files of version {version} could not be repaired."
            advice = "Reinstall the application, or roll back to a kept version."
        extra = len(report.get("extra", []))
        self._show(
            phase=Phase.IDLE,
            headline=headline,
            advice=advice,
            visible=True,
            detail=f"{extra} files not in the release were left alone." if extra else "",
            actions=(Action.DISMISS,),
        )

    def _work(
        self,
        call: Callable[[], Any],
        then: Callable[[Any], Any] | None = None,
        quiet: bool = False,
    ) -> None:
        """Run `call` on a worker thread; `then(result)` and failures come back on the GUI
        thread. A failure the updater reported is already an `error` event; others (the lock
        is held by another process, ...) become one here."""
        if not quiet:
            self._manual += 1

        def done(result: Any, error: BaseException | None) -> None:
            if not quiet:
                self._manual -= 1
            if error is not None and not quiet:
                kind = str(getattr(error, "kind", "") or ErrorKind.INTERNAL)
                if self.view.phase != Phase.ERROR:
                    self._on_event(Event(EventKind.ERROR, str(error), {"kind": kind}, False))
            elif error is None and then is not None:
                then(result)
            self.view = self._refresh(self.view)
            self._publish()

        def run() -> None:
            try:
                result, error = call(), None
            except Exception as problem:  # shown in the notice; never escapes the thread
                result, error = None, problem
            self._schedule(lambda: done(result, error))

        threading.Thread(target=run, name="update-ui-worker", daemon=True).start()

    def _restart(self) -> None:
        """Let the app save, then replace the process with the current version (GUI thread).
        While the app is busy (an order in flight), wait for it to be idle first."""
        if self.updater.is_busy:
            self._show(headline="Restarting as soon as the application is idle.", actions=())

            def wait() -> None:
                while self.updater.is_busy:
                    time.sleep(0.2)
                self._schedule(self._restart)

            threading.Thread(target=wait, name="update-ui-restart", daemon=True).start()
            return
        try:
            if self.before_restart is not None:
                self.before_restart()
            self.updater.restart()
        except Exception as error:  # restart reported an `error` event; keep running
            self._on_event(
                Event(
                    EventKind.ERROR,
                    str(error),
                    {"kind": str(getattr(error, "kind", ErrorKind.INSTALL))},
                    False,
                )
            )


def _field_message(key: str, errors: list[str]) -> str:
    """A settings error for one field, without the key name the dialog already shows."""
    mine = [e for e in errors if e.startswith(key)] or errors
    text = "; ".join(mine)
    for prefix in (f"{key}: ", f"{key} "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return f"{field_label(key)}: {text}" if text else field_label(key)
