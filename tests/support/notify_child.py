"""Drives one OsNotifier in its own process and prints what happened as one JSON line.

    python notify_child.py '{"shows": [["worker", "Title", "Body"], ...], ...}'

Keys of the scenario: "shows" (thread "main" or "worker", title, body), "icon" (a path or
null), "shows_first" (call available() after the shows, not before), "probe_again" (and once
more at the end; the report's "available" is True if either call said so), "block_package"
(make `import desktop_notifier` fail, as when the `notify` extra is not installed).
The report: "available", "available_seconds", "show_seconds" (the longest show call),
"close_seconds", "errors" (anything show or close raised, also when used after close: must
stay empty),
"threads_after_close", "log" (the client.ui.notify log lines), "modules" (loaded at the end).
Run by tests/test_os_notifications.py with a timeout; it never waits for a notification to
appear (the test asks the daemon).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname}: {record.getMessage()}")


def main() -> None:
    scenario = json.loads(sys.argv[1])
    if scenario.get("block_package"):
        sys.modules["desktop_notifier"] = None  # type: ignore[assignment]  # import fails
    lines = Lines()
    logger = logging.getLogger("client.ui.notify")
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)

    from client.ui.notify import OsNotifier

    icon = scenario.get("icon")
    notifier = OsNotifier("Trading Bot", icon=Path(icon) if icon else None)
    errors: list[str] = []
    show_seconds = 0.0

    def show(title: str, body: str) -> None:
        nonlocal show_seconds
        started = time.monotonic()
        try:
            notifier.show(title, body)
        except BaseException as error:  # the contract: show never raises
            errors.append(repr(error))
        show_seconds = max(show_seconds, time.monotonic() - started)

    def probe() -> tuple[bool, float]:
        started = time.monotonic()
        return notifier.available(), time.monotonic() - started

    if not scenario.get("shows_first"):
        available, available_seconds = probe()
    for thread, title, body in scenario["shows"]:
        if thread == "main":
            show(title, body)
        else:
            worker = threading.Thread(target=show, args=(title, body), name="app-worker")
            worker.start()
            worker.join(10)
    if scenario.get("shows_first"):
        available, available_seconds = probe()
    if scenario.get("probe_again"):
        again, _ = probe()
        available = available or again
    started = time.monotonic()
    try:
        notifier.close()
    except BaseException as error:
        errors.append(repr(error))
    close_seconds = time.monotonic() - started
    try:  # after close: show does nothing, available is False, close again is a no-op
        notifier.show("After close", "nothing")
        if notifier.available():
            errors.append("available() after close()")
        notifier.close()
    except BaseException as error:
        errors.append(repr(error))
    print(
        json.dumps(
            {
                "available": available,
                "available_seconds": available_seconds,
                "show_seconds": show_seconds,
                "close_seconds": close_seconds,
                "errors": errors,
                "threads_after_close": [t.name for t in threading.enumerate()],
                "log": lines.lines,
                "modules": sorted(sys.modules),
            }
        )
    )


if __name__ == "__main__":
    main()
