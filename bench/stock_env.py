"""Stock tufup's own environment: a virtual environment in ``.bench/``, made once, run as a child.

The project depends on tuf 7; tufup 0.10 pins tuf 4.0, so the two cannot share one
environment. :func:`stock_python` makes ``.bench/stock-env`` with ``python -m venv`` and
``pip install tufup==0.10.0`` (which brings its own tuf 4.0.x) the first time it is needed and
reuses it afterwards. :func:`run_stock` runs one of the ``bench.stock`` modules with that
environment's interpreter and returns the JSON object it prints last. Nothing of stock tufup
is ever imported into the project's environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

from bench.paths import BENCH_DIR, ROOT

REQUIREMENT = "tufup==0.10.0"
ENV_DIR = BENCH_DIR / "stock-env"
# written last, naming what was installed: an environment without it is remade
STAMP = ENV_DIR / "bench-stock-env.json"
_PROBE = "import json, tuf, tufup; print(json.dumps({'tuf': tuf.__version__}))"


def _python() -> Path:
    return ENV_DIR / "bin" / "python"


def _log(message: str) -> None:
    print(f"  [stock-env] {message}", file=sys.stderr, flush=True)


def _step(command: list[str], what: str, timeout: float, hint: str) -> str:
    """Run one step of making the environment; on failure say what failed and what to do."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what} took longer than {timeout:.0f} s; {hint}") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise RuntimeError(
            f"{what} failed (exit {result.returncode}): {' / '.join(detail)}; {hint}"
        )
    return result.stdout


def _is_ready() -> bool:
    try:
        stamp = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return False
    return stamp.get("requirement") == REQUIREMENT and _python().is_file()


def stock_python() -> Path:
    """The interpreter of the stock tufup environment, made on first use (about 15 s)."""
    if _is_ready():
        return _python()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    with FileLock(str(BENCH_DIR / "stock-env.lock"), timeout=900):
        if _is_ready():  # another run made it while this one waited
            return _python()
        _log(f"making {ENV_DIR} with {REQUIREMENT} (once; later runs reuse it)")
        shutil.rmtree(ENV_DIR, ignore_errors=True)
        again = "run the benchmark again (an unfinished environment is made afresh)"
        _step(
            [sys.executable, "-m", "venv", str(ENV_DIR)],
            f"python -m venv {ENV_DIR}",
            300,
            f"check that this Python can make virtual environments (the venv module), then {again}",
        )
        pip = [str(_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        _step(
            pip + [REQUIREMENT],
            f"pip install {REQUIREMENT} into {ENV_DIR}",
            900,
            f"check that `pip download {REQUIREMENT}` works on this machine, then {again}",
        )
        probe = [str(_python()), "-c", _PROBE]
        versions = json.loads(_step(probe, f"importing tufup in {ENV_DIR}", 120, again))
        if not versions["tuf"].startswith("4."):
            raise RuntimeError(
                f"{REQUIREMENT} came with tuf {versions['tuf']}, not 4.x as it pins; remove "
                f"{ENV_DIR} and run again"
            )
        STAMP.write_text(json.dumps({"requirement": REQUIREMENT, **versions}) + "\n")
    return _python()


def stock_versions() -> dict[str, str]:
    """What the stock environment holds: ``{"requirement": "tufup==0.10.0", "tuf": "4.0.0"}``."""
    stock_python()
    return json.loads(STAMP.read_text())


def stock_command(module: str, *args: object) -> list[str]:
    """The command line that runs ``bench.stock.<module>`` with the stock interpreter."""
    return [str(stock_python()), "-m", f"bench.stock.{module}", *map(str, args)]


def stock_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables for a stock child: no PYTHONPATH leaking the project's packages."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(extra or {})
    return env


def run_stock(
    module: str, *args: object, timeout: float = 900, env: dict[str, str] | None = None
) -> dict:
    """Run ``bench.stock.<module> ARGS`` in the stock environment; its last JSON line, parsed."""
    command = stock_command(module, *args)
    try:
        result = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=stock_env(env),
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"stock tufup's bench.stock.{module} did not finish within {timeout:.0f} s"
        ) from None
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-5:]
        raise RuntimeError(
            f"stock tufup's bench.stock.{module} failed (exit {result.returncode}): "
            f"{' / '.join(detail)}. If its environment is damaged, remove {ENV_DIR} and run "
            f"again"
        )
    lines = result.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"stock tufup's bench.stock.{module} printed no result")
    return json.loads(lines[-1])
