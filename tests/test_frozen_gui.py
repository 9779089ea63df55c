"""The windowed demo ships frozen: release, first install without update-client, an update
clicked through in the window, restart, rollback, on a virtual screen (Xvfb).

Publisher: the trading bot (examples/trading_bot.py) frozen by the `build_command` of
examples/trading_bot.repo-tools.json (PyInstaller onedir, tkinter and the client collected by
their hooks), released as 1.0.0 and as 1.1.0 (whose embedded client prints MARKER) with that
file's `client_settings` and `entry_point`, over real HTTPS on 127.0.0.1. User: unpacks the
1.0.0 archive into Downloads and starts its executable; `first_run` sets up the install root
in the per-user data folder (XDG_DATA_HOME, in the test's folder) and restarts from it. The
frozen app cannot be imported by this test, so its window is driven through
TRADING_BOT_UI_STEPS (examples/bot_steps.py): the same menu entries and buttons a person
clicks. Both builds are made once per run (tests/support/frozen.py).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.frozen import (
    MARKER,
    FrozenBuilds,
    bot_config,
    build_bot,
    build_pair,
    user_environment,
)
from tests.support.install import run_client, server_entry
from tests.support.publisher import Publisher, set_config, tools_ok

# two PyInstaller builds (~1 min, once per run), two releases of a 110 MB bundle (~1.5 min)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent
APP = "trading-bot"
SCREENSHOT = "frozen-updated.png"  # committed in docs/screenshots/ (UPDATE_SCREENSHOTS=...)
RUN_TIMEOUT = 240.0  # seconds for one start of the frozen app, restarts included


@pytest.fixture(scope="session")
def frozen_bots(tmp_path_factory: pytest.TempPathFactory) -> FrozenBuilds:
    return build_pair(tmp_path_factory.mktemp("frozen-bot"), build_bot)


class Started:
    """One start of a frozen executable as a user would start it (restarts replace the same
    process): its stdout lines as they come, `ui-step` lines parsed."""

    def __init__(self, executable: Path, steps: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(executable)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=executable.parent,
            env={**env, "TRADING_BOT_UI_STEPS": str(steps)},
            start_new_session=True,  # its own process group: stopped as one
        )
        self.lines: list[str] = []
        self.deadline = time.monotonic() + RUN_TIMEOUT
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def until(self, wanted: dict[str, Any]) -> dict[str, Any]:
        """The next `ui-step` line holding every item of `wanted`; fails at the deadline or
        when the process ends first."""
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, self.deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no ui-step {wanted} within {RUN_TIMEOUT:.0f} s:\n{self.output}")
            if line is None:
                pytest.fail(f"the app ended before ui-step {wanted}:\n{self.output}")
            self.lines.append(line)
            if line.startswith("ui-step "):
                step = json.loads(line[8:])
                assert "failed" not in step, self.output
                if wanted.items() <= step.items():
                    return step

    def finish(self) -> int:
        """Read to the end and wait for the exit (bounded); its exit status."""
        while (
            line := self._queue.get(timeout=max(0.1, self.deadline - time.monotonic()))
        ) is not None:
            self.lines.append(line)
        return self.process.wait(timeout=max(1.0, self.deadline - time.monotonic()))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def write_steps(path: Path, steps: dict[str, list[list[Any]]]) -> Path:
    path.write_text(json.dumps(steps))
    return path


def screenshot(box: list[int], display: str, path: Path) -> None:
    """A PNG of the window's place on the virtual screen; it must not be blank."""
    from PIL import ImageGrab

    x, y, width, height = box
    image = ImageGrab.grab(bbox=(x, y, x + width, y + height), xdisplay=display)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    colours = image.convert("L").getextrema()
    assert colours[1] - colours[0] > 64, f"a blank screenshot {path}: {colours}"
    keep = os.environ.get("UPDATE_SCREENSHOTS")
    if keep:
        shutil.copy(path, ROOT / keep / SCREENSHOT)


def test_the_publisher_settings_freeze_the_bot_into_the_bundle_they_name() -> None:
    config = bot_config()
    command, bundle = str(config["build_command"]), str(config["bundle"])
    assert config["app_name"] == APP
    assert command.startswith("pyinstaller ") and "--onedir" in command, command
    assert command.endswith(" examples/trading_bot.py") and f"--name {APP}" in command
    assert "--hidden-import" not in command and "--collect" not in command  # hooks do it
    assert bundle.endswith(f"/dist/{APP}") and f"--distpath {bundle.rsplit('/', 1)[0]}" in command
    settings = config["client_settings"]
    assert isinstance(settings, dict) and settings["entry_point"] == APP


def test_the_frozen_bot_carries_what_its_os_notifications_load_by_name(frozen_bots) -> None:
    """desktop-notifier loads its resources package by name: the client's hook collects it."""
    from tests.support.frozen import bundled_modules

    modules = bundled_modules(frozen_bots.first)
    assert {"client.ui.tk", "client.ui.notify", "desktop_notifier"} <= modules
    assert "desktop_notifier.resources" in modules


def test_the_frozen_bot_installs_itself_updates_in_its_window_and_rolls_back(
    tmp_path: Path, frozen_bots: FrozenBuilds, https_server, test_ca, display: str
) -> None:
    first, second = frozen_bots.first, frozen_bots.second
    assert list(first.bundle.rglob("_tkinter*")), "tkinter is not in the bundle"

    # -- the publisher: the committed settings, served here; both releases ---------------------
    publisher = Publisher(tmp_path / "publisher", app=APP)
    server = https_server(publisher.repo)
    settings = dict(bot_config()["client_settings"])
    settings.update(
        servers=[server_entry(server.url)],
        ca_bundle=str(test_ca.ca_file),
        auto_check=False,  # the update is the one clicked for below, no background check
    )
    # the bundle its build_command made (once per run) instead of building again at release
    set_config(publisher.repo, bundle=str(first.bundle), client_settings=settings)
    started = time.perf_counter()
    tools_ok(publisher.repo, publisher.keys, "release", "--version", "1.0.0")
    first_release = time.perf_counter() - started
    set_config(publisher.repo, bundle=str(second.bundle))
    started = time.perf_counter()
    tools_ok(publisher.repo, publisher.keys, "release", "--bump", "minor", "--notes", "faster")
    second_release = time.perf_counter() - started

    # -- the user: an unpacked archive in Downloads, started on the screen ----------------------
    downloads = tmp_path / "home" / "Downloads" / f"{APP}-1.0.0"
    downloads.mkdir(parents=True)
    with tarfile.open(publisher.archive("1.0.0")) as archive:
        archive.extractall(downloads, filter="data")
    data = tmp_path / "home" / "share"
    root = data / APP
    env = user_environment(XDG_DATA_HOME=str(data), DISPLAY=display)
    shot_taken = tmp_path / "shot-taken"
    steps = write_steps(
        tmp_path / "update-steps.json",
        {
            "1.0.0": [
                ["report"],
                ["menu", "CHECK"],
                ["wait", "AVAILABLE", 60],
                ["button", "DOWNLOAD"],
                ["wait", "READY", 120],
                ["button", "INSTALL"],
            ],
            "1.1.0": [["pause", 1.0], ["report"], ["wait_file", str(shot_taken), 60], ["quit"]],
        },
    )
    app = Started(downloads / APP, steps, env)
    try:
        # first_run set up the install root and restarted: the window is the installed 1.0.0
        installed = app.until({"version": "1.0.0", "title": "Trading Bot 1.0.0"})
        assert installed["executable"].startswith(str(root / "versions" / "1.0.0")), installed
        assert MARKER not in app.output
        app.until({"done": ["menu", "CHECK"]})
        clicked = time.monotonic()
        app.until({"done": ["button", "INSTALL"]})
        # Install and Restart: the same process is now the 1.1.0 executable
        updated = app.until({"version": "1.1.0", "title": "Trading Bot 1.1.0"})
        update_seconds = time.monotonic() - clicked
        assert updated["executable"].startswith(str(root / "versions" / "1.1.0")), updated
        # before_restart ran in 1.0.0, with this checkout's client; 1.1.0 runs its own client
        before, after = app.output.split("trading bot 1.0.0: saved 0 orders before restart", 1)
        assert MARKER not in before and MARKER in after, app.output
        screenshot(updated["box"], display, tmp_path / "shots" / SCREENSHOT)
        shot_taken.touch()
        assert app.finish() == 0, app.output
    finally:
        app.stop()
    history = json.loads(run_client(root, "--json", "history").stdout)
    (downloaded,) = [r for r in history if r["event"] == "downloaded"]
    assert downloaded["method"] == "patch", downloaded
    launcher = root / APP  # written by first_run (desktop_name): outside versions/
    assert launcher.is_file() and (data / "applications" / f"{APP}.desktop").is_file()

    # -- started again from its launcher: the emergency rollback from the Update menu ---------
    steps = write_steps(
        tmp_path / "rollback-steps.json",
        {
            "1.1.0": [["report"], ["confirm_next"], ["menu", "ROLLBACK"]],
            "1.0.0": [["report"], ["quit"]],
        },
    )
    app = Started(launcher, steps, env)
    try:
        app.until({"version": "1.1.0"})
        confirm = app.until({"confirm": "Roll Back to 1.0.0"})
        back = app.until({"version": "1.0.0", "title": "Trading Bot 1.0.0"})
        assert back["executable"].startswith(str(root / "versions" / "1.0.0")), back
        assert MARKER not in app.output.split('"confirm"', 1)[1], app.output
        assert app.finish() == 0, app.output
    finally:
        app.stop()
    assert confirm and (root / "current").resolve().name == "1.0.0"

    # -- and the frozen 1.0.0 runs again at the next start --------------------------------------
    steps = write_steps(tmp_path / "again-steps.json", {"1.0.0": [["report"], ["quit"]]})
    app = Started(launcher, steps, env)
    try:
        again = app.until({"version": "1.0.0", "footer": "Trading Bot 1.0.0"})
        assert MARKER not in app.output and app.finish() == 0, app.output
    finally:
        app.stop()
    status = json.loads(run_client(root, "--json", "status").stdout)
    assert status["current_version"] == "1.0.0" and "1.1.0" in status["kept_versions"], status
    assert again["executable"].startswith(str(root / "versions" / "1.0.0"))
    print(
        f"\nfrozen bot: builds {first.seconds:.0f} s and {second.seconds:.0f} s; releases "
        f"1.0.0 {first_release:.1f} s, 1.1.0 {second_release:.1f} s; patch "
        f"{downloaded.get('bytes', '?')} bytes; Check -> Install and Restart -> 1.1.0 window "
        f"{update_seconds:.1f} s"
    )
