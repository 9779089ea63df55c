"""Where the benchmarks find the project, its demo app and their own working files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# wheels, bundles, tars, patches and the stock tufup environment; git-ignored, reused by later runs
BENCH_DIR = Path(os.environ.get("BENCH_DIR", ROOT / ".bench"))
DEMO_APP = ROOT / "examples" / "demo_app"


def copy_demo_app(into: Path) -> Path:
    """A copy of examples/demo_app at ``into`` (no bytecode caches): a bundle to release."""
    shutil.copytree(DEMO_APP, into, ignore=shutil.ignore_patterns("__pycache__"))
    return into
