"""The background schedule: a daemon thread that checks (and downloads, installs) when due.

The next check time is remembered across restarts (state.json's last check plus the interval
and a per-install jitter, see `planning.next_check_time`); `check_soon()` wakes the thread for a
check now; a settings change wakes it to re-evaluate. Work held for idle or the install window
(client.automatic) runs on the same thread when its time comes. A second, tiny thread watches a
new version's start: alive `healthy_after_seconds`, it is a good start (client.health). Neither
lets an exception escape into the host application: failures are already `error` events and
history lines.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from client.errors import BusyError, UpdateError
from client.planning import next_check_time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from client.frame import Core


class Schedule:
    """The updater's background thread and its wake-ups."""

    def __init__(
        self,
        core: Core,
        cycle: Callable[[], Any],
        held_wait: Callable[[], float | None] = lambda: None,
        run_held: Callable[[], Any] = lambda: None,
    ) -> None:
        self._core = core
        self._cycle = cycle  # one background round: check, and per settings download/install
        self._held_wait = held_wait  # seconds until held work may go on (0: now), None: none
        self._run_held = run_held
        self._health_stop: threading.Event | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._force = False
        # seconds between start() and the first background work: the app finishes starting first
        self.startup_delay = 2.0 + (os.getpid() % 300) / 100  # spread without importing random

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, on_disabled: Callable[[], None]) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(on_disabled,), name="updater", daemon=True
        )
        self._thread.start()

    def watch_health(self, seconds: float, confirm: Callable[[], Any]) -> None:
        """Call `confirm()` once this process has lived `seconds` (unless stopped first)."""
        stop = self._health_stop = threading.Event()

        def watch() -> None:
            if stop.wait(seconds):
                return
            try:
                confirm()
            except BusyError:  # another updater holds the lock: try once more a little later
                if not stop.wait(10.0):
                    self._quietly(confirm)
            except UpdateError:
                pass  # already an `error` event and a history line
            except Exception:
                _log().exception("health confirmation failed")

        threading.Thread(target=watch, name="updater-health", daemon=True).start()

    @staticmethod
    def _quietly(action: Callable[[], Any]) -> None:
        try:
            action()
        except UpdateError:
            pass  # already an `error` event and a history line
        except Exception:
            _log().exception("background updater work failed")

    def stop(self, timeout: float = 5.0) -> None:
        if self._health_stop is not None:
            self._health_stop.set()
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def check_soon(self) -> None:
        self._force = True
        self._wake.set()

    def wake(self) -> None:
        """Re-evaluate now (a setting such as the interval changed)."""
        self._wake.set()

    def _wait_seconds(self) -> float:
        core = self._core
        if self._force:
            return 0.0
        if not core.settings.auto_check:
            return 3600.0
        state = core.layout.read_state()
        due = next_check_time(
            state.last_check,
            core.settings.check_interval_hours,
            state.check_jitter_seconds,
            time.time(),
        )
        return max(0.0, due - time.time())

    def _run(self, on_disabled: Callable[[], None]) -> None:
        try:
            if self._core.settings_error is not None:
                on_disabled()
                return
            # let the application finish starting before any heavy import or network use
            if self._stop.wait(self.startup_delay):
                return
            while not self._stop.is_set():
                held = self._held_wait()
                if held is not None and held <= 0 and not self._force:
                    self._held()
                    continue
                wait = self._wait_seconds()
                if held is not None:
                    wait = min(wait, held)
                if wait > 0:
                    self._wake.wait(min(wait, 3600.0))
                    self._wake.clear()
                    continue  # re-evaluate: woken early, settings changed, or time is up
                self._force = False
                try:
                    self._cycle()
                except BusyError:
                    _log().info("another updater holds the install root: will try next time")
                except UpdateError:
                    pass  # already reported as an `error` event and in history
        except Exception:  # never let the thread die loudly inside the host application
            _log().exception("update thread stopped")

    def _held(self) -> None:
        try:
            self._run_held()
        except BusyError:
            _log().info("another updater holds the install root: held work waits")
            self._stop.wait(10.0)
        except UpdateError:
            pass  # already reported as an `error` event and in history


def _log() -> Any:
    import logging  # lazily: ~10 ms the application should not pay at start-up

    return logging.getLogger(__name__)
