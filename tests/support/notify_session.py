"""A private desktop for the OS-notification tests: Xvfb, a D-Bus session bus, dunst.

Every process is started here with a bounded wait for readiness and stopped by `Desktop.close`
(terminate, then kill), whatever happened. The bus has its own configuration: no service
directories, so nothing is started by D-Bus activation behind the test's back, and the test
decides whether a notification daemon runs at all. Missing programs make the test skip on a
developer machine and FAIL in CI (environment variable CI set), where .ci/run installs them
from .ci/packages.d/notify.txt.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.display import READY_TIMEOUT, need, read_through_newline, start_xvfb, stop

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class Desktop:
    """The processes of one test and the environment that points a child at them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.processes: list[subprocess.Popen[bytes]] = []
        # the bus socket's folder: short, since a unix socket path has at most 107 bytes
        self.socket_dir = Path(tempfile.mkdtemp(prefix="bus-"))
        self.env: dict[str, str] = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"}
        }
        self.env["HOME"] = str(workdir)  # no ~/.dbus/session-bus file of the developer's

    def start_display(self) -> str:
        """A fresh Xvfb (tests/support/display.py); its DISPLAY value, also put in self.env."""
        server, self.env["DISPLAY"] = start_xvfb("800x600x24")
        self.processes.append(server)
        return self.env["DISPLAY"]

    def start_bus(self) -> str:
        """A session bus of its own; returns its address (also put in self.env)."""
        daemon = need("dbus-daemon", "dbus")
        config = self.workdir / "bus.conf"
        config.write_text(BUS_CONFIG.format(dir=self.socket_dir))
        bus = subprocess.Popen(
            [daemon, f"--config-file={config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(bus)
        assert bus.stdout is not None
        address = read_through_newline(bus.stdout.fileno(), READY_TIMEOUT)
        if not address:
            raise RuntimeError(f"dbus-daemon did not start within {READY_TIMEOUT:.0f} s")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        return address

    def freeze_dunst(self) -> None:
        """Stop dunst (SIGSTOP): it keeps its name on the bus but answers nothing."""
        self.dunst.send_signal(signal.SIGSTOP)

    def start_dunst(self) -> None:
        """dunst on the display and bus; returns once it answers dunstctl."""
        dunst = need("dunst", "dunst")
        need("dunstctl", "dunst")
        config = self.workdir / "dunstrc"
        config.write_text("")  # dunst's built-in defaults, not the machine's /etc/xdg/dunst
        log = (self.workdir / "dunst.log").open("wb")
        self.dunst = subprocess.Popen(
            [dunst, "-config", str(config)], env=self.env, stdout=log, stderr=log
        )
        self.processes.append(self.dunst)
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while self.dunstctl("is-paused", check=False).returncode != 0:
            if time.monotonic() > deadline or self.dunst.poll() is not None:
                raise RuntimeError(
                    f"dunst did not answer within {READY_TIMEOUT:.0f} s: "
                    + (self.workdir / "dunst.log").read_text(errors="replace")
                )
            time.sleep(0.1)

    def dunstctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["dunstctl", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
            check=check,
        )

    def dunst_history(self) -> list[dict[str, Any]]:
        """Every notification dunst received, newest first: {"summary", "body", "appname", ...}.

        `close-all` first moves the ones on screen into the history.
        """
        self.dunstctl("close-all")
        deadline = time.monotonic() + 5
        while int(self.dunstctl("count", "displayed").stdout.strip() or 0):
            if time.monotonic() > deadline:
                raise RuntimeError("dunst kept notifications on screen after close-all")
            time.sleep(0.05)
        raw = json.loads(self.dunstctl("history").stdout)
        return [{key: field["data"] for key, field in entry.items()} for entry in raw["data"][0]]

    def close(self) -> None:
        """Stop every process this desktop started, newest first."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # a frozen one could not act on SIGTERM
            stop(process)
            if process.stdout is not None:
                process.stdout.close()
        self.processes.clear()
        shutil.rmtree(self.socket_dir, ignore_errors=True)
