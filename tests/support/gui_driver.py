"""Drives the Tk banner of examples/gui_app.py through check, Download, Install and Dismiss.

Run as its own process by tests/test_gui_example.py: a Tk interpreter must be created and torn
down on one thread, and inside a pytest process full of server threads a later garbage
collection on another thread aborts the whole run ("Tcl_AsyncDelete ... wrong thread").

    python tests/support/gui_driver.py INSTALL_ROOT EXPECTED_VERSION EXPECTED_NOTES
"""

from __future__ import annotations

import importlib.util
import sys
import time
import tkinter as tk
from collections.abc import Callable
from pathlib import Path

from client import Updater

ROOT = Path(__file__).resolve().parents[2]


def load_example():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gui_app", ROOT / "examples" / "gui_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pump_until(window: tk.Tk, condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"the banner never reached {what}")
        window.update()
        time.sleep(0.01)


def buttons(banner) -> dict:  # type: ignore[no-untyped-def]
    return {child.cget("text"): child for child in banner.buttons.winfo_children()}


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(message)


def main(install_root: str, version: str, notes: str) -> None:
    gui = load_example()
    updater = Updater.from_config(install_root=install_root)
    window = tk.Tk()
    try:
        banner = gui.UpdateBanner(window, updater)
        banner.pack()
        expect(banner.title.cget("text") == "No update news", "the idle banner has a title")
        updater.check()  # as the app's startup check would
        pump_until(window, lambda: banner.view.state == "available", "'available'")
        expect(version in banner.title.cget("text"), f"the title names {version}")
        expect(notes in banner.detail.cget("text"), "the detail line shows the release notes")
        buttons(banner)["Download"].invoke()
        pump_until(window, lambda: banner.view.state == "ready", "'ready'")
        offered = set(buttons(banner))
        expect(offered == {"Install", "Dismiss"}, f"ready offers {offered}")
        buttons(banner)["Install"].invoke()
        pump_until(window, lambda: banner.view.state == "installed", "'installed'")
        offered = set(buttons(banner))
        expect(offered == {"Restart", "Dismiss"}, f"installed offers {offered}")
        buttons(banner)["Dismiss"].invoke()
        expect(banner.view.state == "idle" and not buttons(banner), "Dismiss clears the banner")
    finally:
        window.destroy()
    print(f"installed {updater.layout.current_version()}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
