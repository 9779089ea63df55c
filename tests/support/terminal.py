"""A command run on a real terminal (a pseudo-terminal that is its controlling terminal), for
what only a person at a terminal does: typing a passphrase at a prompt that does not echo."""

from __future__ import annotations

import os
import pty
import select
import signal
import time
from pathlib import Path


def run_in_terminal(
    argv: list[str],
    answers: list[tuple[str, str]],
    env: dict[str, str],
    cwd: Path,
    timeout: float = 60,
) -> tuple[int, str]:
    """Run argv on a new pty; each time the output shows answers[i][0], type answers[i][1]
    and Enter. Returns (exit code, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its stdin, stdout, stderr and controlling terminal
        try:
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    shown, pending, deadline = b"", list(answers), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the child closed the terminal (it exited)
                    break
                if not chunk:
                    break
                shown += chunk
            if pending and pending[0][0].encode() in shown.split(b"\x00")[-1]:
                prompt, text = pending.pop(0)
                shown += b"\x00"  # the answered part is not matched again
                os.write(fd, text.encode() + b"\r")
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.replace(b"\x00", b"").decode(errors="replace")
