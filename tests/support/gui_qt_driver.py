"""Drives the Qt adapter (client/ui/qt.py) in a real window, as a user would, for one story.

Run as its own process by tests/test_gui_qt.py (Qt lives and dies on one thread; a pytest
process full of server threads is no place for it), on the X server in DISPLAY:

    python tests/support/gui_qt_driver.py STORY INSTALL_ROOT SHOTS_DIR [ARGS...]

Stories: update VERSION NOTE... (Check -> notice with every release's notes -> Download with
progress -> Install and Restart: the process becomes the new version, which prints), settings
(a wrong value is refused inline, a fixed one saved), history VERSION (roll back from the
history window, confirmed), emergency (the menu's one-click rollback, confirmed), rolled-back
VERSION (the automatic-rollback notice on the next start), ask (the second-launch question),
no-question (a launch that asks nothing).
Clicks are real mouse events (QTest); screenshots are QWidget.grab(). It prints one line per
step ("step: ...") and exits non-zero with the reason when something is not as a user expects.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client import Updater
from client.ui.qt import QtCore, QtUpdateUI, QtWidgets
from client.ui.view import Action, MenuItem, Phase

QtTest = importlib.import_module(QtCore.__name__.split(".")[0] + ".QtTest")  # the same binding
W = QtWidgets
Qt = QtCore.Qt


def expect(condition: object, message: str) -> None:
    if not condition:
        raise SystemExit(f"FAILED: {message}")


def step(text: str) -> None:
    print(f"step: {text}", flush=True)


class Story:
    def __init__(self, root: str, shots: str) -> None:
        self.app = W.QApplication.instance() or W.QApplication(["trading-bot"])
        self.app.setApplicationDisplayName("Trading Bot")
        self.shots = Path(shots)
        self.updater = Updater.from_config(install_root=root)
        self.window = W.QMainWindow()
        self.window.setWindowTitle(f"Trading Bot {self.updater.running_version}")
        self.window.setCentralWidget(self._bot())
        status = W.QLabel(f"Connected to exchange · version {self.updater.running_version}")
        self.window.statusBar().addWidget(status)
        self.ui = QtUpdateUI(self.updater, self.window, before_restart=self.save_work)
        self.ui.attach()
        self.window.resize(820, 560)
        self.window.show()
        self.pump(0.3)
        self.ui.start()
        self.controller = self.ui.controller

    def _bot(self) -> Any:
        """A stand-in for the application's own window: a price, a few orders."""
        panel = W.QWidget()
        layout = W.QVBoxLayout(panel)
        price = W.QLabel("BTC/USD  43,218.50  ▲ 0.42%")
        price.setStyleSheet("font-size: 20pt; font-weight: bold; color: #1b6e3a;")
        layout.addWidget(price)
        orders = W.QTableWidget(3, 4)
        orders.setHorizontalHeaderLabels(["Order", "Side", "Size", "Limit"])
        rows = [("#1042", "Buy", "0.250", "43,100.00"), ("#1043", "Sell", "0.100", "43,900.00")]
        rows.append(("#1044", "Buy", "0.050", "42,750.00"))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                orders.setItem(r, c, W.QTableWidgetItem(text))
        orders.horizontalHeader().setStretchLastSection(True)
        orders.verticalHeader().hide()
        layout.addWidget(orders, 1)
        return panel

    def save_work(self) -> None:
        print("app saved its work", flush=True)

    # -- helpers -----------------------------------------------------------------------------

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def until(self, condition: Callable[[], object], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            expect(time.monotonic() < deadline, f"never reached {what}; view: {self.describe()}")
            self.app.processEvents()
            time.sleep(0.01)
        self.pump(0.15)  # let the layout settle before anyone looks

    def describe(self) -> str:
        v = self.controller.view
        return f"{v.phase} {v.headline!r} {v.advice!r} {v.detail!r} {[a.value for a in v.actions]}"

    def click(self, widget: Any) -> None:
        expect(widget.isVisible() and widget.isEnabled(), f"{widget.text()!r} can be clicked")
        QtTest.QTest.mouseClick(widget, Qt.MouseButton.LeftButton)

    def menu(self, item: MenuItem) -> None:
        """Open the Update menu from the menu bar and choose `item`, as a user does."""
        bar = self.window.menuBar()
        QtTest.QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=self._menu_pos(bar))
        self.until(self.ui.menu.isVisible, "the open Update menu", 10)
        action = self.ui.actions[item]
        expect(action.isEnabled(), f"menu item {action.text()!r} is enabled")
        rect = self.ui.menu.actionGeometry(action)
        QtTest.QTest.mouseClick(self.ui.menu, Qt.MouseButton.LeftButton, pos=rect.center())

    def _menu_pos(self, bar: Any) -> Any:
        return bar.actionGeometry(self.ui.menu.menuAction()).center()

    def shot(self, widget: Any, name: str) -> None:
        self.pump(0.2)
        path = self.shots / f"qt-{name}.png"
        expect(widget.grab().save(str(path)), f"screenshot {path} written")
        step(f"screenshot {path.name}")

    def accept_confirmation(self, button: str, shot: str = "") -> None:
        """When the confirmation box appears, take its picture and press `button` in it."""

        def answer() -> None:
            boxes = [w for w in self.app.topLevelWidgets() if w.objectName() == "updateConfirm"]
            if not boxes or not boxes[0].isVisible():
                QtCore.QTimer.singleShot(50, answer)
                return
            box = boxes[0]
            step(f"asked: {box.text()}")
            if shot:
                self.shot(box, shot)
            (yes,) = [b for b in box.buttons() if b.text() == button]
            QtTest.QTest.mouseClick(yes, Qt.MouseButton.LeftButton)

        QtCore.QTimer.singleShot(50, answer)

    def notice_text(self) -> str:
        n = self.ui.notice
        return "\n".join([n.headline.text(), n.advice.text(), n.when.text(), n.notes.toPlainText()])


def story_update(s: Story, version: str, *notes: str) -> None:
    expect(not s.ui.notice.isVisible(), "no notice before anything happened")
    s.menu(MenuItem.CHECK)
    s.until(lambda: s.controller.view.phase == Phase.AVAILABLE, "the update notice")
    text = s.notice_text()
    expect(version in s.ui.notice.headline.text(), f"the headline names {version}: {text}")
    for note in notes:
        expect(note in s.ui.notice.notes.toPlainText(), f"the notice shows the notes {note!r}")
    expect(s.app.focusWidget() is None or s.ui.notice not in _ancestors(s.app.focusWidget()),
           "the notice did not take the keyboard focus")  # fmt: skip
    offered = [b.text() for b in s.ui.notice.buttons.values()]
    step(f"notice: {s.ui.notice.headline.text()} / buttons {offered}")
    expect("Download" in offered and "Skip This Version" in offered, f"buttons {offered}")
    s.shot(s.window, "notice")
    s.click(s.ui.notice.buttons[Action.DOWNLOAD])
    s.until(lambda: (s.controller.view.progress or 0) > 0.2, "download progress", 30)
    expect(s.ui.notice.bar.isVisible() and "MB" in s.ui.notice.progress_text.text(), "progress")
    expect(Action.CANCEL in s.ui.notice.buttons, "a Cancel button while downloading")
    step(f"progress: {s.ui.notice.progress_text.text()}")
    s.shot(s.window, "progress")
    s.until(lambda: s.controller.view.phase == Phase.READY, "the downloaded update", 60)
    step(f"ready: {s.ui.notice.headline.text()} / when {s.ui.notice.when.text()!r}")
    s.shot(s.window, "ready")
    s.click(s.ui.notice.buttons[Action.INSTALL])
    s.until(lambda: False, "the restart into the new version", 60)  # execv ends this process


def story_settings(s: Story) -> None:
    s.menu(MenuItem.SETTINGS)
    s.until(lambda: s.ui.settings_dialog and s.ui.settings_dialog.isVisible(), "the dialog", 10)
    dialog = s.ui.settings_dialog
    interval = dialog.findChild(W.QLineEdit, "field-check_interval_hours")
    interval.selectAll()
    QtTest.QTest.keyClicks(interval, "0")
    error = dialog.errors["check_interval_hours"]
    s.until(error.isVisible, "the inline validation message", 10)
    step(f"inline error: {error.text()}")
    channel = dialog.findChild(W.QComboBox)
    channel.setCurrentText("beta")
    s.shot(dialog, "settings")
    save = dialog.buttons.button(W.QDialogButtonBox.StandardButton.Save)
    s.click(save)
    s.pump(0.3)
    expect(dialog.isVisible() and error.isVisible(), "Save refused the wrong value")
    interval.selectAll()
    QtTest.QTest.keyClicks(interval, "12")
    s.until(lambda: not error.isVisible(), "the message gone once the value is right", 10)
    s.click(save)
    s.until(lambda: not dialog.isVisible(), "the dialog closed after Save", 10)
    saved = json.loads(s.updater.config_path.read_text())
    step(f"saved: {saved['check_interval_hours']} {saved['update_channel']}")
    expect(s.updater.settings.update_channel == "beta", "the new channel applies at once")


def story_history(s: Story, version: str) -> None:
    s.menu(MenuItem.HISTORY)
    s.until(lambda: s.ui.history_window and s.ui.history_window.isVisible(), "history", 10)
    window = s.ui.history_window
    rows = [[window.table.item(r, c).text() for c in range(5)] for r in range(len(window.rows))]
    step(f"history: {rows}")
    button = window.table.findChild(W.QPushButton, f"rollback-{version}")
    expect(button is not None, f"a roll-back button on the row of {version}")
    s.shot(window, "history")
    s.accept_confirmation("Roll Back", shot="history-confirm")
    s.click(button)
    s.until(lambda: False, "the restart into the rolled-back version", 60)


def story_emergency(s: Story) -> None:
    label = s.ui.actions[MenuItem.ROLLBACK].text()
    step(f"menu: {label}")
    s.accept_confirmation("Roll Back", shot="rollback-confirm")
    s.menu(MenuItem.ROLLBACK)
    s.until(lambda: False, "the restart into the previous version", 60)


def story_rolled_back(s: Story, failed: str) -> None:
    s.until(lambda: s.controller.view.phase == Phase.ROLLED_BACK, "the rollback notice", 20)
    text = s.notice_text()
    step(f"notice: {text!r}")
    expect(failed in s.ui.notice.headline.text(), f"the notice names {failed}")
    s.click(s.ui.notice.details)
    s.shot(s.window, "rolled-back")
    s.click(s.ui.notice.buttons[Action.DISMISS])
    s.until(lambda: not s.ui.notice.isVisible(), "the notice closed", 10)
    expect(s.updater.rollback_notice() is None, "Close acknowledged the notice")


def story_ask(s: Story, wait: str = "0") -> None:
    s.until(lambda: s.controller.view.ask_auto_check, "the second-launch question", 10)
    s.pump(float(wait))  # the user may answer later: the question stays until answered
    expect(s.ui.notice.isVisible(), f"the question is still shown: {s.describe()}")
    step(f"asked: {s.ui.notice.headline.text()}")
    s.shot(s.window, "ask")
    s.click(s.ui.notice.buttons[Action.DISABLE_AUTO])
    s.until(lambda: not s.ui.notice.isVisible(), "the question answered", 10)
    s.until(lambda: s.updater.settings.auto_check is False, "auto_check saved as off", 10)


def story_no_question(s: Story) -> None:
    s.pump(1.0)
    expect(not s.controller.view.ask_auto_check and not s.ui.notice.isVisible(), "no question")


def _ancestors(widget: Any) -> list[Any]:
    found = []
    while widget is not None:
        found.append(widget)
        widget = widget.parentWidget()
    return found


STORIES = {
    "update": story_update,
    "settings": story_settings,
    "history": story_history,
    "emergency": story_emergency,
    "rolled-back": story_rolled_back,
    "ask": story_ask,
    "no-question": story_no_question,
}

if __name__ == "__main__":
    name, root, shots, *args = sys.argv[1:]
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    story = Story(root, shots)
    STORIES[name](story, *args)
    step("done")
