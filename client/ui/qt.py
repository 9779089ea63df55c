"""The Qt adapter of the update UI: widgets that draw `UpdateController.view` and forward clicks.

    ui = QtUpdateUI(updater, window, before_restart=save_work)
    ui.attach()   # the Update menu in the menu bar, the notice above the central widget
    ui.start()    # once the window is shown

Rules: the controller owns every state, word and decision; this module only renders its View
(the notice with release notes, progress and buttons; the Update menu; the settings dialog; the
history window) and hands clicks back. Qt widgets are touched only on the GUI thread: the
controller's `schedule(fn)` emits a signal (from any thread) whose queued connection runs `fn`
on the GUI thread. Nothing here takes the keyboard focus or raises the window: the notice
appears inside the window, and an OS notification is shown only while the window is not in
front. Binding: PySide6 (the `qt` extra); PyQt6 through the same code when QT_API=pyqt6 or
PySide6 is not installed. Imported only by Qt applications, never on the client's start-up path.
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
    HistoryRow,
    MenuItem,
    Phase,
    UpdateController,
    View,
)

if TYPE_CHECKING:
    from client import Updater
    from client.ui.fields import SettingField

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

ROLL_BACK_ROW = "Roll Back to This Version"
HISTORY_COLUMNS = ("Time", "Event", "Change", "Result", "Reason", "")
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


def menu_label(item: MenuItem, view: View) -> str:
    """MENU_LABELS[item]; the rollback item names the version it goes back to."""
    if item is MenuItem.ROLLBACK and view.previous_version:
        return f"Roll Back to {view.previous_version}..."
    return MENU_LABELS[item]


def confirm(parent: Any, title: str, text: str, yes: str, informative: str = "") -> bool:
    """A modal question with a named confirming button; True if the user chose it."""
    box = W.QMessageBox(parent)
    box.setObjectName("updateConfirm")
    box.setIcon(W.QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    box.setInformativeText(informative)
    ok = box.addButton(yes, W.QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Cancel", W.QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(ok)
    box.exec()
    return box.clickedButton() is ok


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


class SettingsDialog(W.QDialog):
    """Every setting of `controller.setting_fields()`, checked as typed (`check_setting`) and
    saved together (`save_settings`: the file's own validation, atomic, applied at once)."""

    def __init__(self, controller: UpdateController, parent: Any = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Update Settings")
        self.setObjectName("updateSettings")
        self.values: dict[str, Callable[[], str]] = {}
        self.errors: dict[str, Any] = {}
        form = W.QFormLayout()
        form.setFieldGrowthPolicy(W.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(10)
        for field in controller.setting_fields():
            editor, title = self._editor(field)
            column = W.QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(editor)
            if field.help:
                help_label = _label("help", wrap=False)  # wrapped labels misjudge their height
                help_label.setText(field.help)
                column.addWidget(help_label)
            error = _label("fieldError")
            error.hide()
            column.addWidget(error)
            self.errors[field.key] = error
            form.addRow(title, column)
        self.buttons = W.QDialogButtonBox(
            W.QDialogButtonBox.StandardButton.Save | W.QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        where = _label("help")
        where.setText(f"Saved in {controller.updater.config_path.name}; changes apply at once.")
        layout = W.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(where)
        layout.addWidget(self.buttons)
        self.setStyleSheet(STYLE)
        self.setMinimumWidth(660)

    def _editor(self, field: SettingField) -> tuple[Any, str]:
        key = field.key
        if field.kind == "bool":
            box = W.QCheckBox(field.label)
            box.setChecked(field.value == "true")
            box.toggled.connect(lambda _on: self.check(key))
            self.values[key] = lambda: "true" if box.isChecked() else "false"
            return box, ""
        if field.kind == "choice":
            combo = W.QComboBox()
            combo.addItems(list(field.choices))
            if field.value not in field.choices:
                combo.addItem(field.value)
            combo.setCurrentText(field.value)
            combo.currentTextChanged.connect(lambda _t: self.check(key))
            self.values[key] = combo.currentText
            return combo, field.label
        line = W.QLineEdit(field.value)
        line.setObjectName(f"field-{key}")
        line.textEdited.connect(lambda _t: self.check(key))
        self.values[key] = line.text
        return line, field.label

    def texts(self) -> dict[str, str]:
        return {key: value() for key, value in self.values.items()}

    def check(self, key: str) -> None:
        self._show_error(key, self.controller.check_setting(key, self.values[key]()))

    def _show_error(self, key: str, message: str | None) -> None:
        label = self.errors[key]
        if label.text() != (message or "") or label.isVisible() != bool(message):
            label.setText(message or "")
            label.setVisible(bool(message))
            self.adjustSize()  # room for the message (wrapped labels do not ask by themselves)

    def save(self) -> None:
        problems = self.controller.save_settings(self.texts())
        for key in self.values:
            self._show_error(key, problems.get(key))
        if not problems:
            self.accept()


class HistoryWindow(W.QDialog):
    """The update history, newest first; rows whose version is kept offer a roll-back button."""

    def __init__(self, controller: UpdateController, parent: Any = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Update History")
        self.setObjectName("updateHistory")
        self.table = W.QTableWidget(0, len(HISTORY_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(HISTORY_COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(W.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(W.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(W.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, W.QHeaderView.ResizeMode.Stretch)
        self.rows: list[HistoryRow] = []
        close = W.QDialogButtonBox(W.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        self.summary = _label()
        layout = W.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addWidget(close)
        self.resize(880, 380)

    def refresh(self) -> None:
        self.rows = self.controller.history_rows()
        for button in self.table.findChildren(W.QPushButton):
            button.hide()  # removed from the table below; deleted when the loop gets to it
        self.table.clearContents()
        self.table.setRowCount(len(self.rows))
        for index, row in enumerate(self.rows):
            for column, text in enumerate(
                (row.time, row.event, row.change, row.result, row.reason)
            ):
                item = W.QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(index, column, item)
            if row.can_roll_back and row.version:
                button = _button(ROLL_BACK_ROW, lambda v=row.version: self.roll_back_to(v))
                button.setObjectName(f"rollback-{row.version}")
                self.table.setCellWidget(index, 5, button)
        running = self.controller.view.running_version
        self.summary.setText(
            f"Running version {running}. Versions kept on this computer can be rolled back to "
            "at once, without a download."
        )

    def roll_back_to(self, version: str) -> None:
        running = self.controller.view.running_version or "the running version"
        if confirm(
            self,
            "Roll Back",
            f"Roll back to version {version}?",
            "Roll Back",
            f"Version {running} stays on this computer; you can return to it from this window.",
        ):
            self.controller.roll_back_to(version)
            self.refresh()


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
        self.settings_dialog: SettingsDialog | None = None
        self.history_window: HistoryWindow | None = None
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
        if view.notify and not self.window.isActiveWindow():
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

    def open_settings(self) -> SettingsDialog:
        self.settings_dialog = SettingsDialog(self.controller, self.window)
        self.settings_dialog.open()  # window-modal, returns at once
        return self.settings_dialog

    def open_history(self) -> HistoryWindow:
        if self.history_window is None:
            self.history_window = HistoryWindow(self.controller, self.window)
        self.history_window.refresh()  # the file may have changed since
        self.history_window.show()
        return self.history_window

    def roll_back_now(self) -> None:
        """The emergency rollback: one click on the menu, one confirmation."""
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
        key = (view.phase.value, view.version, view.headline)
        if key in self._notified:
            return
        self._notified.add(key)
        notifier = self._notifier
        if notifier is None:
            try:
                from client.ui.notify import OsNotifier
            except ImportError:
                return
            name = W.QApplication.applicationDisplayName() or "Updates"
            notifier = self._notifier = OsNotifier(name)
        if notifier.available():
            notifier.show(view.headline, view.advice or (view.version or ""))
