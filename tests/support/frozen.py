"""Frozen builds in tests: the demo application made into a PyInstaller onedir bundle.

`build_demo` runs the same PyInstaller command docs/shipping.md gives publishers as their
`build_command`; nothing is collected by hand (no --hidden-import, no --collect-*): whatever
the embedded client needs comes from its own hook (client/_pyinstaller). `client_copy`
builds with a copy of the client that differs visibly (it prints MARKER when imported), so a
test can tell which client a frozen executable runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_APP = ROOT / "examples" / "demo_app"
EXECUTABLE = "demo-app"  # the frozen entry point: client_settings.entry_point
MARKER = "embedded client: the changed build of 1.1.0"
# securesystemslib refers to cloud signing SDKs in optional imports; the client only verifies
NOT_NEEDED = ("boto3", "botocore")


@dataclass(frozen=True)
class FrozenBuild:
    bundle: Path  # dist/demo-app: what `repo-tools release` archives
    work: Path  # PyInstaller's work folder (its analysis, kept for inspection)
    seconds: float

    @property
    def executable(self) -> Path:
        return self.bundle / EXECUTABLE


def client_copy(folder: Path) -> Path:
    """A copy of this checkout's client package under folder/, changed to print MARKER
    when it is imported; the folder to put first on PyInstaller's search path."""
    package = folder / "client"
    shutil.copytree(ROOT / "client", package, ignore=shutil.ignore_patterns("__pycache__"))
    init = package / "__init__.py"
    init.write_text(init.read_text() + f"\nprint({MARKER!r}, flush=True)\n")
    return folder


def build_demo(base: Path, strategy_window: int, search_path: Path | None = None) -> FrozenBuild:
    """Freeze examples/demo_app (its strategy changed to `strategy_window`) into
    base/dist/demo-app with PyInstaller, onedir; `search_path` is searched for modules first."""
    source = base / "source"
    shutil.copytree(DEMO_APP, source, ignore=shutil.ignore_patterns("__pycache__", "build"))
    strategy = source / "strategy.py"
    strategy.write_text(strategy.read_text().replace("= 20", f"= {strategy_window}"))
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--onedir",
        "--name",
        EXECUTABLE,
        "--distpath",
        str(base / "dist"),
        "--workpath",
        str(base / "work"),
        "--specpath",
        str(base),
        "--log-level",
        "WARN",
        *(f"--exclude-module={name}" for name in NOT_NEEDED),
        *(["--paths", str(search_path)] if search_path else []),
        str(source / "app.py"),
    ]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=base)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    return FrozenBuild(base / "dist" / EXECUTABLE, base / "work" / EXECUTABLE, seconds)


def bundled_modules(build: FrozenBuild) -> set[str]:
    """The Python modules frozen into the executable (its PYZ archive)."""
    from PyInstaller.archive.readers import ZlibArchiveReader

    return set(ZlibArchiveReader(str(build.work / "PYZ-00.pyz")).toc)


def folder_size(folder: Path) -> int:
    """Bytes of the regular files under folder (links not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
