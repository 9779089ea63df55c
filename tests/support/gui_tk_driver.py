"""Drives the Tk update UI inside the trading bot's window as a person would; takes screenshots.

Run as its own process by tests/test_gui_tk.py: a Tk interpreter must be created and torn
down on one thread, which a pytest process full of server threads cannot promise.

    python tests/support/gui_tk_driver.py SCENARIO INSTALL_ROOT SHOTS_DIR

Each fact the test checks is printed as one line `fact {"name": ..., "value": ...}` (JSON). A
scenario that ends in a restart ends in the new version's app.py (os.execv replaces this
process), which prints `app VERSION ...`. Exits non-zero, saying why, when the UI never
reaches a state (a screenshot `failed-<scenario>.png` shows what it showed instead).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client import Updater
from client.ui.controller import Action, MenuItem, Phase
from client.ui.tk import TkUpdateUI

ROOT = Path(__file__).resolve().parents[2]


def load_bot():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("trading_bot", ROOT / "examples/trading_bot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fact(name: str, value: Any) -> None:
    print("fact " + json.dumps({"name": name, "value": value}), flush=True)


class Driver:
    def __init__(self, scenario: str, install_root: str, shots: str) -> None:
        self.scenario, self.shots = scenario, Path(shots)
        self.shots.mkdir(parents=True, exist_ok=True)
        self.updater = Updater.from_config(install_root=install_root)
        self.updater.startup_delay = 0.5  # the first background check, sooner than 2-5 s
        self.window = tk.Tk()
        self.window.geometry("760x560+0+0")
        self.bot = load_bot().TradingBot(self.window, self.updater, order_seconds=1.5)
        self.ui: TkUpdateUI = self.bot.ui
        self.notice = self.ui.notices[0]
        self.pump(0.5)

    @property
    def view(self):  # type: ignore[no-untyped-def]
        return self.ui.controller.view

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.window.update()
            time.sleep(0.01)

    def until(self, condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                self.shot(f"failed-{self.scenario}")
                raise SystemExit(f"the UI never reached {what}; it shows {self.view!r}")
            self.window.update()
            time.sleep(0.01)

    def shot(self, name: str, *windows: tk.Misc) -> None:
        """A PNG of `windows` (default: the main window) as they are on the screen."""
        from PIL import ImageGrab

        self.pump(0.4)  # let Tk draw everything
        windows = windows or (self.window,)
        boxes = []
        for w in windows:
            menubar = w.winfo_y() if w is self.window else 0  # Tk draws it above the window
            boxes.append(
                (
                    w.winfo_rootx(),
                    w.winfo_rooty() - menubar,
                    w.winfo_width(),
                    w.winfo_height() + menubar,
                )
            )
        left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
        right = max(b[0] + b[2] for b in boxes)
        bottom = max(b[1] + b[3] for b in boxes)
        image = ImageGrab.grab(bbox=(left, top, right, bottom), xdisplay=os.environ["DISPLAY"])
        image.save(self.shots / f"{name}.png")

    def menu(self, item: MenuItem) -> None:
        self.ui.menus[0].invoke(self.ui.menu_index(item))

    def menu_label(self, item: MenuItem) -> str:
        return str(self.ui.menus[0].entrycget(self.ui.menu_index(item), "label"))

    def menu_enabled(self, item: MenuItem) -> bool:
        return str(self.ui.menus[0].entrycget(self.ui.menu_index(item), "state")) == "normal"

    def shot_menu(self, name: str) -> None:
        menu = self.ui.menus[0]
        menu.post(self.window.winfo_rootx() + 44, self.window.winfo_rooty())
        self.pump(0.3)
        self.shot(name, self.window, menu)
        menu.unpost()

    def answer_next_dialog(self, shot: str) -> None:
        """When the next confirmation opens: screenshot it over the window, then accept it."""

        def poll() -> None:
            dialog = self.ui.dialog
            if dialog is None or not dialog.winfo_viewable():
                self.window.after(50, poll)
                return
            fact("confirm", dialog.ok.cget("text"))
            self.shot(shot, self.window, dialog)
            dialog.ok.invoke()

        self.window.after(50, poll)

    def shows(self, phase: Phase) -> Callable[[], bool]:
        return lambda: self.view.phase == phase and self.notice.body.winfo_ismapped()

    def buttons(self) -> list[str]:
        return [str(b.cget("text")) for b in self.notice.buttons.values()]

    # -- scenarios -------------------------------------------------------------------------

    def update(self) -> None:
        """Background check -> notice (focus untouched) -> Download -> Install and Restart."""
        self.bot.amount.focus_force()
        self.pump(0.2)
        focus = self.window.focus_get()
        self.shot("app-idle")
        self.ui.start()
        self.until(self.shows(Phase.AVAILABLE), "the notice of the new version")
        fact("focus_kept", self.window.focus_get() is focus and focus is not None)
        fact("headline", self.notice.headline.cget("text"))
        fact("notes", self.notice.notes.get("1.0", "end").strip())
        fact("buttons", self.buttons())
        fact("version_shown", self.bot.footer.cget("text"))
        self.shot("notice")
        self.shot_menu("menu")
        self.notice.button(Action.DOWNLOAD).invoke()
        self.until(lambda: self.view.phase == Phase.DOWNLOADING, "the download", 10)
        self.until(
            lambda: (self.view.progress or 0) > 0.2 or self.view.phase != Phase.DOWNLOADING,
            "download progress",
        )
        if self.view.phase == Phase.DOWNLOADING:
            fact("progress_text", self.notice.progress_text.cget("text"))
            fact("progress_buttons", self.buttons())
            self.shot("progress")
        self.until(self.shows(Phase.READY), "'ready to install'", 60)
        fact("ready_buttons", self.buttons())
        fact("ready_notes", self.notice.notes.get("1.0", "end").strip())
        self.shot("ready")
        self.notice.button(Action.INSTALL).invoke()
        self.until(lambda: False, "the restart into the new version", 60)

    def settings(self) -> None:
        """Update Settings: an invalid interval is refused inline, then a fix is saved."""
        self.menu(MenuItem.SETTINGS)
        dialog = self.ui.settings_dialog
        assert dialog is not None
        self.pump(0.3)
        fact("fields", list(dialog.values))
        self.shot("settings", dialog)
        dialog.values["check_interval_hours"].set("0")
        self.pump(0.2)
        error = dialog.errors["check_interval_hours"]
        fact("inline_error", error.cget("text") if error.winfo_ismapped() else "")
        self.shot("settings-error", dialog)
        problems = dialog.save()
        fact("save_refused", problems)
        fact("still_open", bool(dialog.winfo_exists()))
        dialog.values["check_interval_hours"].set("12")
        dialog.values["update_channel"].set("beta")
        dialog.values["auto_download"].set("false")
        self.pump(0.2)
        fact("error_cleared", not error.winfo_ismapped())
        fact("saved", dialog.save())
        self.pump(0.2)
        fact("closed", not dialog.winfo_exists())
        fact("applied", [self.updater.settings.update_channel, self.updater.settings.auto_download])

    def history(self) -> None:
        """Update History: roll back to a kept version from its row (after a confirmation)."""
        self.menu(MenuItem.HISTORY)
        window = self.ui.history_window
        assert window is not None
        self.pump(0.3)
        rows = window.rows
        fact("rows", [[r.event, r.change, r.result, r.can_roll_back] for r in rows])
        fact("button_enabled_unselected", str(window.roll_back.cget("state")) == "normal")
        index = next(i for i, r in enumerate(rows) if r.can_roll_back)
        current = next(i for i, r in enumerate(rows) if r.version == rows[0].version)
        window.select(current)
        fact("button_enabled_on_current", str(window.roll_back.cget("state")) == "normal")
        window.select(index)
        fact("target", rows[index].version)
        fact("button_enabled_on_kept", str(window.roll_back.cget("state")) == "normal")
        self.shot("history", window)
        self.answer_next_dialog("confirm-history-rollback")
        window.roll_back.invoke()
        self.until(lambda: False, "the restart into the kept version", 60)

    def emergency(self) -> None:
        """Update > Roll Back to <previous>...: one click, a confirmation, the restart."""
        self.pump(0.3)
        fact("rollback_label", self.menu_label(MenuItem.ROLLBACK))
        fact("rollback_enabled", self.menu_enabled(MenuItem.ROLLBACK))
        self.shot_menu("menu-rollback")
        self.answer_next_dialog("confirm-rollback")
        self.menu(MenuItem.ROLLBACK)
        self.until(lambda: False, "the restart into the previous version", 60)

    def rolled_back(self) -> None:
        """The next start after an automatic rollback tells the user, until they close it."""
        self.ui.start()
        self.until(self.shows(Phase.ROLLED_BACK), "the automatic-rollback notice", 10)
        self.notice.toggle_details()
        fact("headline", self.notice.headline.cget("text"))
        fact("advice", self.notice.advice.cget("text"))
        fact("detail", self.notice.detail.cget("text"))
        fact("buttons", self.buttons())
        self.shot("rollback-notice")
        self.notice.button(Action.DISMISS).invoke()
        self.until(lambda: not self.notice.body.winfo_ismapped(), "the notice closed", 10)
        self.pump(0.5)  # the acknowledgement is written on a worker thread
        fact("closed", True)

    def busy(self) -> None:
        """An order in flight holds a restart until it is filled."""
        self.bot.order_button.invoke()
        fact("busy", self.updater.is_busy)
        self.shot("order-in-flight")
        self.until(lambda: not self.updater.is_busy, "the order filled", 10)
        fact("idle", True)


def main(scenario: str, install_root: str, shots: str) -> None:
    driver = Driver(scenario, install_root, shots)
    try:
        getattr(driver, scenario)()
    finally:
        driver.ui.stop()
        driver.window.destroy()
    print(f"done {scenario}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
