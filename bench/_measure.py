"""Run one operation of bench/_child.py in a fresh process and collect its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.paths import ROOT


@dataclass(frozen=True)
class Measured:
    seconds: float  # the operation alone, inputs in memory
    cpu: float  # its CPU time, user + system (less sensitive than wall time to a busy machine)
    peak_mb: float  # peak RSS of the whole child process (its own ru_maxrss)
    baseline_mb: float  # RSS just before the operation: interpreter, codec, input bytes
    size: int | None = None  # patch bytes (diff only)

    @property
    def extra_mb(self) -> float:
        """Peak RSS above the baseline: the memory the operation itself needed."""
        return self.peak_mb - self.baseline_mb


def run_child(op: str, codec: str, *files: Path, timeout: float = 900) -> Measured:
    """``python -m bench._child OP CODEC FILES...`` in a fresh process, its JSON line parsed."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench._child", op, codec, *map(str, files)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{op} with {codec} failed (exit {proc.returncode})")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return Measured(
        seconds=data["seconds"],
        cpu=data.get("cpu", float("nan")),
        peak_mb=data["peak_kb"] / 1024,
        baseline_mb=data["baseline_kb"] / 1024,
        size=data.get("size"),
    )
