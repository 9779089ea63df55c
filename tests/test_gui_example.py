"""The Tk update banner of examples/gui_app.py, driven for real on a virtual screen (Xvfb).

Skipped where no X server can be started (CI installs Xvfb when it can, see .ci/run).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from client import Updater
from tests.client_support import Publisher, install_root

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    number = 90 + os.getpid() % 50
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "800x400x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    monkeypatch.setenv("DISPLAY", f":{number}")
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


def load_example():
    spec = importlib.util.spec_from_file_location("gui_app", ROOT / "examples" / "gui_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pump_until(window, condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the banner never reached the expected state"
        window.update()
        time.sleep(0.01)


def buttons(banner) -> dict:
    return {child.cget("text"): child for child in banner.buttons.winfo_children()}


def test_banner_downloads_and_installs_through_its_buttons(
    display, tmp_path: Path, https_server, test_ca
) -> None:
    import tkinter as tk

    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0")
    server = https_server(publisher.repo)
    root = tmp_path / "install"
    layout = install_root(root, publisher, "1.0.0", [server.url], test_ca.ca_file)
    publisher.release("--bump", "minor", "--notes", "faster order book")

    gui = load_example()
    updater = Updater.from_config(install_root=root)
    window = tk.Tk()
    try:
        banner = gui.UpdateBanner(window, updater)
        banner.pack()
        assert banner.title.cget("text") == "No update news"
        updater.check()  # as the app's startup check would
        pump_until(window, lambda: banner.view.state == "available")
        assert "1.1.0" in banner.title.cget("text")
        assert "faster order book" in banner.detail.cget("text")
        buttons(banner)["Download"].invoke()
        pump_until(window, lambda: banner.view.state == "ready")
        assert set(buttons(banner)) == {"Install", "Dismiss"}
        buttons(banner)["Install"].invoke()
        pump_until(window, lambda: banner.view.state == "installed")
        assert set(buttons(banner)) == {"Restart", "Dismiss"}
        assert layout.current_version() == "1.1.0"
        buttons(banner)["Dismiss"].invoke()
        assert banner.view.state == "idle" and not buttons(banner)
    finally:
        window.destroy()
