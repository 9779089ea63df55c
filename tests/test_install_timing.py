"""Never at a bad moment: busy/idle and the install window hold automatic installs and
restarts (real server, the updater's real background thread), "Skip This Version", the new
settings; the window maths (client.timing) without a server."""

from __future__ import annotations

import queue
import threading
import time
from datetime import datetime, timedelta

import pytest

from client import SettingsError, UpdateError, Updater
from client.settings import from_dict
from client.timing import inside, install_timing, next_opening, parse_window

IDLE = "The update will be installed when the application is idle."


def local(text: str) -> float:
    """Epoch seconds of a local wall-clock time "2026-03-10 23:00"."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").timestamp()


# -- the window maths -------------------------------------------------------------------------


def test_windows_and_their_next_opening() -> None:
    assert parse_window("02:00-05:00") == (120, 300)
    night = parse_window("22:00-06:00")  # wraps midnight
    assert [inside(night, h * 60) for h in (21, 22, 23, 0, 5, 6)] == [0, 1, 1, 1, 1, 0]
    assert inside(night, 5 * 60 + 59) and not inside(parse_window("02:00-05:00"), 300)
    assert next_opening((120, 300), local("2026-03-10 23:00")) == local("2026-03-11 02:00")
    assert next_opening((120, 300), local("2026-03-10 01:59")) == local("2026-03-10 02:00")
    assert next_opening((120, 300), local("2026-03-10 02:00")) == local("2026-03-11 02:00")
    for bad in ("2:00-05:00", "02:00-24:00", "02:00", "02:00-02:00", "x" * 500, 5):
        with pytest.raises(ValueError, match="null for any time"):
            parse_window(bad)  # type: ignore[arg-type]


def test_install_timing_says_why_and_when() -> None:
    assert install_timing(False, None, local("2026-03-10 12:00")).allowed
    busy = install_timing(True, None, local("2026-03-10 12:00"))
    assert (busy.allowed, busy.reason, busy.next_time, busy.message) == (False, "busy", None, IDLE)
    late = install_timing(False, "02:00-05:00", local("2026-03-10 23:00"))
    assert (late.allowed, late.reason, late.next_time) == (
        False,
        "window",
        local("2026-03-11 02:00"),
    )
    assert (
        late.message == "The update will be installed between 02:00 and 05:00 (in about 3 hours)."
    )
    inside_it = install_timing(False, "22:00-06:00", local("2026-03-10 05:30"))
    assert inside_it.allowed and inside_it.message == ""
    both = install_timing(True, "22:00-06:00", local("2026-03-10 21:20"))
    assert both.reason == "window" and both.message == (
        "The update will be installed between 22:00 and 06:00 (in about 40 min), "
        "when the application is idle."
    )


def test_the_new_settings_are_validated() -> None:
    settings = from_dict({})
    assert (settings.healthy_after_seconds, settings.failed_starts_before_rollback) == (30, 2)
    assert (settings.install_window, settings.auto_restart) == (None, False)
    assert from_dict({"install_window": "22:00-06:00"}).install_window == "22:00-06:00"
    cases = {
        ("healthy_after_seconds", 0): "expected a number from 1 to 3600",
        ("failed_starts_before_rollback", 1.5): "expected an integer from 1 to 10",
        ("failed_starts_before_rollback", 11): "expected an integer from 1 to 10",
        ("install_window", "2am-5am"): 'expected "HH:MM-HH:MM" in local 24-hour time',
        ("auto_restart", "yes"): "expected true or false",
    }
    for (key, value), expected in cases.items():
        with pytest.raises(SettingsError, match=expected) as caught:
            from_dict({key: value})
        assert caught.value.errors[0].startswith(f"{key}: ")


# -- busy/idle and the window with the real background thread ----------------------------------


def wait_for(events: queue.Queue, kind: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert (left := deadline - time.monotonic()) > 0, f"no {kind} event"
        if events.get(timeout=left) == kind:
            return


def stays(layout, version: str, seconds: float = 1.5) -> bool:
    """`current` stays at `version` for `seconds` (a held install is not done meanwhile)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if layout.current_version() != version:
            return False
        time.sleep(0.05)
    return True


def automatic(installed_app, **settings) -> tuple[Updater, queue.Queue]:
    updater = Updater.from_config(install_root=installed_app.root)
    for key, value in {"auto_install": True, "auto_restart": True, **settings}.items():
        updater.set_setting(key, value)
    updater.startup_delay = 0
    events: queue.Queue = queue.Queue()
    updater.on_event(lambda event: events.put(event.kind))
    return updater, events


def test_busy_holds_an_automatic_install_and_restart_until_idle(installed_app) -> None:
    layout = installed_app.layout
    installed_app.publisher.release("--version", "1.1.0")
    updater, events = automatic(installed_app)
    restarts: list[str] = []
    restarted = threading.Event()
    updater.on_restart_request(
        lambda: (restarts.append(threading.current_thread().name), restarted.set())
    )
    # an order arrives right after the install: the restart must wait for it too
    updater.on_event(
        lambda e: updater.set_busy(True, "second order") if e.kind == "installed" else 0
    )
    try:
        with updater.busy("order in flight"), updater.busy("nested"):
            updater.start()
            wait_for(events, "downloaded")
            assert stays(layout, "1.0.0")
            assert updater.is_busy and updater.install_timing().message == IDLE
            updater.set_busy(False, "nested")
            assert updater.is_busy and stays(layout, "1.0.0", 0.5)  # nesting counts
        wait_for(events, "installed")  # idle: the held install goes on at once
        assert layout.current_version() == "1.1.0" and updater.is_busy
        assert not restarted.wait(1.5)  # busy again: no restart
        updater.set_busy(False)
        assert restarted.wait(30) and restarts == ["updater"]
    finally:
        updater.stop()


def test_the_install_window_holds_an_automatic_install_until_it_opens(installed_app) -> None:
    """A real window that opens at the next full minute (this test waits for it)."""
    now = datetime.now()
    if now.second >= 50:  # too close: the download might end after the window opened
        time.sleep(61 - now.second)
        now = datetime.now()
    opens = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    window = f"{opens:%H:%M}-{opens + timedelta(minutes=10):%H:%M}"
    installed_app.publisher.release("--version", "1.1.0")
    updater, events = automatic(installed_app, install_window=window, auto_restart=False)
    restarted = threading.Event()
    updater.on_restart_request(restarted.set)  # auto_restart is off: never called
    try:
        updater.start()
        wait_for(events, "downloaded")
        timing = updater.install_timing()
        assert (timing.reason, timing.next_time) == ("window", opens.timestamp())
        assert timing.message.startswith(f"The update will be installed between {window[:5]} and")
        assert stays(installed_app.layout, "1.0.0")
        wait_for(events, "installed", timeout=90)
        assert time.time() >= opens.timestamp() and updater.install_timing().allowed
        assert installed_app.layout.current_version() == "1.1.0"
        assert not restarted.wait(1)
    finally:
        updater.stop()


# -- Skip This Version ------------------------------------------------------------------------


def test_a_skipped_version_is_not_offered_again_but_a_newer_one_is(installed_app) -> None:
    publisher, layout = installed_app.publisher, installed_app.layout
    publisher.release("--version", "1.1.0")
    updater = Updater.from_config(install_root=installed_app.root)
    assert updater.download().version == "1.1.0"
    updater.skip_version("1.1.0")
    assert layout.read_state().skipped == ["1.1.0"] and layout.read_state().downloaded is None
    assert updater.check() is None  # a manual check honours it too
    assert updater.install() is None
    publisher.release("--version", "1.2.0")
    assert updater.check().version == "1.2.0"
    (skipped,) = [r for r in updater.history() if r["event"] == "version_skipped"]
    assert skipped["to_version"] == "1.1.0" and skipped["reason"] == "skipped by the user"
    with pytest.raises(UpdateError, match="not a version") as caught:
        updater.skip_version("newest")
    assert caught.value.kind == "invalid_input"
    with pytest.raises(UpdateError, match="it is the current version"):
        updater.skip_version("1.0.0")
