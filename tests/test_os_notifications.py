"""OsNotifier (client/ui/notify.py) against a real notification daemon on a real D-Bus bus.

Each test gets its own desktop (tests/support/notify_session.py): Xvfb, a private session bus
and dunst, started here and stopped at the end, and drives the notifier in a child process
(tests/support/notify_child.py) with a timeout. What the daemon received is read from dunst's
own history (`dunstctl history`). Without Xvfb, dbus-daemon or dunst the tests skip on a
developer machine and fail in CI.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from client.ui.notify import CLOSE_TIMEOUT, PROBE_TIMEOUT
from tests.support.notify_session import Desktop

ROOT = Path(__file__).resolve().parent.parent
CHILD = ROOT / "tests/support/notify_child.py"
INSTANT = 0.5  # seconds: "does not block" (a blocking show waits for D-Bus round trips)


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[Desktop]:
    session = Desktop(tmp_path)
    try:
        yield session
    finally:
        session.close()


def run_child(env: dict[str, str], **scenario: Any) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(CHILD), json.dumps({"shows": [], **scenario})],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout.splitlines()[-1])


def small_png(path: Path) -> Path:
    """A 2x2 red PNG, written without any imaging library."""
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    path.write_bytes(png + chunk(b"IEND", b""))
    return path


def test_notifications_from_any_thread_reach_the_daemon(desktop: Desktop, tmp_path: Path) -> None:
    desktop.start_display()
    desktop.start_bus()
    desktop.start_dunst()
    icon = small_png(tmp_path / "bot.png")

    report = run_child(
        desktop.env,
        icon=str(icon),
        shows=[
            ["worker", "Update available", "Version 1.3.0 is ready to download."],
            ["main", "Update installed", "Restart Trading Bot to use version 1.3.0."],
        ],
    )

    assert report["available"] is True
    assert report["errors"] == []
    assert report["show_seconds"] < INSTANT, report
    assert report["threads_after_close"] == ["MainThread"]  # close() stopped its thread
    assert report["log"] == []
    received = [
        (entry["appname"], entry["summary"], entry["body"], entry["icon_path"])
        for entry in desktop.dunst_history()
    ]
    assert sorted(received) == [
        ("Trading Bot", "Update available", "Version 1.3.0 is ready to download.", str(icon)),
        ("Trading Bot", "Update installed", "Restart Trading Bot to use version 1.3.0.", str(icon)),
    ]


@pytest.mark.parametrize("bus", ["a bus without a daemon", "no bus at all"])
def test_without_a_notification_service_nothing_raises_or_blocks(
    desktop: Desktop, tmp_path: Path, bus: str
) -> None:
    if bus == "no bus at all":
        desktop.env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path / 'no-bus'}"
    else:
        desktop.start_bus()

    report = run_child(
        desktop.env,
        probe_again=True,  # a second attempt to reach the service, failing again
        shows=[
            ["main", "Update available", "Version 1.3.0 is ready to download."],
            ["worker", "Update available", "Version 1.3.0 is ready to download."],
            ["worker", "Update installed", "Restart to use version 1.3.0."],
        ],
    )

    assert report["available"] is False
    assert report["available_seconds"] < PROBE_TIMEOUT + 1
    assert report["errors"] == []
    assert report["show_seconds"] < INSTANT, report
    assert report["close_seconds"] < 2, report
    assert report["threads_after_close"] == ["MainThread"]
    [line] = report["log"]  # once, however many attempts and notifications failed
    assert line.startswith("WARNING: OS notifications are off: no notification service answered")
    assert "application window" in line


def test_a_daemon_that_hangs_blocks_no_caller(desktop: Desktop) -> None:
    desktop.start_display()
    desktop.start_bus()
    desktop.start_dunst()
    desktop.freeze_dunst()  # it owns org.freedesktop.Notifications but never answers

    report = run_child(
        desktop.env,
        shows_first=True,
        shows=[
            ["worker", "Update available", "Version 1.3.0 is ready to download."],
            ["main", "Update available", "Version 1.3.0 is ready to download."],
        ],
    )

    assert report["errors"] == []
    assert report["show_seconds"] < INSTANT, report  # while the delivery waits for dunst
    assert report["available"] is False
    assert report["available_seconds"] < PROBE_TIMEOUT + 0.5, report  # the attempt under way
    assert report["close_seconds"] < CLOSE_TIMEOUT, report
    assert report["threads_after_close"] == ["MainThread"]
    [line] = report["log"]
    assert "no notification service answered (TimeoutError: no answer within 2 s)" in line


def test_without_the_notify_extra_show_does_nothing(desktop: Desktop, tmp_path: Path) -> None:
    desktop.env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path / 'no-bus'}"  # never asked

    report = run_child(
        desktop.env,
        block_package=True,
        shows=[["main", "Update available", "1.3.0"], ["worker", "Update available", "1.3.0"]],
    )

    assert report["available"] is False
    assert report["errors"] == []
    assert report["threads_after_close"] == ["MainThread"]  # no thread was started at all
    assert "asyncio" not in report["modules"]
    [line] = report["log"]
    assert line.startswith("INFO: OS notifications are off: the desktop-notifier package is not")
    assert "pip install 'secure-updater[notify]'" in line


def test_importing_the_notifier_loads_no_async_or_notification_library() -> None:
    probe = "import json, sys; import client.ui.notify; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert not loaded & {"asyncio", "desktop_notifier", "dbus_fast", "logging"}
