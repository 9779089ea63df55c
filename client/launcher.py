"""`update-client launch`: start the application as a child process and watch its start.

Rules:
- Before the start, the health decision (client.health): count and watch a start of a freshly
  installed version, or roll back one that failed on `failed_starts_before_rollback` starts in
  a row. `launch` sees a failed start at once, so the start that makes it fail that often is
  followed at once by the rollback. After a rollback, one plain line on stderr names the
  version that failed and the one now running, and that one is started (its exit code is
  then `launch`'s).
- The child gets `UPDATE_CLIENT_STARTUP_DONE` so its own `Updater.start()` does not count the
  start again. The start is good when the child is still running `healthy_after_seconds`
  later, or exits with code 0; a non-zero exit or a death by a signal before that is a failed
  start, recorded at once. A start the user ended (a SIGINT/SIGTERM sent to `launch` and
  forwarded) counts neither way.
- SIGTERM is forwarded to the child. SIGINT too, unless `launch` is in the terminal's
  foreground process group: then the terminal's Ctrl-C already reached the child (sending it
  again would interrupt the child's own clean-up).
- The child's exit code is `launch`'s; a child killed by a signal kills `launch` with the same
  signal (a shell sees the same status).
- A busy or damaged install root never keeps the application from starting: the decision's
  error becomes a warning line and the application starts unwatched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from client.errors import BusyError, UpdateError
from client.health import StartupDecision, rollback_line
from client.rollback import STARTUP_DONE_ENV, finish_start, rollback_if_failed
from client.updater import Updater

_RETRY_SECONDS = 5.0  # the install root's lock was busy: judge the start again this much later


def launch(updater: Updater, args: Sequence[str], say: Callable[[str], None]) -> int:
    """Run the current version's entry point with `args` as a child; returns its exit code.
    `say(line)` prints a line for the user (stderr)."""
    layout = updater.layout
    updater.running_version = layout.current_version()
    try:
        decision = updater.apply_startup_decision()
    except UpdateError as error:
        say(f"warning: {error.message}; starting the application unwatched")
        decision = StartupDecision.OK
    if decision == StartupDecision.ROLLBACK:
        _tell_rollback(updater, say)
    code = _run_watched(updater, args, decision == StartupDecision.TRIAL, say)
    if code != 0 and _rolled_back_now(updater, say):  # that failed start was one too many
        updater.running_version = layout.current_version()
        code = _run_watched(updater, args, False, say)
    return _pass_through(code)


def _tell_rollback(updater: Updater, say: Callable[[str], None]) -> None:
    notice = updater.rollback_notice()
    if notice:
        say(rollback_line(updater.layout.read_state().app, notice))


def _rolled_back_now(updater: Updater, say: Callable[[str], None]) -> bool:
    try:
        rolled_back = rollback_if_failed(updater._core)
    except UpdateError as error:  # e.g. busy: the next start rolls back instead
        say(f"warning: {error.message}")
        return False
    if rolled_back:
        _tell_rollback(updater, say)
    return rolled_back


def _run_watched(
    updater: Updater, args: Sequence[str], watching: bool, say: Callable[[str], None]
) -> int:
    """Start the current version as a child, judge its start, return its exit code."""
    current = updater.layout.current_version() or ""
    argv = updater.entry_argv()
    sys.stdout.flush()
    child = subprocess.Popen([*argv, *args], env={**os.environ, STARTUP_DONE_ENV: current})
    stopped = _forward_signals(child)
    owners = (os.getpid(), child.pid)
    # our own open start (TRIAL) is judged when it has lived long enough; later starts the
    # child makes itself (an exec restart into a newer version) are judged by exit code
    due = time.monotonic() + updater.settings.healthy_after_seconds
    while True:
        try:
            timeout = max(0.0, due - time.monotonic()) if watching else None
            code = child.wait(timeout=timeout)
            break
        except subprocess.TimeoutExpired:
            watching = not _judge(updater, owners, None, False, say)
            due = time.monotonic() + _RETRY_SECONDS
    for _ in range(3):  # the child is gone; another process may briefly hold the lock
        if _judge(updater, owners, code, bool(stopped), say):
            break
        time.sleep(_RETRY_SECONDS)
    return code


def _judge(
    updater: Updater, owners: tuple[int, ...], code: int | None, stopped: bool, say: Any
) -> bool:
    """Judge the watched start; False only when the lock was busy (try again later)."""
    try:
        finish_start(updater._core, owners, code, stopped)
    except BusyError:
        return False
    except UpdateError as error:  # already in history; the application runs on regardless
        say(f"warning: the start could not be judged: {error.message}")
    return True


def _forward_signals(child: subprocess.Popen[bytes]) -> list[int]:
    """Forward SIGINT/SIGTERM to `child`; the returned list collects the signals forwarded."""
    received: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        received.append(signum)
        if signum == signal.SIGINT and _terminal_reaches_child():
            return
        try:
            if os.name == "posix":
                child.send_signal(signum)
            else:
                child.terminate()
        except OSError:
            pass  # it has just ended

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    return received


def _terminal_reaches_child() -> bool:
    """Whether a Ctrl-C at the terminal reaches the child by itself: `launch` (and so the
    child, which shares its process group) is the terminal's foreground process group."""
    if os.name != "posix":
        return True  # a console's Ctrl-C goes to every process attached to it
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False  # no controlling terminal: the signal came from a process
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


def _pass_through(code: int) -> int:
    """The child's exit status as ours: its code, or death by the same signal."""
    if code >= 0:
        return code
    signum = -code
    try:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    except (OSError, ValueError):
        pass
    return 128 + signum  # the signal did not end us (ignored, or not a killing signal)
