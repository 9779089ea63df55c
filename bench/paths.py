"""Where the benchmarks find the project and keep their working files (one home for both)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# wheels, bundles, tars, patches and the stock tufup environment; git-ignored, reused by later runs
BENCH_DIR = Path(os.environ.get("BENCH_DIR", ROOT / ".bench"))
DEMO_APP = ROOT / "examples" / "demo_app"
