"""The Tk update banner of examples/gui_app.py, driven for real on a virtual screen (Xvfb).

The banner runs in its own process (tests/support/gui_driver.py): Tk must live and die on one
thread, which a pytest process full of server threads cannot promise. Skipped where no X server
can be started (CI installs Xvfb when it can, see .ci/run).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def display() -> Iterator[str]:
    """A fresh Xvfb; -displayfd makes it pick a free display and say when it is ready."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "800x400x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 20)
        number = os.read(read_end, 64).decode().strip() if ready else ""
        if not number:
            pytest.skip("Xvfb did not start within 20 s")
        yield f":{number}"
    finally:
        os.close(read_end)
        server.terminate()
        server.wait(timeout=10)


def test_banner_downloads_and_installs_through_its_buttons(display: str, installed_app) -> None:
    publisher, layout, root = installed_app.publisher, installed_app.layout, installed_app.root
    publisher.release("--bump", "minor", "--notes", "faster order book")

    driver = subprocess.run(
        [sys.executable, str(ROOT / "tests/support/gui_driver.py"), str(root), "1.1.0"]
        + ["faster order book"],
        env={**os.environ, "DISPLAY": display, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert driver.returncode == 0, driver.stderr + driver.stdout
    assert driver.stdout.strip() == "installed 1.1.0"
    assert layout.current_version() == "1.1.0"
