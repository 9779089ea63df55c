"""A virtual screen for the GUI tests: a fresh Xvfb per test, ready before it is used.

One home for starting Xvfb (the Tk, Qt and OS-notification tests all need one). The display
number is chosen here, not by Xvfb: with -displayfd alone Xvfb took :0 without a lock file
while other Xvfbs (parallel test runs) had socket files for :0. With a number given, Xvfb takes
/tmp/.X<n>-lock and refuses a display in use; then the next number is tried. The ready pipe is
read through the newline: Xvfb writes the number and the newline apart, and exits ("Cannot
write display number") if the pipe is closed in between. A missing program skips the test on
a developer's machine and fails it in CI (environment variable CI set), where .ci/run installs
what .ci/packages.d lists.
"""

from __future__ import annotations

import os
import random
import select
import shutil
import subprocess
import time

import pytest

READY_TIMEOUT = 20.0  # seconds for a process to come up


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; in CI a missing piece is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI must run this test (.ci/packages.d lists what it installs)")
    pytest.skip(reason)


def need(program: str, package: str) -> str:
    """The program's path; skip without it, but fail in CI (which must have installed it)."""
    path = shutil.which(program)
    if path is None:
        unavailable(f"{program} is not installed (apt-get install {package})")
    return str(path)


def read_through_newline(fd: int, timeout: float) -> str:
    """What a child writes to a pipe up to its first newline (or its exit), within `timeout`."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 64) if ready else b""
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


def start_xvfb(screen: str = "1280x1024x24") -> tuple[subprocess.Popen[bytes], str]:
    """A running Xvfb and its DISPLAY value (":<n>")."""
    xvfb = need("Xvfb", "xvfb")
    for number in random.sample(range(200, 900), 5):
        read_end, write_end = os.pipe()
        server = subprocess.Popen(
            [xvfb, f":{number}", "-displayfd", str(write_end), "-nolisten", "tcp"]
            + ["-screen", "0", screen],
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_end)
        try:
            answer = read_through_newline(read_end, READY_TIMEOUT)
        finally:
            os.close(read_end)
        if answer == str(number):
            return server, f":{number}"
        hung = server.poll() is None  # neither ready nor refused: a server that hangs
        stop(server)
        if hung:
            break
    raise RuntimeError(f"Xvfb did not start within {READY_TIMEOUT:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill; always reaped."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
