"""Never at a bad moment: busy/idle, and automatic installs and restarts held until allowed.

The application says when it is busy (`set_busy(True, reason)` / `set_busy(False)`, or the
`busy()` context manager; nesting counts: busy until every busy is matched by an idle).
An automatic install (the background cycle with `auto_install`) happens only when the
application is idle and inside `install_window`; otherwise it is *held* and done by the
background thread as soon as both hold (idle wakes it; the window's opening time is known).
After an automatic install, with `auto_restart` and a restart handler registered
(`on_restart_request`), the handler is called on the updater's thread under the same two
conditions. Manual operations (`install()`, `restart()`) are never held: the application
asked for them. Standard library only: created by every Updater at start-up.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from client.timing import InstallTiming, Reason, install_timing

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from client.frame import Core

_BUSY_RECHECK_SECONDS = 3600.0  # held for idle: `set_busy(False)` wakes the thread sooner


class Automatic:
    """Busy/idle state and the automatic install/restart held for idle and the window."""

    def __init__(self, core: Core, wake: Callable[[], None]) -> None:
        self._core = core
        self._wake = wake  # wakes the background thread (the schedule)
        self._lock = threading.Lock()
        self._reasons: list[str] = []
        self._restart_handler: Callable[[], None] | None = None
        self.install_held = False  # an automatic install waits for idle / the window
        self.restart_held = False  # an automatic restart waits for idle / the window

    # -- busy / idle -----------------------------------------------------------------------

    def set_busy(self, busy: bool, reason: str = "") -> None:
        with self._lock:
            if busy:
                self._reasons.append(reason)
            elif self._reasons:
                if reason in self._reasons:
                    index = len(self._reasons) - 1 - self._reasons[::-1].index(reason)
                    del self._reasons[index]
                else:
                    self._reasons.pop()
            idle = not self._reasons
        if idle and not busy:
            self._wake()  # held work may go on now

    @contextlib.contextmanager
    def busy(self, reason: str = "") -> Iterator[None]:
        self.set_busy(True, reason)
        try:
            yield
        finally:
            self.set_busy(False, reason)

    @property
    def is_busy(self) -> bool:
        return bool(self._reasons)

    @property
    def reasons(self) -> list[str]:
        with self._lock:
            return list(self._reasons)

    # -- timing ----------------------------------------------------------------------------

    def timing(self, now: float | None = None) -> InstallTiming:
        now = time.time() if now is None else now
        return install_timing(self.is_busy, self._core.settings.install_window, now)

    def held_wait(self) -> float | None:
        """Seconds until held work may go on (0: now), or None when nothing is held."""
        if not (self.install_held or self.restart_held):
            return None
        timing = self.timing()
        if timing.allowed:
            return 0.0
        if timing.reason == Reason.WINDOW and timing.next_time is not None:
            return max(0.0, timing.next_time - time.time())
        return _BUSY_RECHECK_SECONDS

    # -- automatic install and restart -----------------------------------------------------

    def on_restart_request(self, handler: Callable[[], None]) -> None:
        self._restart_handler = handler

    def install(self, install: Callable[[], str | None]) -> None:
        """The background cycle's automatic install: now if allowed, else held."""
        self.install_held = not self.timing().allowed
        if self.install_held:
            _log().info("automatic install held: %s", self.timing().message)
            return
        self.restart_held = False
        installed = install()  # an UpdateError is already an event; not retried until next cycle
        if installed and self._core.settings.auto_restart and self._restart_handler:
            self.restart_held = True
            self.run_held(install)

    def run_held(self, install: Callable[[], str | None]) -> None:
        """Do the held work whose time has come (called by the background thread)."""
        if not self.timing().allowed:
            return
        if self.install_held:
            self.install_held = False
            self.install(install)
            return
        if self.restart_held:
            self.restart_held = False
            handler = self._restart_handler
            if handler is not None and self._core.settings.auto_restart:
                try:
                    handler()
                except Exception:  # the application's handler must not stop the updater
                    _log().exception("the restart handler failed")


def _log() -> Any:
    import logging  # lazily: only when something is held or fails

    return logging.getLogger(__name__)
