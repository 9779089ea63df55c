"""Embedding must stay cheap: no heavy import on the start-up path (bench/ measures time)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = {"tuf", "requests", "securesystemslib", "cryptography", "hdiffpatch", "tufup", "click"}
HEAVY |= {"urllib3", "filelock", "packaging", "tqdm", "logging", "dataclasses", "tempfile"}
HEAVY |= {"typing", "asyncio", "tkinter", "PySide6", "PyQt6", "desktop_notifier", "platformdirs"}

PROBE = """
import json, sys, time
started = time.perf_counter()
from client import Updater
updater = Updater.from_config(install_root=sys.argv[1])
updater.on_event(lambda event: None)
updater.start()
elapsed = time.perf_counter() - started
print(json.dumps({"modules": sorted(sys.modules), "ms": elapsed * 1000}))
"""


def test_start_up_path_imports_nothing_heavy(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout)
    loaded = {name.split(".")[0] for name in report["modules"]}
    assert not loaded & HEAVY, loaded & HEAVY
