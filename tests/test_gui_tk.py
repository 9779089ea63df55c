"""The Tk update UI (client/ui/tk.py) in the trading bot's window, driven for real on Xvfb.

Each test publishes real releases over HTTPS on 127.0.0.1, then runs
tests/support/gui_tk_driver.py in a child process on a fresh virtual screen: it clicks through
the notice, menu, dialogs and windows as a person would, prints the facts checked here and
writes screenshots. Skipped without Xvfb on a developer machine; a failure when CI is set.
`UPDATE_SCREENSHOTS=docs/screenshots pytest tests/test_gui_tk.py` refreshes the committed
screenshots (docs/gui.md says which).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from client import Updater
from tests.support.bundles import write_app
from tests.support.install import run_client
from tests.support.publisher import release_bundle

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "tests" / "support" / "gui_tk_driver.py"
NOTES_1_1 = "Faster order book: quotes refresh every 50 ms instead of 200 ms."
NOTES_1_2 = "New: trailing stop orders.\nFixed: the daily report missed the last trade."
# screenshot -> the name it is committed under in docs/screenshots/
COMMITTED = {
    "notice": "tk-notice.png",
    "progress": "tk-progress.png",
    "menu": "tk-menu.png",
    "settings-error": "tk-settings.png",
    "history": "tk-history.png",
    "confirm-rollback": "tk-confirm-rollback.png",
    "rollback-notice": "tk-rollback-notice.png",
}


class Run:
    """What one driver run printed: its facts by name, and everything else."""

    def __init__(self, result: subprocess.CompletedProcess) -> None:
        self.output = result.stdout + result.stderr
        self.facts: dict[str, Any] = {}
        self.lines: list[str] = []
        for line in result.stdout.splitlines():
            if line.startswith("fact "):
                item = json.loads(line[5:])
                self.facts[item["name"]] = item["value"]
            else:
                self.lines.append(line)

    def __getitem__(self, name: str) -> Any:
        assert name in self.facts, f"no fact {name!r}; the driver printed:\n{self.output}"
        return self.facts[name]


def drive(scenario: str, root: Path, display: str, shots: Path, ok: bool = True) -> Run:
    result = subprocess.run(
        [sys.executable, str(DRIVER), scenario, str(root), str(shots)],
        env={**os.environ, "DISPLAY": display, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    run = Run(result)
    if ok:
        assert result.returncode == 0, run.output
    keep = os.environ.get("UPDATE_SCREENSHOTS")
    if keep:
        for name, committed in COMMITTED.items():
            if (shots / f"{name}.png").exists():
                shutil.copy(shots / f"{name}.png", ROOT / keep / committed)
    return run


def release(installed, version: str, notes: str, *, size: int = 300_000, crash: bool = False):
    """Release `version` of the installed app; a big `size` with fresh bytes makes the download
    take a moment (no small patch); `crash` makes the app exit 3 at start."""
    bundle = installed.publisher.bundle
    write_app(bundle, f"release {version}", size=size)
    if size > 300_000:
        (bundle / "lib" / "data.bin").write_bytes(os.urandom(size))
    if crash:
        (bundle / "app.py").write_text("import sys\nsys.exit('crashed at start')\n")
    publisher = installed.publisher
    release_bundle(publisher.repo, publisher.keys, bundle, "--version", version, "--notes", notes)


def slow_targets(handler) -> bool:  # type: ignore[no-untyped-def]
    """A server hook: packs and deltas arrive at about 1 MB/s, so progress can be seen."""
    if "/targets/" not in handler.path or not handler.path.endswith((".tar.zst", ".delta")):
        return False
    path = Path(handler.translate_path(handler.path))
    if not path.is_file():
        return False
    data = path.read_bytes()
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    for start in range(0, len(data), 32_768):
        handler.wfile.write(data[start : start + 32_768])
        time.sleep(0.03)
    return True


def configure(root: Path, **values: Any) -> None:
    updater = Updater.from_config(install_root=root)
    for key, value in values.items():
        updater.set_setting(key, value)


def test_check_notice_download_install_restart(display, installed_app, tmp_path) -> None:
    """The main path: a background check shows the notice with every version's notes without
    taking the focus, Download shows progress, Install and Restart lets the app save and
    restarts it in the new version."""
    release(installed_app, "1.1.0", NOTES_1_1)
    release(installed_app, "1.2.0", NOTES_1_2, size=3_000_000)
    installed_app.server.hook = slow_targets
    configure(installed_app.root, auto_download=False)

    run = drive("update", installed_app.root, display, tmp_path / "shots")

    assert run["focus_kept"] is True
    assert "1.2.0" in run["headline"] and "1.0.0" in run["headline"]
    assert "Version 1.2.0" in run["notes"] and "trailing stop orders" in run["notes"]
    assert run["buttons"] == ["Download", "Skip This Version", "Remind Me Later"]
    assert run["version_shown"] == "Trading Bot 1.0.0"
    assert " MB of " in run["progress_text"] and run["progress_buttons"] == ["Cancel"]
    assert run["ready_buttons"] == ["Install and Restart", "Remind Me Later"]
    assert "trailing stop orders" in run["ready_notes"]  # the notes survive the download
    assert "trading bot 1.0.0: saved 0 orders before restart" in run.lines
    assert run.lines[-1].startswith("app 1.2.0 release 1.2.0"), run.output
    assert installed_app.layout.current_version() == "1.2.0"
    # the notes of every version since the running one, newest first
    assert "Version 1.1.0" in run["notes"] and "Faster order book" in run["notes"]
    assert run["notes"].index("1.2.0") < run["notes"].index("1.1.0")  # newest first


def test_settings_dialog_refuses_a_bad_value_inline_and_saves_a_good_one(
    display, installed_app, tmp_path
) -> None:
    run = drive("settings", installed_app.root, display, tmp_path / "shots")

    assert {"auto_check", "check_interval_hours", "update_channel"} <= set(run["fields"])
    assert "Hours between checks" in run["inline_error"]
    assert "check_interval_hours" in run["save_refused"] and run["still_open"]
    assert run["error_cleared"] and run["saved"] == {} and run["closed"]
    assert run["applied"] == ["beta", False]  # applied at once, in the running app
    saved = json.loads((installed_app.root / "updater_config.json").read_text())
    assert saved["check_interval_hours"] == 12 and saved["update_channel"] == "beta"
    assert saved["auto_download"] is False


def test_history_rolls_back_to_a_kept_version_after_asking(
    display, installed_app, tmp_path
) -> None:
    root = installed_app.root
    release(installed_app, "1.1.0", NOTES_1_1)
    assert run_client(root, "update").returncode == 0
    release(installed_app, "1.2.0", NOTES_1_2)
    assert run_client(root, "update").returncode == 0

    run = drive("history", root, display, tmp_path / "shots")

    assert ["Installed", "1.1.0 -> 1.2.0", "OK", False] in run["rows"]
    assert ["Installed", "1.0.0 -> 1.1.0", "OK", True] in run["rows"]
    assert not run["button_enabled_unselected"] and not run["button_enabled_on_current"]
    assert run["target"] == "1.1.0" and run["button_enabled_on_kept"]
    assert run["confirm"] == "Roll Back to 1.1.0"
    assert run.lines[-1].startswith("app 1.1.0 release 1.1.0"), run.output
    assert installed_app.layout.current_version() == "1.1.0"


def test_emergency_rollback_is_one_menu_click_and_a_confirmation(
    display, installed_app, tmp_path
) -> None:
    root = installed_app.root
    release(installed_app, "1.1.0", NOTES_1_1)
    assert run_client(root, "update").returncode == 0

    run = drive("emergency", root, display, tmp_path / "shots")

    assert run["rollback_label"] == "Roll Back to 1.0.0..." and run["rollback_enabled"]
    assert run["confirm"] == "Roll Back to 1.0.0"
    assert run.lines[-1].startswith("app 1.0.0"), run.output
    assert installed_app.layout.current_version() == "1.0.0"


def test_automatic_rollback_is_told_at_the_next_start(display, installed_app, tmp_path) -> None:
    """1.1.0 crashes at every start: `launch` rolls it back after the configured number of
    failed starts, and the next start of the app says which version failed and why."""
    root = installed_app.root
    release(installed_app, "1.1.0", NOTES_1_1, crash=True)
    assert run_client(root, "update").returncode == 0
    for _ in range(3):
        run_client(root, "launch")
    assert installed_app.layout.current_version() == "1.0.0"

    run = drive("rolled_back", root, display, tmp_path / "shots")

    assert "1.1.0" in run["headline"] and "1.0.0" in run["headline"]
    assert run["detail"] and run["buttons"] == ["Close"]
    assert Updater.from_config(install_root=root).rollback_notice() is None  # acknowledged


def test_an_order_in_flight_marks_the_updater_busy(display, installed_app, tmp_path) -> None:
    run = drive("busy", installed_app.root, display, tmp_path / "shots")
    assert run["busy"] is True and run["idle"] is True
