"""The Tk adapter of the update UI: renders `UpdateController`'s View with tkinter/ttk.

    ui = TkUpdateUI(root, updater, before_restart=save_work)
    menubar.add_cascade(label="Update", menu=ui.make_menu(menubar))
    ui.make_notice(root).pack(side="top", fill="x")
    ui.start()                      # once the window is up

Rules:
- Tk is touched only on the thread that created `root`. The controller's `schedule` puts the
  call in a thread-safe queue that `after()` drains every 30 ms; nothing else crosses threads.
- The adapter renders and forwards clicks; what a state says, offers and when it is news is
  the controller's (client/ui/controller.py). Button and menu texts are its ACTION_LABELS
  and MENU_LABELS.
- Gentle: the notice is a frame inside the application's window. It never takes the focus,
  raises the window or rings the bell; dialogs open only from the user's own click.
- OS notifications (client.ui.notify, optional) only for news while the window is not in front.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import tkinter as tk
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

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
from client.ui.tk_windows import ConfirmDialog, HistoryWindow, SettingsDialog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from client.updater import Updater

log = logging.getLogger(__name__)
__all__ = ["ConfirmDialog", "HistoryWindow", "SettingsDialog", "TkUpdateUI", "UpdateNotice"]

# tone -> (background, accent stripe); the notice is coloured by what happened
TONES = {
    "info": ("#eaf2fc", "#3b82d6"),
    "warning": ("#fff5e0", "#e39b12"),
    "error": ("#fdeceb", "#d64545"),
}
_WARNING = {Phase.ROLLED_BACK, Phase.WITHDRAWN}
_SEPARATOR_BEFORE = {MenuItem.ROLLBACK, MenuItem.HISTORY}


def _tone(view: View) -> str:
    if view.phase == Phase.ERROR:
        return "error"
    return "warning" if view.phase in _WARNING or view.required else "info"


def _styles(root: tk.Misc) -> None:
    """The notice's ttk styles, once per interpreter (names start with "Update")."""
    style = ttk.Style(root)
    base = tkfont.nametofont("TkDefaultFont")
    bold = base.copy()
    bold.configure(weight="bold", size=base.actual("size") + 1)
    small = base.copy()
    small.configure(size=max(base.actual("size") - 1, 8))
    root._update_fonts = (bold, small)  # type: ignore[attr-defined]  # keep them alive
    for tone, (background, accent) in TONES.items():
        style.configure(f"Update{tone}.TFrame", background=background)
        style.configure(f"Update{tone}Stripe.TFrame", background=accent)
        style.configure(f"Update{tone}.TLabel", background=background)
        style.configure(f"Update{tone}Head.TLabel", background=background, font=bold)
        style.configure(f"Update{tone}Small.TLabel", background=background, foreground="#555")
        style.configure(f"Update{tone}Link.TLabel", background=background, foreground="#1f5fa8")
    style.configure("UpdateDefault.TButton", font=bold)
    style.configure("Update.Horizontal.TProgressbar", background=TONES["info"][1])
    style.configure("UpdateHelp.TLabel", foreground="#666", font=small)
    style.configure("UpdateError.TLabel", foreground="#c62828", font=small)
    style.configure("UpdateHead.TLabel", font=bold)
    style.configure("UpdateInvalid.TEntry", fieldbackground="#fdeceb", bordercolor="#c62828")
    style.configure("Update.Treeview", rowheight=max(base.metrics("linespace") + 8, 22))


class TkUpdateUI:
    """The update UI of one Tk application window (see the module docstring)."""

    def __init__(
        self,
        root: tk.Tk,
        updater: Updater,
        *,
        before_restart: Callable[[], None] | None = None,
        app_name: str = "",
        notifications: bool = True,
    ) -> None:
        self.root = root
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.controller = UpdateController(updater, self.schedule, before_restart=before_restart)
        _styles(root)
        self.menus: list[tk.Menu] = []
        self.notices: list[UpdateNotice] = []
        self.settings_dialog: SettingsDialog | None = None
        self.history_window: HistoryWindow | None = None
        self.dialog: ConfirmDialog | None = None  # the confirmation being asked, if any
        self.active = True  # the window is in front
        self.notifier: Any = None
        self._notified = -1
        if notifications:
            name = app_name or root.title()
            threading.Thread(target=self._find_notifier, args=(name,), daemon=True).start()
        for sequence in ("<FocusIn>", "<FocusOut>", "<Map>", "<Unmap>"):
            root.bind(sequence, lambda _e: root.after_idle(self._focus_changed), add="+")
        self.controller.subscribe(self._render)
        self._after = root.after(30, self._drain)

    # -- what the application calls ------------------------------------------------------------

    def schedule(self, call: Callable[[], None]) -> None:
        """Run `call` soon on Tk's thread (callable from any thread)."""
        self._calls.put(call)

    def make_menu(self, master: tk.Misc) -> tk.Menu:
        """The Update menu: `menubar.add_cascade(label="Update", menu=ui.make_menu(menubar))`."""
        menu = tk.Menu(master, tearoff=False)
        for item in MenuItem:
            if item in _SEPARATOR_BEFORE:
                menu.add_separator()
            menu.add_command(label=MENU_LABELS[item], command=lambda i=item: self.choose(i))
        self.menus.append(menu)
        self._render_menu(menu, self.controller.view)
        return menu

    @staticmethod
    def menu_index(item: MenuItem) -> int:
        """The position of `item` in a menu made by make_menu (separators count)."""
        items = list(MenuItem)
        return items.index(item) + sum(
            i in _SEPARATOR_BEFORE for i in items[: items.index(item) + 1]
        )

    def make_notice(self, master: tk.Misc) -> UpdateNotice:
        """The notice banner (pack or grid it where it belongs; empty while there is no news)."""
        notice = UpdateNotice(master, self)
        self.notices.append(notice)
        notice.render(self.controller.view)
        return notice

    def start(self) -> None:
        """The health rule, the launch questions and background checks (UpdateController)."""
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
        if self.notifier is not None:
            self.notifier.close()
        with contextlib.suppress(tk.TclError):  # the window is already gone
            self.root.after_cancel(self._after)

    def choose(self, item: MenuItem) -> None:
        """A menu item was chosen."""
        view = self.controller.view
        if item == MenuItem.HISTORY:
            self.open_history()
        elif item == MenuItem.SETTINGS:
            self.open_settings()
        elif item == MenuItem.ROLLBACK:
            if view.previous_version and self.confirm_rollback(view.previous_version):
                self.controller.perform(MenuItem.ROLLBACK)
        else:
            self.controller.perform(item)

    def confirm_rollback(self, version: str) -> bool:
        running = self.controller.view.running_version or "this version"
        return ConfirmDialog.ask(
            self,
            "Roll Back",
            f"Roll back to version {version}?",
            f"The application restarts in version {version}. Version {running} stays on this "
            "computer, so you can return to it from Update History.",
            f"Roll Back to {version}",
        )

    def open_settings(self) -> SettingsDialog:
        if self.settings_dialog is None or not self.settings_dialog.winfo_exists():
            self.settings_dialog = SettingsDialog(self)
        self.settings_dialog.lift()
        return self.settings_dialog

    def open_history(self) -> HistoryWindow:
        if self.history_window is None or not self.history_window.winfo_exists():
            self.history_window = HistoryWindow(self)
        self.history_window.lift()
        return self.history_window

    # -- inside ----------------------------------------------------------------------------

    def _drain(self) -> None:
        while True:
            try:
                call = self._calls.get_nowait()
            except queue.Empty:
                break
            try:
                call()
            except Exception:  # a bug in one callback must not stop the queue
                log.exception("update UI callback failed")
        self._after = self.root.after(30, self._drain)

    def _render(self, view: View) -> None:
        for menu in self.menus:
            self._render_menu(menu, view)
        for notice in self.notices:
            notice.render(view)
        if self.history_window is not None and self.history_window.winfo_exists():
            self.history_window.refresh()
        if view.notify and view.seq > self._notified and not self.active and self.notifier:
            self._notified = view.seq
            body = view.advice or (view.notes[0][1] if view.notes else "")
            self.notifier.show(view.headline, body)

    def _render_menu(self, menu: tk.Menu, view: View) -> None:
        for item in MenuItem:
            state = "normal" if item in view.menu else "disabled"
            menu.entryconfigure(self.menu_index(item), label=menu_label(item, view), state=state)

    def _focus_changed(self) -> None:
        try:
            focused = self.root.focus_get() is not None
        except (KeyError, tk.TclError):  # focus inside a combobox's list: still ours
            focused = True
        try:
            active = focused and self.root.state() not in ("iconic", "withdrawn")
        except tk.TclError:  # the window is gone
            return
        if active != self.active:
            self.active = active
            self.controller.set_window_active(active)

    def _find_notifier(self, app_name: str) -> None:
        """Off Tk's thread: asking the desktop whether it shows notifications may take a while."""
        try:
            from client.ui.notify import OsNotifier
        except ImportError:
            return
        try:
            notifier = OsNotifier(app_name)
            if notifier.available():
                self.notifier = notifier
        except Exception:
            log.warning("OS notifications are not available", exc_info=True)


class UpdateNotice(ttk.Frame):
    """The non-modal banner: headline, advice, when, release notes, progress, Details, buttons."""

    def __init__(self, master: tk.Misc, ui: TkUpdateUI) -> None:
        super().__init__(master)
        self.ui = ui
        self.tone = ""
        self.details_open = False
        self.stripe = ttk.Frame(self, width=5)
        self.body = ttk.Frame(self, padding=(12, 10, 12, 10))
        self.headline = ttk.Label(self.body, wraplength=600, justify="left")
        self.advice = ttk.Label(self.body, wraplength=600, justify="left")
        self.when = ttk.Label(self.body, wraplength=600, justify="left")
        self.notes_frame = ttk.Frame(self.body)
        self.notes = tk.Text(
            self.notes_frame, height=5, wrap="word", relief="flat", borderwidth=0,
            highlightthickness=1, highlightbackground="#c9d3de", padx=8, pady=6,
            background="white", cursor="arrow", takefocus=False, font="TkDefaultFont",
        )  # fmt: skip
        self.notes_scroll = ttk.Scrollbar(self.notes_frame, command=self.notes.yview)
        self.notes.configure(yscrollcommand=self.notes_scroll.set)
        self.notes.pack(side="left", fill="both", expand=True)
        bold = ui.root._update_fonts[0]  # type: ignore[attr-defined]
        self.notes.tag_configure("version", font=bold)
        self.notes.tag_configure("body", lmargin1=10, lmargin2=10, spacing3=6)
        self.progress_frame = ttk.Frame(self.body)
        self.bar = ttk.Progressbar(
            self.progress_frame, maximum=1.0, length=360, style="Update.Horizontal.TProgressbar"
        )
        self.progress_text = ttk.Label(self.progress_frame)
        self.bar.pack(side="left", fill="x", expand=True)
        self.progress_text.pack(side="left", padx=(10, 0))
        self.row = ttk.Frame(self.body)
        self.toggle = ttk.Label(self.row, cursor="hand2", takefocus=False)
        self.toggle.bind("<Button-1>", lambda _e: self.toggle_details())
        self.buttons: dict[Action, ttk.Button] = {}
        self.detail = ttk.Label(self.body, wraplength=600, justify="left")
        self.bind("<Configure>", self._wrap)

    def render(self, view: View) -> None:
        if not view.visible or not view.headline:
            self.stripe.pack_forget()
            self.body.pack_forget()
            self.configure(height=1)
            return
        self._set_tone(_tone(view))
        self.stripe.pack(side="left", fill="y")
        self.body.pack(side="left", fill="both", expand=True)
        for widget in self.body.winfo_children():
            widget.pack_forget()
        self.headline.configure(text=view.headline)
        self.headline.pack(anchor="w", fill="x")
        for label, text in ((self.advice, view.advice), (self.when, view.when)):
            label.configure(text=text)
            if text:
                label.pack(anchor="w", fill="x", pady=(3, 0))
        if view.notes and any(notes for _, notes in view.notes):
            self._fill_notes(view.notes)
            self.notes_frame.pack(anchor="w", fill="x", pady=(8, 0))
        if view.progress is not None or view.phase == Phase.INSTALLING:
            if view.progress is None:
                self.bar.configure(mode="indeterminate")
                self.bar.start(20)
            else:
                self.bar.stop()
                self.bar.configure(mode="determinate", value=view.progress)
            self.progress_text.configure(text=view.progress_text)
            self.progress_frame.pack(anchor="w", fill="x", pady=(8, 0))
        else:
            self.bar.stop()
        self._render_buttons(view)
        self.row.pack(anchor="w", fill="x", pady=(10, 0))
        self.detail.configure(text=view.detail)
        self.toggle.configure(text=("Hide details" if self.details_open else "Details..."))
        if view.detail:
            self.toggle.pack(side="left")
            if self.details_open:
                self.detail.pack(anchor="w", fill="x", pady=(6, 0))
        else:
            self.toggle.pack_forget()

    def toggle_details(self) -> None:
        self.details_open = not self.details_open
        self.render(self.ui.controller.view)

    def button(self, action: Action) -> ttk.Button:
        """The button of `action` (for drivers and tests); KeyError if it is not shown."""
        return self.buttons[action]

    def _render_buttons(self, view: View) -> None:
        for button in self.buttons.values():
            button.destroy()
        self.buttons = {}
        # the default action (the first) rightmost, as desktop dialogs do
        for position, action in enumerate(view.actions):
            button = ttk.Button(
                self.row,
                text=ACTION_LABELS[action],
                style="UpdateDefault.TButton" if position == 0 else "TButton",
                takefocus=False,
                command=lambda a=action: self.ui.controller.perform(a),
            )
            button.pack(side="right", padx=(6, 0))
            self.buttons[action] = button

    def _fill_notes(self, notes: tuple[tuple[str, str], ...]) -> None:
        self.notes.configure(state="normal")
        self.notes.delete("1.0", "end")
        lines = 0
        for version, text in notes:
            self.notes.insert("end", f"Version {version}\n", "version")
            self.notes.insert("end", (text.strip() or "No release notes.") + "\n", "body")
            lines += 2 + text.strip().count("\n")
        self.notes.delete("end-2c", "end-1c")  # no empty last line
        self.notes.configure(state="disabled", height=min(lines + 1, 9))
        if lines + 1 > 9:
            self.notes_scroll.pack(side="right", fill="y")
        else:
            self.notes_scroll.pack_forget()

    def _set_tone(self, tone: str) -> None:
        if tone == self.tone:
            return
        self.tone = tone
        self.configure(style=f"Update{tone}.TFrame")
        self.stripe.configure(style=f"Update{tone}Stripe.TFrame")
        for frame in (self.body, self.progress_frame, self.row, self.notes_frame):
            frame.configure(style=f"Update{tone}.TFrame")
        self.headline.configure(style=f"Update{tone}Head.TLabel")
        for label in (self.advice, self.progress_text, self.detail):
            label.configure(style=f"Update{tone}.TLabel")
        self.when.configure(style=f"Update{tone}Small.TLabel")
        self.toggle.configure(style=f"Update{tone}Link.TLabel")

    def _wrap(self, event: tk.Event) -> None:
        width = max(event.width - 40, 200)
        for label in (self.headline, self.advice, self.when, self.detail):
            label.configure(wraplength=width)
