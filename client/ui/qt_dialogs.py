"""The Qt adapter's windows: the settings dialog, the history window, the confirmation box.

Rules as in client/ui/qt.py (which opens these): they render what the controller gives
(`setting_fields`, `check_setting`, `save_settings`, `history_rows`, `roll_back_to`) and hold no
update logic; GUI thread only. A rollback is always confirmed first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from client.ui.controller import HistoryRow, UpdateController
from client.ui.qt import STYLE, W, _button, _label

if TYPE_CHECKING:
    from client.ui.fields import SettingField

ROLL_BACK_ROW = "Roll Back to This Version"
HISTORY_COLUMNS = ("Time", "Event", "Change", "Result", "Reason", "")


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
