"""The Qt adapter of the update UI: widgets that draw `UpdateController.view` and forward clicks.

    ui = QtUpdateUI(updater, window, before_restart=save_work)
    ui.attach()   # the Update menu in the menu bar, the notice above the central widget
    ui.start()    # once the window is shown

Rules: the controller owns every state, word and decision; this module only renders its View
(the notice with release notes, progress, buttons and Details; the Update menu) and hands
clicks back; the settings and history windows are in client/ui/qt_dialogs.py. Qt widgets are
touched only on the GUI thread: the controller's `schedule(fn)` emits a signal (from any
thread) whose queued connection runs `fn` on the GUI thread. Nothing here takes the keyboard
focus or raises the window: the notice appears inside the window, and an OS notification
(client.ui.notify, when installed) is shown only while the window is not in front.
Binding: PySide6 (the `qt` extra); PyQt6 through the same code when QT_API=pyqt6 or PySide6 is
not installed. Imported only by Qt applications, never on the client's start-up path.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from client.ui.controller import (
    ACTION_LABELS,
    MENU_LABELS,
    Action,
    MenuItem,
    Phase,
    UpdateController,
    View,
    menu_label,
)

if TYPE_CHECKING:
    from client import Updater

log = logging.getLogger(__name__)


def _binding() -> tuple[Any, Any, Any, Any, Any]:
    """(QtCore, QtGui, QtWidgets, Signal, Slot) of PySide6, or of PyQt6 (QT_API=pyqt6 or no
    PySide6): the only difference this module meets is the name of Signal and Slot."""
    names = ["PyQt6"] if os.environ.get("QT_API", "").lower() == "pyqt6" else ["PySide6", "PyQt6"]
    for name in names:
        try:
            if name == "PySide6":
                from PySide6 import QtCore, QtGui, QtWidgets

                return QtCore, QtGui, QtWidgets, QtCore.Signal, QtCore.Slot
            from PyQt6 import QtCore, QtGui, QtWidgets

            return QtCore, QtGui, QtWidgets, QtCore.pyqtSignal, QtCore.pyqtSlot
        except ImportError:
            continue
    raise ImportError(
        "client.ui.qt needs PySide6: install the `qt` extra (pip install 'secure-updater[qt]')"
    )


QtCore, QtGui, QtWidgets, Signal, Slot = _binding()
Qt = QtCore.Qt
W = QtWidgets

WARNING_PHASES = {Phase.ERROR, Phase.ROLLED_BACK, Phase.WITHDRAWN}
STYLE = """
QFrame#updateNotice { background: #eef4fc; border: 1px solid #a9c6ea; border-radius: 6px; }
QFrame#updateNotice[tone="warning"] { background: #fff6e6; border-color: #e8b45c; }
QFrame#updateNotice > QLabel { background: transparent; border: none; }
QLabel#headline { font-weight: bold; font-size: 11pt; }
QLabel#when { color: #30507a; }
QLabel#help { color: #606060; }
QLabel#fieldError { color: #b00020; }
"""


class _Bridge(QtCore.QObject):
    """`schedule(fn)` for the controller: emitted from any thread, run on the GUI thread."""

    call = Signal(object)

    def __init__(self, parent: Any) -> None:
        super().__init__(parent)
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def schedule(self, fn: Callable[[], None]) -> None:
        try:
            self.call.emit(fn)
        except RuntimeError:  # the window (and this bridge) is gone: nothing left to update
            log.debug("update UI closed; dropped a scheduled call")

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a slot must not raise (PyQt6 would abort the application)
            log.exception("update UI callback failed")


def _label(object_name: str = "", wrap: bool = True) -> Any:
    label = W.QLabel()
    label.setWordWrap(wrap)
    label.setObjectName(object_name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _button(text: str, on_click: Callable[[], None]) -> Any:
    button = W.QPushButton(text)
    button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a click never takes the app's focus
    button.setAutoDefault(False)
    button.clicked.connect(lambda _checked=False: on_click())
    return button


def notes_html(notes: tuple[tuple[str, str], ...]) -> str:
    """The release notes of every version in the offer, newest first, as simple HTML."""
    parts = []
    for version, text in notes:
        body = html.escape(text.strip() or "No release notes.").replace("\n", "<br>")
        parts.append(
            f"<p style='margin:0 0 6px 0'><b>Version {html.escape(version)}</b><br>{body}</p>"
        )
    return "".join(parts)


class UpdateNotice(W.QFrame):
    """The non-modal notice: headline, advice, when, release notes, progress, buttons, Details.
    Hidden while the view says nothing is worth showing."""

    def __init__(self, controller: UpdateController, parent: Any = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("updateNotice")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.icon = W.QLabel()
        self.headline, self.advice, self.when = _label("headline"), _label(), _label("when")
        self.notes = W.QTextBrowser()
        self.notes.setObjectName("notes")
        self.notes.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._notes: tuple[tuple[str, str], ...] = ()
        self.bar = W.QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.progress_text = _label()
        self.details = W.QToolButton()
        self.details.setText("Details")
        self.details.setCheckable(True)
        self.details.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details.setArrowType(Qt.ArrowType.RightArrow)
        self.details.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.details.toggled.connect(self._toggle_details)
        self.detail = W.QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setMaximumHeight(90)
        self.detail.setFont(
            QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        )
        self.detail.hide()
        self.buttons: dict[Action, Any] = {}
        self._button_row = W.QHBoxLayout()
        self._actions: tuple[Action, ...] | None = None

        text = W.QVBoxLayout()
        text.setSpacing(4)
        for widget in (self.headline, self.advice, self.when, self.notes):
            text.addWidget(widget)
        text.addWidget(self.bar)
        text.addWidget(self.progress_text)
        self._button_row.addWidget(self.details)
        self._button_row.addStretch(1)
        text.addLayout(self._button_row)
        text.addWidget(self.detail)
        body = W.QHBoxLayout()
        body.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        body.addLayout(text, 1)
        outer = W.QVBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 10)
        outer.addLayout(body)

    def render(self, view: View) -> None:
        self.setVisible(view.visible)
        tone = "warning" if view.phase in WARNING_PHASES or view.withdrawn else "info"
        if self.property("tone") != tone:
            self.setProperty("tone", tone)
            self.style().unpolish(self)
            self.style().polish(self)
        icon = W.QStyle.StandardPixmap
        which = icon.SP_MessageBoxWarning if tone == "warning" else icon.SP_MessageBoxInformation
        self.icon.setPixmap(self.style().standardIcon(which).pixmap(32, 32))
        self.headline.setText(view.headline)
        self._text(self.advice, view.advice)
        self._text(self.when, view.when)
        self.notes.setVisible(bool(view.notes))
        if view.notes != self._notes:
            self._notes = view.notes
            self.notes.setHtml(notes_html(view.notes))
            self._fit_notes()
        downloading = view.progress is not None
        self.bar.setVisible(downloading)
        self._text(self.progress_text, view.progress_text if downloading else "")
        if view.progress is not None:
            self.bar.setValue(int(max(0.0, min(1.0, view.progress)) * 1000))
        self.details.setVisible(bool(view.detail))
        self.detail.setPlainText(view.detail)
        self.detail.setVisible(self.details.isChecked() and bool(view.detail))
        self._set_actions(view.actions)

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_notes()

    def _fit_notes(self) -> None:
        """As tall as the notes need, up to 150 px (then they scroll)."""
        document = self.notes.document()
        document.setTextWidth(self.notes.viewport().width())
        margins = 2 * self.notes.frameWidth() + 4
        self.notes.setFixedHeight(min(150, int(document.size().height()) + margins))

    @staticmethod
    def _text(label: Any, text: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))

    def _set_actions(self, actions: tuple[Action, ...]) -> None:
        if actions == self._actions:
            return
        self._actions = actions
        for button in self.buttons.values():
            self._button_row.removeWidget(button)
            button.hide()
            button.deleteLater()
        self.buttons = {}
        for index, action in enumerate(reversed(actions)):  # the default one ends on the right
            button = _button(ACTION_LABELS[action], lambda a=action: self.controller.perform(a))
            button.setObjectName(f"action-{action.value}")
            button.setDefault(index == len(actions) - 1)
            self.buttons[action] = button
            self._button_row.addWidget(button)

    def _toggle_details(self, shown: bool) -> None:
        self.details.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.detail.setVisible(shown and bool(self.detail.toPlainText()))


class QtUpdateUI(QtCore.QObject):
    """Everything the application gets: `menu` (the Update QMenu), `notice` (the banner), the
    settings and history windows, OS notifications while the window is not in front."""

    def __init__(
        self,
        updater: Updater,
        window: Any,
        *,
        before_restart: Callable[[], None] | None = None,
        notifier: Any = None,
    ) -> None:
        """`notifier`: an object with show(title, body); None = client.ui.notify.OsNotifier when
        it is installed and a notification service answers; False = none."""
        super().__init__(window)
        self.window = window
        self._bridge = _Bridge(self)
        self.controller = UpdateController(
            updater, self._bridge.schedule, before_restart=before_restart
        )
        self.menu = W.QMenu("&Update", window)
        self.menu.setObjectName("updateMenu")
        self.actions: dict[MenuItem, Any] = {}
        for item in MenuItem:
            if item in (MenuItem.ROLLBACK, MenuItem.HISTORY):
                self.menu.addSeparator()
            action = self.menu.addAction(MENU_LABELS[item])
            action.triggered.connect(lambda _checked=False, i=item: self.choose(i))
            self.actions[item] = action
        self.notice = UpdateNotice(self.controller)
        self.notice.setStyleSheet(STYLE)
        self.settings_dialog: Any = None  # a qt_dialogs.SettingsDialog once opened
        self.history_window: Any = None  # a qt_dialogs.HistoryWindow once opened
        self._notifier = notifier
        self._notified: set[tuple[str, str | None, str]] = set()
        self._phase: Phase | None = None
        app = W.QApplication.instance()
        app.applicationStateChanged.connect(self._state_changed)
        self.controller.subscribe(self.render)
        self.render(self.controller.view)

    def attach(self) -> None:
        """Add the Update menu to the window's menu bar and the notice above its central
        widget (a QMainWindow; other windows place `menu` and `notice` themselves)."""
        self.window.menuBar().addMenu(self.menu)
        holder = W.QWidget()
        layout = W.QVBoxLayout(holder)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addWidget(self.notice)
        central = self.window.takeCentralWidget()
        if central is not None:
            layout.addWidget(central, 1)
        self.window.setCentralWidget(holder)

    def start(self) -> None:
        self._state_changed(W.QApplication.applicationState())
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def render(self, view: View) -> None:
        for item, action in self.actions.items():
            action.setText(menu_label(item, view))
            action.setEnabled(item in view.menu)
        self.notice.render(view)
        if self._phase != view.phase and self.history_window and self.history_window.isVisible():
            self.history_window.refresh()
        self._phase = view.phase
        if view.notify and W.QApplication.activeWindow() is None:  # not in front
            self._notify(view)

    def choose(self, item: MenuItem) -> None:
        """What a menu item does: its own window, a confirmed rollback, or the controller."""
        if item is MenuItem.SETTINGS:
            self.open_settings()
        elif item is MenuItem.HISTORY:
            self.open_history()
        elif item is MenuItem.ROLLBACK:
            self.roll_back_now()
        else:
            self.controller.perform(item)

    def open_settings(self) -> Any:
        from client.ui.qt_dialogs import SettingsDialog

        self.settings_dialog = SettingsDialog(self.controller, self.window)
        self.settings_dialog.open()  # window-modal, returns at once
        return self.settings_dialog

    def open_history(self) -> Any:
        from client.ui.qt_dialogs import HistoryWindow

        if self.history_window is None:
            self.history_window = HistoryWindow(self.controller, self.window)
        self.history_window.refresh()  # the file may have changed since
        self.history_window.show()
        return self.history_window

    def roll_back_now(self) -> None:
        """The emergency rollback: one click on the menu, one confirmation."""
        from client.ui.qt_dialogs import confirm

        view = self.controller.view
        previous = view.previous_version
        if previous and confirm(
            self.window,
            "Roll Back",
            f"Roll back to version {previous} now?",
            "Roll Back",
            f"Version {view.running_version} stays on this computer; Update History can bring it "
            "back.",
        ):
            self.controller.perform(MenuItem.ROLLBACK)

    def _state_changed(self, state: Any) -> None:
        self.controller.set_window_active(state == Qt.ApplicationState.ApplicationActive)

    def _notify(self, view: View) -> None:
        """Once per piece of news, through the OS (client.ui.notify) when it is available."""
        key = (view.phase.value, view.version, view.headline)
        if key in self._notified or self._notifier is False:
            return
        self._notified.add(key)
        if self._notifier is None:
            try:
                from client.ui.notify import OsNotifier
            except ImportError:  # the notify helper or its extra is not installed
                self._notifier = False
                return
            notifier = OsNotifier(W.QApplication.applicationDisplayName() or "Updates")
            self._notifier = notifier if notifier.available() else False
        if self._notifier:
            self._notifier.show(view.headline, view.advice or (view.version or ""))
