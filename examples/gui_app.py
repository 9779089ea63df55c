"""A Tk update banner driven by the updater's events: how a GUI application embeds the client.

    python examples/gui_app.py --install-root DIR

Updater events arrive on the updater's background thread; they go through a queue that Tk's
thread drains every 50 ms (Tk must only be touched from its own thread), are folded into an
`UpdateView` (client.progress) and rendered: a title, a detail line, a progress bar, and
buttons for the actions the view offers. Buttons call the updater on a worker thread so the
window never freezes.
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import threading
import tkinter as tk
from tkinter import ttk

from client import Event, Updater
from client.progress import UpdateView, dismiss, reduce


class UpdateBanner(ttk.Frame):
    def __init__(self, master: tk.Misc, updater: Updater) -> None:
        super().__init__(master, padding=12)
        self.updater = updater
        self.view = UpdateView()
        self.title = ttk.Label(self, font=("TkDefaultFont", 12, "bold"))
        self.detail = ttk.Label(self, wraplength=420)
        self.bar = ttk.Progressbar(self, length=420, maximum=1.0)
        self.buttons = ttk.Frame(self)
        for widget in (self.title, self.detail, self.bar, self.buttons):
            widget.pack(anchor="w", pady=2)
        self.events: queue.Queue[Event] = queue.Queue()
        updater.on_event(self.events.put)  # any thread may put; only Tk's thread takes
        self.render()
        self.drain()

    def drain(self) -> None:
        while not self.events.empty():
            self.apply(self.events.get_nowait())
        self.after(50, self.drain)

    def apply(self, event: Event) -> None:
        self.view = reduce(self.view, event.kind, event.message, event.data, event.notify)
        self.render()

    def render(self) -> None:
        view = self.view
        self.title.configure(text=view.title or "No update news")
        self.detail.configure(text=view.detail)
        self.bar.configure(value=view.progress or 0.0)
        for child in self.buttons.winfo_children():
            child.destroy()
        for action in view.actions:
            ttk.Button(
                self.buttons, text=action.title(), command=lambda a=action: self.act(a)
            ).pack(side="left", padx=2)
        if view.notification:
            self.bell()

    def act(self, action: str) -> None:
        if action == "dismiss":
            self.view = dismiss(self.view)
            self.render()
            return
        work = {
            "download": self.updater.download,
            "install": self.updater.install,
            "retry": self.updater.update,
            "restart": self.updater.restart,
        }[action]
        # errors become `error` events; the thread only keeps the window responsive
        threading.Thread(target=lambda: _quietly(work), daemon=True).start()


def _quietly(work) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(Exception):  # already reported as an `error` event
        work()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install-root", required=True)
    args = parser.parse_args()
    updater = Updater.from_config(install_root=args.install_root)
    root = tk.Tk()
    root.title("Trading bot — updates")
    UpdateBanner(root, updater).pack(fill="both", expand=True)
    updater.start()
    threading.Thread(target=lambda: _quietly(updater.check), daemon=True).start()
    root.mainloop()
    updater.stop()


if __name__ == "__main__":
    main()
