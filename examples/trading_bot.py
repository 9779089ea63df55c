"""A windowed stand-in for the trading bot: a ticking price, orders, and the Update menu.

    python examples/trading_bot.py --install-root DIR   (or, installed: versions/<v>/app.py)
    trading-bot                                          (frozen: PyInstaller onedir)

It embeds the update client exactly as docs/gui.md tells applications to: an `Updater` from
the install root's settings, `TkUpdateUI` for the Update menu and the notice banner, and
`ui.start()` once the window is up (which applies the health rule: a version that keeps
running counts as good). "Place order" marks the updater busy while the fake order is in
flight, so no automatic install or restart happens in the middle of it. `make demo-gui`
releases it and lets a person watch an update arrive.

Frozen (docs/shipping.md, "The demo, frozen"), main calls `first_run` first thing: an
unpacked archive sets up its install root in the per-user data folder, with a launcher and a
desktop entry, and restarts from there. From source and under `make demo-gui`, first_run finds
nothing to do. For tests of the frozen build only: TRADING_BOT_UI_STEPS (examples/bot_steps.py).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk

from client import Updater
from client.ui.tk import TkUpdateUI

FROZEN = bool(getattr(sys, "frozen", False))
HERE = Path(sys.executable if FROZEN else __file__).resolve().parent  # the bundle folder
APP = "trading-bot"  # the app name of its repository, and the frozen executable's name
ORDER_SECONDS = 3.0


def own_version(updater: Updater) -> str:
    """The version stamped into this bundle by `repo-tools release`, else the installed one."""
    release = HERE / ".update" / "release.json"
    if release.exists():
        return str(json.loads(release.read_text())["version"])
    return updater.running_version or "unreleased"


class TradingBot:
    """The bot's window; `self.ui` is the update UI (the part an application embeds)."""

    def __init__(self, root: tk.Tk, updater: Updater, order_seconds: float = ORDER_SECONDS):
        self.root, self.updater, self.order_seconds = root, updater, order_seconds
        self.version = own_version(updater)
        self.price, self.orders, self.in_flight = 43_210.50, 0, False
        self.random = random.Random(7)
        root.title(f"Trading Bot {self.version}")
        root.minsize(640, 360)
        ttk.Style(root).theme_use("clam")

        # --- the update client: these lines are the whole embedding (docs/gui.md) ---
        self.ui = TkUpdateUI(root, updater, before_restart=self.save, app_name="Trading Bot")
        menubar = tk.Menu(root)
        file_menu = tk.Menu(menubar, tearoff=False)
        file_menu.add_command(label="Quit", command=root.destroy)
        menubar.add_cascade(label="File", menu=file_menu)
        menubar.add_cascade(label="Update", menu=self.ui.make_menu(menubar))
        root.config(menu=menubar)
        self.ui.make_notice(root).pack(side="top", fill="x")
        # ------------------------------------------------------------------------------

        body = ttk.Frame(root, padding=(24, 18))
        body.pack(fill="both", expand=True)
        ttk.Label(body, text="BTC / USD", font=("TkDefaultFont", 11)).grid(
            row=0, column=0, sticky="w"
        )
        self.price_label = ttk.Label(body, font=("TkDefaultFont", 30, "bold"))
        self.price_label.grid(row=1, column=0, sticky="w")
        self.change_label = ttk.Label(body, font=("TkDefaultFont", 11))
        self.change_label.grid(row=2, column=0, sticky="w")
        row = ttk.Frame(body)
        row.grid(row=3, column=0, sticky="w", pady=(18, 0))
        ttk.Label(row, text="Amount (BTC)").pack(side="left")
        self.amount = ttk.Entry(row, width=8)
        self.amount.insert(0, "0.10")
        self.amount.pack(side="left", padx=(8, 12))
        self.order_button = ttk.Button(row, text="Place order", command=self.place_order)
        self.order_button.pack(side="left")
        self.status = ttk.Label(body, text="No order in flight.", foreground="#555")
        self.status.grid(row=4, column=0, sticky="w", pady=(10, 0))
        body.columnconfigure(0, weight=1)
        footer = ttk.Frame(root, padding=(24, 6))
        footer.pack(side="bottom", fill="x")
        ttk.Separator(root).pack(side="bottom", fill="x")
        self.footer = ttk.Label(footer, text=f"Trading Bot {self.version}", foreground="#666")
        self.footer.pack(side="left")
        self.tick()

    def tick(self) -> None:
        change = self.random.gauss(0, 12)
        self.price = max(self.price + change, 1.0)
        self.price_label.configure(text=f"{self.price:,.2f}")
        arrow, colour = ("▲", "#1b873f") if change >= 0 else ("▼", "#c62828")
        self.change_label.configure(text=f"{arrow} {abs(change):.2f}", foreground=colour)
        self.root.after(1000, self.tick)

    def place_order(self) -> None:
        """A fake order is in flight for a few seconds: the updater must not restart now."""
        if self.in_flight:
            return
        self.in_flight = True
        self.updater.set_busy(True, "order in flight")
        self.order_button.configure(state="disabled")
        amount = self.amount.get()
        self.status.configure(text=f"Order in flight: buy {amount} BTC at {self.price:,.2f}...")
        self.root.after(int(self.order_seconds * 1000), lambda: self.filled(amount))

    def filled(self, amount: str) -> None:
        self.orders += 1
        self.in_flight = False
        self.updater.set_busy(False)
        self.order_button.configure(state="normal")
        self.status.configure(text=f"Filled: bought {amount} BTC ({self.orders} orders today).")

    def save(self) -> None:
        """Called before an update restarts the app: a real bot would save its state here."""
        print(f"trading bot {self.version}: saved {self.orders} orders before restart", flush=True)


def main() -> None:
    from client.firstrun import Start, first_run

    # an unpacked copy sets up its install root and restarts from it (this call then does not
    # return); already installed, or run from source, it returns at once
    started = first_run(APP, desktop_name="Trading Bot")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install-root", help="default: the install root this copy runs from")
    args, _ = parser.parse_known_args()
    installed = started.install_root if started.start == Start.INSTALLED else None
    updater = Updater.from_config(install_root=args.install_root or installed)
    root = tk.Tk()
    bot = TradingBot(root, updater)
    root.after_idle(bot.ui.start)  # once the window is up
    failed = ui_steps(bot)
    root.mainloop()
    bot.ui.stop()
    if failed():
        sys.exit(3)


def ui_steps(bot: TradingBot) -> Callable[[], bool]:
    """Tests of the frozen build only: the steps TRADING_BOT_UI_STEPS names (bot_steps.py)."""
    import os

    if not os.environ.get("TRADING_BOT_UI_STEPS"):
        return lambda: False
    from bot_steps import run_from_environment

    return run_from_environment(bot)


if __name__ == "__main__":
    main()
