"""Operating-system notifications for the update UI: `OsNotifier` delivers one title and body.

Its one job is delivery; which news deserves a notification, and when (the window not in front,
the `notifications` setting on), is the controller's decision (`View.notify`), and the Tk and
Qt adapters call `show`.

Rules:
- Optional. It is built on desktop-notifier, the `notify` extra
  (`pip install 'secure-updater[notify]'`): D-Bus (org.freedesktop.Notifications) on Linux,
  the Notification Center on macOS (from an app bundle), WinRT toasts on Windows. Without the
  package, or without a notification service (no D-Bus session bus, no daemon on it),
  `available()` is False and `show()` does nothing; the application window stays the place
  where updates are shown.
- Cheap to import: small standard-library modules only (threading, time, pathlib, contextlib).
  desktop-notifier, asyncio and logging are imported inside functions, on first use, never at
  client start-up.
- `show()` never blocks and never raises, from any thread: it hands the notification to the
  notifier's own daemon thread (one asyncio loop, started on first use), which delivers it
  within DELIVERY_TIMEOUT seconds. A failure is logged once per notifier, not per notification.
- After a failed attempt to reach the service, notifications are dropped for RETRY_AFTER
  seconds, then the service is asked again (a daemon started later is found).
- `available()` asks the service and waits for its answer (at most `timeout` seconds), so
  a GUI thread had better not call it: `show()` needs no `available()` first. `close()`
  delivers what is queued (at most CLOSE_TIMEOUT seconds) and stops the thread; a notifier
  never closed is no harm (its thread is a daemon thread).
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

EXTRA_HINT = "pip install 'secure-updater[notify]'"
PROBE_TIMEOUT = 2.0  # seconds: available() and the first contact with the service
DELIVERY_TIMEOUT = 5.0  # seconds: one notification, service contact included
CLOSE_TIMEOUT = 3.0  # seconds: close() waits this long for queued notifications
RETRY_AFTER = 30.0  # seconds: after a failure, notifications are dropped this long


class OsNotifier:
    """Shows update news as operating-system notifications; see the module docstring."""

    def __init__(self, app_name: str, icon: Path | None = None) -> None:
        self.app_name = app_name
        self.icon = icon
        self._lock = threading.Lock()
        self._loop: Any = None  # asyncio.AbstractEventLoop, on self._thread
        self._thread: threading.Thread | None = None
        self._pending: set[Any] = set()  # concurrent.futures.Future of queued deliveries
        self._closed = False
        self._complained = False
        # on the loop thread only:
        self._notifier: Any = None  # desktop_notifier.DesktopNotifier, once the service answered
        self._failed_at: float | None = None
        self._connecting: Any = None  # asyncio.Lock: one attempt to reach the service at a time

    def available(self, timeout: float = PROBE_TIMEOUT) -> bool:
        """Whether a notification service answers now (waits at most `timeout` seconds)."""
        loop = self._ensure_loop()
        if loop is None:
            return False
        import asyncio

        probe = self._connect(retry_now=True, timeout=timeout)
        future = asyncio.run_coroutine_threadsafe(probe, loop)
        try:
            return bool(future.result(timeout + 1.0))  # the probe itself gives up after timeout
        except Exception:  # the timeout, or the loop stopped by close()
            future.cancel()
            return False

    def show(self, title: str, body: str) -> None:
        """Queue one notification and return at once; never raises (failures are logged once)."""
        try:
            loop = self._ensure_loop()
            if loop is None:
                return
            import asyncio

            future = asyncio.run_coroutine_threadsafe(self._deliver(title, body), loop)
            with self._lock:
                self._pending.add(future)
            future.add_done_callback(self._forget)
        except Exception as error:  # e.g. close() stopped the loop meanwhile
            self._complain("could not queue the notification: %s", error)

    def close(self) -> None:
        """Deliver what is queued (at most CLOSE_TIMEOUT seconds), then stop the thread.

        Afterwards `show()` does nothing and `available()` is False; closing again is a no-op.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread, pending = self._loop, self._thread, set(self._pending)
        if loop is None or thread is None:
            return
        import asyncio
        import concurrent.futures

        if pending:
            concurrent.futures.wait(pending, timeout=CLOSE_TIMEOUT)
        with contextlib.suppress(Exception):  # else the connection goes with the thread
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(1.0)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=2.0)

    # -- the caller's side ------------------------------------------------------------------

    def _ensure_loop(self) -> Any:
        """The loop of the notifier's thread, started on first use; None = nothing to deliver."""
        with self._lock:
            if self._closed:
                return None
            if self._loop is not None:
                return self._loop
        import importlib.util

        if importlib.util.find_spec("desktop_notifier") is None:
            self._complain(
                "OS notifications are off: the desktop-notifier package is not installed "
                "(%s); updates are shown in the application window only.",
                EXTRA_HINT,
                level="info",
            )
            return None
        import asyncio

        with self._lock:
            if self._closed:
                return None
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=_run_loop, args=(loop,), name="os-notifier", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _forget(self, future: Any) -> None:
        with self._lock:
            self._pending.discard(future)

    def _complain(self, message: str, *args: object, level: str = "warning") -> None:
        """Log the first failure of this notifier; later ones are dropped silently."""
        with self._lock:
            if self._complained:
                return
            self._complained = True
        import logging  # lazily: ~10 ms the application should not pay at start-up

        getattr(logging.getLogger(__name__), level)(message, *args)

    # -- the notifier's thread --------------------------------------------------------------

    async def _connect(self, retry_now: bool = False, timeout: float = PROBE_TIMEOUT) -> bool:
        """Reach the notification service once; afterwards reuse the connection.

        One attempt at a time: callers arriving meanwhile take its answer. After a failure,
        no new attempt for RETRY_AFTER seconds unless `retry_now` (available() asks anew).
        """
        import asyncio

        asked = time.monotonic()
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._notifier is not None:
                return True
            if self._failed_at is not None and (
                self._failed_at >= asked  # an attempt under way when asked has just failed
                or (not retry_now and time.monotonic() - self._failed_at < RETRY_AFTER)
            ):
                return False
            notifier: Any = None
            connected = False
            try:
                from desktop_notifier import DesktopNotifier, Icon

                icon = Icon(path=self.icon) if self.icon is not None else None
                notifier = DesktopNotifier(app_name=self.app_name, app_icon=icon)
                capabilities = await asyncio.wait_for(notifier.get_capabilities(), timeout)
                # desktop-notifier's fallback on systems it cannot serve has no capabilities
                if not capabilities or not await notifier.has_authorisation():
                    raise RuntimeError("this system offers no notification service")
                self._notifier, self._failed_at, connected = notifier, None, True
                return True
            except Exception as error:
                reason = str(error) or f"no answer within {timeout:g} s"
                self._complain(
                    "OS notifications are off: no notification service answered (%s: %s)%s; "
                    "updates are shown in the application window only.",
                    type(error).__name__,
                    reason,
                    _where(),
                )
                return False
            finally:
                if not connected:  # failed, or cancelled by close()
                    _disconnect(notifier)
                    self._failed_at = time.monotonic()

    async def _deliver(self, title: str, body: str) -> None:
        import asyncio

        try:
            await asyncio.wait_for(self._send(title, body), DELIVERY_TIMEOUT)
        except Exception as error:  # the timeout: the service stopped answering
            self._drop_connection()
            reason = str(error) or f"no answer within {DELIVERY_TIMEOUT:g} s"
            self._complain("an OS notification was not delivered: %s", reason)

    async def _send(self, title: str, body: str) -> None:
        if not await self._connect():
            return
        dispatched: list[bool] = []
        await self._notifier.send(
            title=title, message=body, on_dispatched=lambda: dispatched.append(True)
        )
        if not dispatched:  # desktop-notifier logged the reason and swallowed it
            self._drop_connection()
            self._complain("an OS notification was not delivered (see the warning above)")

    def _drop_connection(self) -> None:
        notifier, self._notifier = self._notifier, None
        self._failed_at = time.monotonic()
        _disconnect(notifier)

    async def _shutdown(self) -> None:
        """Cancel what is still queued (close() waited for it already) and disconnect."""
        import asyncio

        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        notifier, self._notifier = self._notifier, None
        _disconnect(notifier)


def _where() -> str:
    """Where a notification service was looked for, for the log line."""
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return ""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS") or "not set"
    return (
        " on the D-Bus session bus (DBUS_SESSION_BUS_ADDRESS: "
        f"{address}); a notification daemon must run there"
    )


def _run_loop(loop: Any) -> None:
    try:
        loop.run_forever()
    finally:
        loop.close()


def _disconnect(notifier: Any) -> None:
    """Close the D-Bus connection desktop-notifier keeps (if any), so none is left open.

    desktop-notifier has no public close; its Linux backend keeps the connection as `bus`.
    """
    bus = getattr(getattr(notifier, "_backend", None), "bus", None)
    if bus is not None:
        with contextlib.suppress(Exception):
            bus.disconnect()
