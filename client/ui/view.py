"""The update UI's states as plain data: Phase, Action, MenuItem, View, and `next_view`.

Pure: `next_view(view, event, context)` turns one updater event into the next immutable `View`
from plain values, so every rule of what the notice says and offers is tested without a screen
or a server (tests/test_ui_view.py). The controller (client/ui/controller.py) gathers the
context and does the I/O; adapters only render a View. Words come from client.words.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from client.errors import ErrorKind
from client.events import Event, EventKind
from client.words import duration_text, error_words, size_text


class Phase(StrEnum):
    IDLE = "idle"
    CHECKING = "checking"
    UP_TO_DATE = "up_to_date"
    AVAILABLE = "available"
    DOWNLOADING = "downloading"
    READY = "ready"
    INSTALLING = "installing"
    RESTART_PENDING = "restart_pending"
    ROLLED_BACK = "rolled_back"
    WITHDRAWN = "withdrawn"
    ERROR = "error"


class Action(StrEnum):
    """The notice's buttons."""

    DOWNLOAD = "download"
    INSTALL = "install"
    RESTART = "restart"
    SKIP = "skip"
    LATER = "later"
    CANCEL = "cancel"
    RETRY = "retry"
    DISMISS = "dismiss"
    ENABLE_AUTO = "enable_auto"
    DISABLE_AUTO = "disable_auto"


ACTION_LABELS: dict[Action, str] = {
    Action.DOWNLOAD: "Download",
    Action.INSTALL: "Install and Restart",
    Action.RESTART: "Restart Now",
    Action.SKIP: "Skip This Version",
    Action.LATER: "Remind Me Later",
    Action.CANCEL: "Cancel",
    Action.RETRY: "Try Again",
    Action.DISMISS: "Close",
    Action.ENABLE_AUTO: "Check Automatically",
    Action.DISABLE_AUTO: "Don't Check",
}


class MenuItem(StrEnum):
    """The Update menu, in this order."""

    CHECK = "check"
    DOWNLOAD = "download"
    INSTALL = "install"
    ROLLBACK = "rollback"
    HISTORY = "history"
    SETTINGS = "settings"
    VERIFY = "verify"


MENU_LABELS: dict[MenuItem, str] = {
    MenuItem.CHECK: "Check for Updates...",
    MenuItem.DOWNLOAD: "Download Update",
    MenuItem.INSTALL: "Install and Restart",
    MenuItem.ROLLBACK: "Roll Back...",
    MenuItem.HISTORY: "Update History...",
    MenuItem.SETTINGS: "Update Settings...",
    MenuItem.VERIFY: "Verify and Repair...",
}


def menu_label(item: MenuItem, view: View) -> str:
    """MENU_LABELS[item]; the rollback item names the version it goes back to."""
    if item == MenuItem.ROLLBACK and view.previous_version:
        return f"Roll Back to {view.previous_version}..."
    return MENU_LABELS[item]


_BUSY_PHASES = {Phase.CHECKING, Phase.DOWNLOADING, Phase.INSTALLING}
# background failures that fix themselves (no network, a slow server): no notice for them
_QUIET_KINDS = {"unreachable", "slow", "http", "busy", "cancelled"}


class View:
    """Immutable snapshot of the update UI (see the module docstring and docs/gui.md)."""

    __slots__ = (
        "phase",
        "headline",
        "advice",
        "detail",
        "version",
        "running_version",
        "previous_version",
        "notes",
        "required",
        "withdrawn",
        "progress",
        "progress_text",
        "when",
        "actions",
        "menu",
        "visible",
        "notify",
        "ask_auto_check",
        "seq",
    )

    def __init__(self, **values: Any) -> None:
        defaults: dict[str, Any] = {
            "phase": Phase.IDLE,
            "headline": "",
            "advice": "",
            "detail": "",
            "version": None,
            "running_version": None,
            "previous_version": None,
            "notes": (),
            "required": False,
            "withdrawn": "",
            "progress": None,
            "progress_text": "",
            "when": "",
            "actions": (),
            "menu": frozenset(),
            "visible": False,
            "notify": False,
            "ask_auto_check": False,
            "seq": 0,
        }
        unknown = set(values) - set(defaults)
        if unknown:
            raise TypeError(f"unknown View fields: {', '.join(sorted(unknown))}")
        for name, default in defaults.items():
            object.__setattr__(self, name, values.get(name, default))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("View is immutable: use .but(...)")

    def but(self, **changes: Any) -> View:
        """A copy with `changes`; `notify` is news once (False unless given), seq + 1."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values["notify"] = False
        values.update(changes)
        values["seq"] = self.seq + 1
        return View(**values)

    def __repr__(self) -> str:
        return f"View({self.phase.value!r}, {self.headline!r}, visible={self.visible})"


class Context:
    """What `next_view` needs besides the event: plain values the controller gathers."""

    def __init__(
        self,
        *,
        manual: bool = False,  # a user action is in progress: show what happens
        reminded_version: str | None = None,  # "Remind Me Later" holds for this version
        when: str = "",  # client.timing message: when an automatic install/restart happens
        next_check: str = "",  # "at 14:05": the updater's next try, for error advice
        auto_install: bool = False,
        speed: float | None = None,  # download bytes/s measured by the controller
    ) -> None:
        self.manual, self.reminded_version = manual, reminded_version
        self.when, self.next_check = when, next_check
        self.auto_install, self.speed = auto_install, speed


def progress_text(done: int, total: int, speed: float | None) -> str:
    """12.3 MB of 45.6 MB, 3.1 MB/s, about 10 s left."""
    parts = [f"{size_text(done)} of {size_text(total)}"]
    if speed and speed > 0:
        parts.append(f"{size_text(int(speed))}/s")
        if total > done:
            parts.append(f"{duration_text((total - done) / speed)} left")
    return ", ".join(parts)


def _notes(data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    notes = data.get("release_notes")
    if isinstance(notes, list) and notes:
        return tuple((str(n.get("version")), str(n.get("notes") or "")) for n in notes)
    return ((str(data.get("version")), str(data.get("notes") or "")),)


def next_view(view: View, event: Event, ctx: Context) -> View:
    """The view after one updater event. Pure.

    Background events that bring nothing new never hide what the notice shows (the
    second-launch question, a rollback notice, a verify result); news replaces the question,
    which is then asked at a later launch."""
    after = _after_event(view, event, ctx)
    if view.ask_auto_check and after is not view:
        if not after.visible:
            return view  # quiet news (a background error, a reminded version): keep asking
        return after.but(ask_auto_check=False, notify=after.notify)
    return after


def _after_event(view: View, event: Event, ctx: Context) -> View:
    kind, data = event.kind, event.data
    news = bool(event.notify) and not ctx.manual  # worth an OS notification
    if kind == EventKind.UPDATE_AVAILABLE:
        version = data.get("version")
        size = size_text(int(data.get("download_bytes") or 0))
        how = {"patch": "a patch", "kept": "already on this computer"}.get(
            str(data.get("method")), "the full download"
        )
        if data.get("withdrawn"):
            headline = (
                f"Version {data.get('from_version')} was withdrawn by the publisher; "
                f"version {version} replaces it."
            )
        else:
            headline = f"Version {version} is available (you have {data.get('from_version')})."
        required = bool(data.get("required"))
        advice = f"Download {size} ({how})."
        if required:
            advice = "The publisher marked this update as required. " + advice
        if ctx.auto_install:
            advice += " It downloads and installs by itself."
        actions = (Action.DOWNLOAD,) if required else (Action.DOWNLOAD, Action.SKIP, Action.LATER)
        visible = ctx.manual or required or ctx.reminded_version != version
        return view.but(
            phase=Phase.AVAILABLE,
            headline=headline,
            advice=advice,
            detail=event.message,
            version=version,
            notes=_notes(data),
            required=required,
            withdrawn=str(data.get("withdrawn") or ""),
            progress=None,
            progress_text="",
            when="",
            actions=actions,
            visible=visible,
            notify=news and visible,
        )
    if kind == EventKind.DOWNLOAD_PROGRESS:
        done, total = int(data.get("done") or 0), int(data.get("total") or 0) or 1
        return view.but(
            phase=Phase.DOWNLOADING,
            headline=f"Downloading version {view.version or ''}".strip(),
            advice="You can keep working; the update is verified before it is used.",
            progress=min(done / total, 1.0),
            progress_text=progress_text(done, total, ctx.speed),
            actions=(Action.CANCEL,),
            visible=view.visible or ctx.manual,
        )
    if kind == EventKind.DOWNLOADED:
        version = data.get("version")
        kept = data.get("method") == "kept"
        advice = (
            "It is already on this computer: switching back takes a moment."
            if kept
            else "It was downloaded and checked against the publisher's signature."
        )
        visible = ctx.manual or ctx.reminded_version != version
        return view.but(
            phase=Phase.READY,
            headline=f"Version {version} is ready to install.",
            advice=advice,
            version=version,
            notes=_notes(data) if data.get("notes") else view.notes,
            progress=None,
            progress_text="",
            when=ctx.when if ctx.auto_install else "",
            actions=(Action.INSTALL, Action.LATER),
            visible=visible,
            notify=news and visible,
        )
    if kind == EventKind.INSTALLED:
        version = data.get("version", view.version)
        return view.but(
            phase=Phase.RESTART_PENDING,
            headline=f"Version {version} is installed.",
            advice="Restart the application to use it; this version keeps running until then.",
            version=version,
            progress=None,
            progress_text="",
            when=ctx.when,
            actions=(Action.RESTART, Action.DISMISS),
            visible=True,
            notify=news,
        )
    if kind == EventKind.ROLLED_BACK:
        version = data.get("version")
        needs_restart = bool(data.get("restart_required", True))
        return view.but(
            phase=Phase.ROLLED_BACK,
            headline=f"Rolled back from version {data.get('from_version')} to {version}.",
            advice="Restart the application to use it." if needs_restart else "",
            detail=str(data.get("reason") or event.message),
            version=version,
            progress=None,
            progress_text="",
            when="",
            actions=(Action.RESTART, Action.DISMISS) if needs_restart else (Action.DISMISS,),
            visible=True,
            notify=news,
        )
    if kind == EventKind.ERROR:
        error_kind = str(data.get("kind") or ErrorKind.INTERNAL)
        headline, advice = error_words(error_kind, event.message)
        if ctx.next_check and error_kind in _QUIET_KINDS:
            advice = f"{advice} Next automatic check {ctx.next_check}."
        shown = view.visible and not view.ask_auto_check  # e.g. a download being watched
        visible = ctx.manual or error_kind not in _QUIET_KINDS or shown
        actions = (Action.DISMISS,) if error_kind == "cancelled" else (Action.RETRY, Action.DISMISS)
        return view.but(
            phase=Phase.ERROR,
            headline=headline,
            advice=advice,
            detail=str(data.get("detail") or event.message),
            progress=None,
            progress_text="",
            actions=actions,
            visible=visible,
            notify=news and visible,
        )
    if kind == EventKind.NO_UPDATE:
        withdrawn = str(data.get("withdrawn") or "")
        if withdrawn:  # nowhere to move to: say so, every time
            return view.but(
                phase=Phase.WITHDRAWN,
                headline=f"The publisher withdrew version {view.running_version}.",
                advice="No replacement is available yet; the updater keeps checking."
                + (" You can roll back to an earlier version." if view.previous_version else ""),
                detail=withdrawn,
                withdrawn=withdrawn,
                actions=(Action.DISMISS,),
                visible=True,
                notify=news,
            )
        if not ctx.manual and view.phase != Phase.ERROR:
            return view  # a background re-check hides nothing the notice shows (but old errors)
        return view.but(
            phase=Phase.UP_TO_DATE,
            headline=f"Version {view.running_version} is up to date.",
            advice=f"Next automatic check {ctx.next_check}." if ctx.next_check else "",
            detail=event.message,
            version=None,
            notes=(),
            actions=(Action.DISMISS,),
            visible=ctx.manual,
            withdrawn="",
        )
    return view  # checked, health_confirmed: nothing new to show


def menu_for(view: View, rollback_enabled: bool) -> frozenset[MenuItem]:
    """The menu items enabled in `view`."""
    items = {MenuItem.HISTORY, MenuItem.SETTINGS}
    if view.phase not in _BUSY_PHASES:
        items |= {MenuItem.CHECK, MenuItem.VERIFY}
        if view.phase == Phase.AVAILABLE:
            items |= {MenuItem.DOWNLOAD, MenuItem.INSTALL}
        if view.phase == Phase.READY:
            items.add(MenuItem.INSTALL)
        if rollback_enabled and view.previous_version:
            items.add(MenuItem.ROLLBACK)
    return frozenset(items)
