"""What the updater tells the application: event kinds, events, and the results operations return.

Fixed value sets are `StrEnum`s whose values are the JSON strings written to history and sent in
events, so `kind == "installed"` keeps working for every caller. `Emitter` delivers events to
the application's callbacks (never letting a broken callback break updating), throttles
download progress and stops a download the user cancelled at its next progress step (a
download runs inside `Emitter.cancellable()`; `Emitter.cancel()` may be called from any
thread). Standard library only: this module is on the application's start-up path
(no dataclasses import either; the value types are small plain classes).
"""

from __future__ import annotations

import contextlib
import threading
import time
from enum import StrEnum

from client.errors import cancelled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any


class EventKind(StrEnum):
    CHECKED = "checked"
    UPDATE_AVAILABLE = "update_available"
    NO_UPDATE = "no_update"
    DOWNLOAD_PROGRESS = "download_progress"
    DOWNLOADED = "downloaded"
    INSTALLED = "installed"
    ROLLED_BACK = "rolled_back"
    HEALTH_CONFIRMED = "health_confirmed"
    ERROR = "error"


EVENT_KINDS = tuple(kind.value for kind in EventKind)


class Method(StrEnum):
    """How an update reaches this machine."""

    PATCH = "patch"  # a delta from the installed version (format 1: a chain of tar patches)
    FULL = "full"  # the whole archive
    KEPT = "kept"  # already on disk (a switch back after a withdrawal): no download


class Event:
    """What happened: `kind` (an EventKind), a message for people, details in `data`."""

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


class _Value:
    """A small immutable-by-convention record with named FIELDS (no dataclasses at start-up)."""

    FIELDS: tuple[str, ...] = ()

    def __init__(self, **values: Any) -> None:
        for name in self.FIELDS:
            setattr(self, name, values[name])

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


class UpdateInfo(_Value):
    """An update this client can install, and how it would be downloaded."""

    FIELDS = (
        "from_version",
        "version",
        "channel",
        "notes",
        "required",
        "published",
        "method",  # a Method
        "download_bytes",  # bytes this client would download (patch chain or archive)
        "full_bytes",
        "withdrawn",  # why the publisher withdrew the running version ("" if it did not)
        # [{"version", "notes", "published"}], newest first: every release visible on the
        # channel after the running version up to this one (withdrawn ones left out); its
        # first entry is always this version (`notes` repeats its notes)
        "release_notes",
    )


class CheckResult(_Value):
    """What a check found: `update` (an UpdateInfo) or None with `message` saying why."""

    FIELDS = (
        "update",  # UpdateInfo | None
        "current_version",
        "message",  # for people: "... is available", "... is up to date", or the withdrawal
        "withdrawn",  # why the running version was withdrawn ("" if it was not)
        "requests",
        "bytes",
    )


class DownloadResult(_Value):
    """What a download produced: `update` ready to install (None: nothing to download)."""

    FIELDS = (
        "update",
        "current_version",
        "message",
        "withdrawn",
        "method",
        "bytes",
        "patch_fallback",
    )


class InstallResult(_Value):
    """What an install (or update) did: `version` now current, or None with `message`."""

    FIELDS = (
        "version",  # str | None: the version `current` now points at, if this changed it
        "from_version",
        "method",  # a Method, or None when nothing was installed
        "message",
        "removed_versions",
        "restart_required",
        "withdrawn",  # why the version this started from was withdrawn ("" if it was not)
        "warnings",  # what failed after the install was done (old versions not removed, ...)
    )


class Emitter:
    """Delivers events to registered callbacks on the caller's thread."""

    def __init__(self, notify: Callable[[], bool]) -> None:
        self._callbacks: list[Callable[[Event], None]] = []
        self._notify = notify  # reads the `notifications` setting at each event
        self._guard = threading.Lock()
        self._downloads = 0  # cancellable downloads running now
        self._cancel = threading.Event()

    @contextlib.contextmanager
    def cancellable(self) -> Iterator[None]:
        """A download a `cancel()` stops: inside, every progress step checks for it."""
        with self._guard:
            if not self._downloads:
                self._cancel.clear()  # a cancel before this download began is not for it
            self._downloads += 1
        try:
            yield
        finally:
            with self._guard:
                self._downloads -= 1
                if not self._downloads:
                    self._cancel.clear()

    def cancel(self) -> bool:
        """Stop the download in progress at its next progress step (any thread). Returns
        whether one was in progress; with none, nothing happens (no later download stops)."""
        with self._guard:
            if self._downloads:
                self._cancel.set()
            return bool(self._downloads)

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        self._callbacks.append(callback)

    def emit(self, event_kind: EventKind, message: str, /, **data: Any) -> None:
        event = Event(event_kind, message, data, self._notify())
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception:  # a broken handler must not break updating (or the app)
                import logging  # lazily: ~10 ms the application should not pay at start-up

                logging.getLogger(__name__).exception(
                    "update event handler failed for %s", event_kind
                )

    def progress(self) -> Callable[[str, int, int], None]:
        """A download progress callback sending at most ~10 events a second (and the last).

        Inside `cancellable()`, a step after `cancel()` raises UpdateError(CANCELLED): the
        transport keeps the partial file, so the next download resumes it. The last step
        (done == total) never does: those bytes are all there, verifying them is cheaper than
        fetching them again."""
        last = {"t": 0.0}

        def report(name: str, done: int, total: int) -> None:
            if done < total and self._cancel.is_set():
                raise cancelled(name, done, total)
            now = time.monotonic()
            if done >= total or now - last["t"] >= 0.1:
                last["t"] = now
                self.emit(
                    EventKind.DOWNLOAD_PROGRESS,
                    f"downloading {name}",
                    name=name,
                    done=done,
                    total=total,
                )

        return report
