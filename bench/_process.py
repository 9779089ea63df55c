"""A whole command measured as a child process: wall time, peak RSS, a time limit; disk usage.

:func:`run_measured` starts a command in a new session, waits for it with ``os.wait4`` (whose
resource usage is that child's own, with any children it waited for: ``ru_maxrss`` is the
peak RSS of the largest of them) and times it from spawn to exit, interpreter start-up and
imports included, as a user running the command sees it. A command still running at its time
limit is killed (its whole process group, which it alone is in) and reported as timed out,
never waited for longer. :func:`allocated_bytes` counts what a folder takes on disk the way
``du`` does: allocated blocks, each inode (a file with several hard links) counted once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessRun:
    command: tuple[str, ...]
    seconds: float  # wall time, spawn to exit (or to the kill at the time limit)
    peak_mb: float  # ru_maxrss of the child (and its waited-for children), in MiB
    cpu_seconds: float  # its user + system CPU time: steadier than wall time on a busy machine
    returncode: int | None  # None when it was killed at its time limit
    timeout: float
    stdout: str
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def problem(self) -> str:
        """Why this run gave no figures, for a table cell and a log line ('' when it did)."""
        if self.timed_out:
            return f"stopped at its time limit ({self.timeout:.0f} s)"
        if self.returncode != 0:
            tail = " / ".join(self.stderr.strip().splitlines()[-3:])
            return f"failed (exit {self.returncode}): {tail}"
        return ""


def run_measured(
    command: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> ProcessRun:
    """Run command to its end or its time limit; stdout and stderr also go to log.out/.err."""
    args = tuple(map(str, command))
    log = log or cwd / "command"
    out_path, err_path = log.with_name(log.name + ".out"), log.with_name(log.name + ".err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            start_new_session=True,
        )  # fmt: skip
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group of this child alone

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return ProcessRun(
        command=args,
        seconds=seconds,
        peak_mb=usage.ru_maxrss / 1024,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        returncode=None if killed.is_set() else proc.returncode,
        timeout=timeout,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


def allocated_bytes(folder: Path) -> int:
    """Bytes allocated on disk below folder (du's count): blocks, hard links counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in [folder, *_walk(folder)]:
        info = path.lstat()
        key = (info.st_dev, info.st_ino)
        if key not in seen:
            seen.add(key)
            total += info.st_blocks * 512
    return total


def _walk(folder: Path) -> list[Path]:
    paths: list[Path] = []
    for top, dirs, files in os.walk(folder):
        paths += [Path(top, name) for name in dirs + files]
    return paths


def mem_available_mb() -> float:
    """MemAvailable of /proc/meminfo in MiB (inf where it cannot be read)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("inf")
