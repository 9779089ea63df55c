"""Frozen builds in tests: the demo applications made into PyInstaller onedir bundles.

`build_demo` runs the same PyInstaller command docs/shipping.md gives publishers as their
`build_command`; `build_bot` runs the windowed trading bot's own `build_command`, the one in
examples/trading_bot.repo-tools.json. Nothing is collected by hand (no --hidden-import, no
--collect-*): whatever the embedded client needs comes from its own hook (client/_pyinstaller).
`client_copy` builds with a copy of the client that differs visibly (it prints MARKER when
imported), so a test can tell which client a frozen executable runs. `build_pair` makes the
two builds a test releases as 1.0.0 and 1.1.0; the tests call it once per run (a session
fixture), since a build takes 15-40 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEMO_APP = ROOT / "examples" / "demo_app"
EXECUTABLE = "demo-app"  # the frozen entry point: client_settings.entry_point
MARKER = "embedded client: the changed build of 1.1.0"
# securesystemslib refers to cloud signing SDKs in optional imports; the client only verifies
NOT_NEEDED = ("boto3", "botocore")
# the windowed demo's publisher settings: build_command, bundle, client_settings.entry_point
BOT_CONFIG = ROOT / "examples" / "trading_bot.repo-tools.json"
BOT_SOURCES = ("trading_bot.py", "bot_steps.py")  # what its build_command freezes


@dataclass(frozen=True)
class FrozenBuild:
    bundle: Path  # dist/demo-app: what `repo-tools release` archives
    work: Path  # PyInstaller's work folder (its analysis, kept for inspection)
    seconds: float
    name: str = EXECUTABLE  # the executable's name in the bundle

    @property
    def executable(self) -> Path:
        return self.bundle / self.name


@dataclass(frozen=True)
class FrozenBuilds:
    first: FrozenBuild  # released as 1.0.0: this checkout's client
    second: FrozenBuild  # released as 1.1.0: a client that prints MARKER (client_copy)


def build_pair(base: Path, build: Callable[[Path, Path | None], FrozenBuild]) -> FrozenBuilds:
    """`build(folder, search_path)` twice under base: with this checkout's client, then with
    client_copy's (search_path first on PyInstaller's module search)."""
    (base / "one").mkdir()
    (base / "two").mkdir()
    first = build(base / "one", None)
    second = build(base / "two", client_copy(base / "copy"))
    print(f"\nfrozen builds: {first.seconds:.0f} s and {second.seconds:.0f} s")
    return FrozenBuilds(first, second)


def user_environment(**extra: str) -> dict[str, str]:
    """The environment of a user starting a frozen executable: nothing of this test's Python
    in its way (no PYTHON* variables, no virtual environment), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {**env, **extra}


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


def bot_config() -> dict[str, Any]:
    """examples/trading_bot.repo-tools.json, the publisher's settings of the frozen bot."""
    config: dict[str, Any] = json.loads(BOT_CONFIG.read_text())
    return config


def build_bot(base: Path, search_path: Path | None = None) -> FrozenBuild:
    """Run the trading bot's `build_command` as `repo-tools release` does (a shell in the
    publisher's folder, here base/ holding a copy of examples/; `pyinstaller` from this
    environment, as `make release` finds it), `--paths search_path` added when given."""
    config = bot_config()
    command, bundle = str(config["build_command"]), base / str(config["bundle"])
    (base / "examples").mkdir(parents=True)
    for name in BOT_SOURCES:
        shutil.copy(ROOT / "examples" / name, base / "examples" / name)
    if search_path:
        command += f" --paths {search_path}"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    result = subprocess.run(
        command, shell=True, capture_output=True, text=True, timeout=600, cwd=base, env=env
    )
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    name = bundle.name
    work = base / str(config["bundle"]).replace("/dist/", "/work/")  # --workpath beside --distpath
    return FrozenBuild(bundle, work, seconds, name)


def bundled_modules(build: FrozenBuild) -> set[str]:
    """The Python modules frozen into the executable (its PYZ archive)."""
    from PyInstaller.archive.readers import ZlibArchiveReader

    return set(ZlibArchiveReader(str(build.work / "PYZ-00.pyz")).toc)


def folder_size(folder: Path) -> int:
    """Bytes of the regular files under folder (links not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
