"""The Tk adapter's windows: the rollback confirmation, Update Settings and Update History.

Part of client/ui/tk.py (which creates them; see its rules): each renders what the
controller gives (`setting_fields`, `check_setting`, `save_settings`, `history_rows`,
`roll_back_to`) and decides nothing itself. They open only from the user's own click.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from client.ui.controller import HistoryRow

TYPE_CHECKING = False
if TYPE_CHECKING:
    from client.ui.tk import TkUpdateUI

# the settings dialog's tabs: keys not named here go to the first
_TABS = {
    "General": frozenset(),
    "Advanced": frozenset(
        {"rollback_enabled", "max_backups", "backup_before_update", "max_download_mb", "proxy"}
    ),
}
# dialogs get a thin frame of their own (a window manager adds its own around it)
_BORDER = {"highlightthickness": 1, "highlightbackground": "#8c8c8c", "highlightcolor": "#8c8c8c"}


def _center(window: tk.Toplevel, over: tk.Misc) -> None:
    window.update_idletasks()
    width, height = window.winfo_reqwidth(), window.winfo_reqheight()
    x = over.winfo_rootx() + max((over.winfo_width() - width) // 2, 0)
    y = over.winfo_rooty() + max((over.winfo_height() - height) // 3, 0)
    window.geometry(f"+{x}+{y}")


class ConfirmDialog(tk.Toplevel):
    """A small modal question with Cancel and one action button; `ask()` returns the answer."""

    def __init__(self, ui: TkUpdateUI, title: str, headline: str, body: str, ok: str) -> None:
        super().__init__(ui.root, **_BORDER)
        self.ui, self.answer = ui, False
        self.title(title)
        self.transient(ui.root)
        self.resizable(False, False)
        frame = ttk.Frame(self, padding=18)
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text=headline, style="UpdateHead.TLabel").pack(anchor="w")
        ttk.Label(frame, text=body, wraplength=380, justify="left").pack(anchor="w", pady=(6, 14))
        row = ttk.Frame(frame)
        row.pack(fill="x")
        self.ok = ttk.Button(row, text=ok, style="UpdateDefault.TButton", command=self.accept)
        self.ok.pack(side="right")
        ttk.Button(row, text="Cancel", command=self.destroy).pack(side="right", padx=(0, 6))
        self.bind("<Return>", lambda _e: self.accept())
        self.bind("<Escape>", lambda _e: self.destroy())
        self.protocol("WM_DELETE_WINDOW", self.destroy)
        _center(self, ui.root)

    def accept(self) -> None:
        self.answer = True
        self.destroy()

    @classmethod
    def ask(cls, ui: TkUpdateUI, title: str, headline: str, body: str, ok: str) -> bool:
        dialog = cls(ui, title, headline, body, ok)
        ui.dialog = dialog
        try:
            dialog.wait_visibility()
            dialog.grab_set()
        except tk.TclError:  # not viewable yet (no window manager): modal enough without
            pass
        dialog.ok.focus_set()
        dialog.wait_window()
        ui.dialog = None
        return dialog.answer


class SettingsDialog(tk.Toplevel):
    """Update Settings: one row per `setting_fields()`, checked as typed, saved at once."""

    def __init__(self, ui: TkUpdateUI) -> None:
        super().__init__(ui.root, **_BORDER)
        self.ui = ui
        self.title("Update Settings")
        self.transient(ui.root)
        self.resizable(False, False)
        self.tabs = ttk.Notebook(self, padding=(12, 12, 12, 0))
        self.tabs.pack(fill="both", expand=True)
        pages = {name: ttk.Frame(self.tabs, padding=(14, 8, 14, 12)) for name in _TABS}
        for name, page in pages.items():
            self.tabs.add(page, text=name)
            page.columnconfigure(1, weight=1)
        self.values: dict[str, tk.StringVar] = {}
        self.errors: dict[str, ttk.Label] = {}
        self.widgets: dict[str, ttk.Widget] = {}
        self.page_of: dict[str, ttk.Frame] = {}
        rows = dict.fromkeys(pages, 0)
        for field in ui.controller.setting_fields():
            tab = next((n for n, keys in _TABS.items() if field.key in keys), "General")
            form, row = pages[tab], rows[tab]
            rows[tab] += 3
            var = tk.StringVar(self, value=field.value)
            widget: ttk.Widget
            if field.kind == "bool":
                widget = ttk.Checkbutton(
                    form, text=field.label, variable=var, onvalue="true", offvalue="false"
                )
                widget.grid(row=row, column=0, columnspan=2, sticky="w", pady=(8, 0))
            else:
                ttk.Label(form, text=field.label).grid(
                    row=row, column=0, sticky="w", pady=(8, 0), padx=(0, 12)
                )
                if field.kind == "choice":
                    widget = ttk.Combobox(
                        form, textvariable=var, values=field.choices, state="readonly", width=10
                    )
                else:
                    width = 10 if field.kind == "number" else 22
                    widget = ttk.Entry(form, textvariable=var, width=width)
                widget.grid(row=row, column=1, sticky="w", pady=(8, 0))
            column, indent = (0, 24) if field.kind == "bool" else (1, 0)
            for line, label in enumerate(
                (
                    ttk.Label(form, text=field.help, style="UpdateHelp.TLabel", wraplength=400),
                    ttk.Label(form, style="UpdateError.TLabel", wraplength=400),
                )
            ):
                label.grid(
                    row=row + 1 + line, column=column, columnspan=2 - column, sticky="w",
                    padx=(indent, 0),
                )  # fmt: skip
            label.grid_remove()
            var.trace_add("write", lambda *_a, k=field.key: self.check(k))
            self.values[field.key], self.errors[field.key] = var, label
            self.widgets[field.key], self.page_of[field.key] = widget, form
        self.problem = ttk.Label(self, style="UpdateError.TLabel", wraplength=480, padding=(18, 0))
        row = ttk.Frame(self, padding=(18, 12, 18, 16))
        row.pack(side="bottom", fill="x")
        self.save_button = ttk.Button(
            row, text="Save", style="UpdateDefault.TButton", command=self.save
        )
        self.save_button.pack(side="right")
        ttk.Button(row, text="Cancel", command=self.destroy).pack(side="right", padx=(0, 6))
        self.bind("<Return>", lambda _e: self.save())
        self.bind("<Escape>", lambda _e: self.destroy())
        _center(self, ui.root)

    def check(self, key: str) -> str | None:
        """Validate one field as it is typed; its message under it (None: fine)."""
        message = self.ui.controller.check_setting(key, self.values[key].get())
        self._show(key, message)
        return message

    def save(self) -> dict[str, str]:
        """Save every field; closes on success, else shows each problem under its field."""
        texts = {key: var.get() for key, var in self.values.items()}
        problems = self.ui.controller.save_settings(texts)
        for key in self.values:
            self._show(key, problems.get(key))
        wrong = [key for key in self.values if key in problems]
        if wrong:  # show the first problem, also when it is on the other tab
            self.tabs.select(self.page_of[wrong[0]])
        if problems.get(""):
            self.problem.configure(text=problems[""])
            self.problem.pack(side="bottom", fill="x")
        if not problems:
            self.destroy()
        return problems

    def _show(self, key: str, message: str | None) -> None:
        label, widget = self.errors[key], self.widgets[key]
        if message:
            label.configure(text=message)
            label.grid()
        else:
            label.grid_remove()
        if isinstance(widget, ttk.Entry) and not isinstance(widget, ttk.Combobox):
            widget.configure(style="UpdateInvalid.TEntry" if message else "TEntry")


class HistoryWindow(tk.Toplevel):
    """Update History: time, event, change, result, reason; roll back to a kept version."""

    COLUMNS = (("time", "Time", 150), ("event", "Event", 140), ("change", "Change", 130))
    COLUMNS += (("result", "Result", 70), ("reason", "Reason", 300))

    def __init__(self, ui: TkUpdateUI) -> None:
        super().__init__(ui.root, **_BORDER)
        self.ui = ui
        self.rows: list[HistoryRow] = []
        self.title("Update History")
        self.transient(ui.root)
        frame = ttk.Frame(self, padding=14)
        frame.pack(fill="both", expand=True)
        self.heading = ttk.Label(frame, style="UpdateHead.TLabel")
        self.heading.grid(row=0, column=0, sticky="w", pady=(0, 10))
        self.tree = ttk.Treeview(
            frame, columns=[c for c, _, _ in self.COLUMNS], show="headings", height=10,
            style="Update.Treeview",
        )  # fmt: skip
        for column, heading, width in self.COLUMNS:
            self.tree.heading(column, text=heading, anchor="w")
            self.tree.column(column, width=width, anchor="w", stretch=column == "reason")
        self.tree.tag_configure("failed", foreground="#c62828")
        self.tree.tag_configure("kept", foreground="#1f5fa8")
        scroll = ttk.Scrollbar(frame, command=self.tree.yview)
        self.tree.configure(yscrollcommand=scroll.set)
        self.tree.grid(row=1, column=0, sticky="nsew")
        scroll.grid(row=1, column=1, sticky="ns")
        frame.rowconfigure(1, weight=1)
        frame.columnconfigure(0, weight=1)
        self.hint = ttk.Label(frame, style="UpdateHelp.TLabel")
        self.hint.grid(row=2, column=0, sticky="w", pady=(8, 0))
        row = ttk.Frame(frame)
        row.grid(row=3, column=0, columnspan=2, sticky="ew", pady=(10, 0))
        ttk.Button(row, text="Close", command=self.destroy).pack(side="right")
        self.roll_back = ttk.Button(
            row, text="Roll Back to This Version", command=self.roll_back_selected
        )
        self.roll_back.pack(side="right", padx=(0, 6))
        self.tree.bind("<<TreeviewSelect>>", lambda _e: self._selected())
        self.bind("<Escape>", lambda _e: self.destroy())
        self.refresh()
        _center(self, ui.root)

    def refresh(self) -> None:
        selected = self.selected()
        self.rows = self.ui.controller.history_rows()
        self.tree.delete(*self.tree.get_children())
        for index, row in enumerate(self.rows):
            tags = ("failed",) if row.result == "Failed" else ("kept",) if row.can_roll_back else ()
            values = (row.time, row.event, row.change, row.result, row.reason)
            self.tree.insert("", "end", iid=str(index), values=values, tags=tags)
        for index, row in enumerate(self.rows):  # keep the selection on the same version
            if selected is not None and (row.time, row.change) == (selected.time, selected.change):
                self.tree.selection_set(str(index))
        self._selected()

    def select(self, index: int) -> None:
        self.tree.selection_set(str(index))
        self.tree.see(str(index))
        self._selected()

    def selected(self) -> HistoryRow | None:
        chosen = self.tree.selection() if hasattr(self, "tree") else ()
        return self.rows[int(chosen[0])] if chosen and int(chosen[0]) < len(self.rows) else None

    def roll_back_selected(self) -> None:
        row = self.selected()
        version = row.version if row is not None and row.can_roll_back else None
        if version and self.ui.confirm_rollback(version):
            self.ui.controller.roll_back_to(version)

    def _selected(self) -> None:
        row = self.selected()
        can = row is not None and row.can_roll_back and bool(row.version)
        self.roll_back.configure(state="normal" if can else "disabled")
        view = self.ui.controller.view
        self.heading.configure(text=f"Running version {view.running_version or 'unknown'}")
        kept = sum(r.can_roll_back for r in self.rows)
        self.hint.configure(
            text="Versions in blue are kept on this computer: select one to switch back to it."
            if kept
            else "No earlier version is kept on this computer."
        )
