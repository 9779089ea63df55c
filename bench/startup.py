"""Start-up cost of embedding the client: a small application, whole process, with and without.

Variants of the same small app (it imports json and pathlib and prints one line), each started
as a new ``python`` process and timed from spawn to exit:

* bare: the app alone, once with the project's interpreter and once with stock tufup's
  (``.bench/stock-env``: its own site-packages, so its own baseline);
* ours: plus ``from client import Updater; Updater.from_config(p).start()`` on a real install
  root (the background thread waits before doing any work, so the app exits at once), with the
  project's interpreter;
* stock: plus ``import tufup.client`` (what an app using stock tufup imports at start-up), with
  stock tufup's interpreter.

What an updater adds is its variant minus the bare app of the same environment. Rounds
alternate the variants (so background noise hits all alike) after warm-up runs; medians are
reported, with the number of modules each variant loads. Bytecode is cached as in
a shipped application: the children run without PYTHONDONTWRITEBYTECODE and with a private
PYTHONPYCACHEPREFIX, filled by the warm-up runs (otherwise every start would compile the
client's modules from source). Target (issue 3): ours adds at most 20 ms.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.fixtures import demo as make_demo
from bench.stock_env import stock_env, stock_python
from bench.table import print_table

TITLE = "start-up cost: a small app started with and without the update client"
ROUNDS = 30
WARMUP = 3

APP = """\
import json, pathlib, sys
{extra}
if len(sys.argv) > 2:
    print(json.dumps(len(sys.modules)))
else:
    print("ready", pathlib.Path(sys.argv[0]).name)
"""
CODE = {
    "bare": "",
    "ours": "from client import Updater\nUpdater.from_config(sys.argv[1]).start()",
    "stock": "import tufup.client",
}
# variant -> (its code, which environment runs it, the bare variant it is compared with)
VARIANTS = {
    "bare": ("bare", "ours", None),
    "ours": ("ours", "ours", "bare"),
    "bare, stock env": ("bare", "stock", None),
    "stock": ("stock", "stock", "bare, stock env"),
}


def unavailable() -> str | None:
    for module in ("client.updater", "client.cli", "repo_tools.release"):
        if importlib.util.find_spec(module) is None:
            return f"{module} does not exist yet"
    return None


def _time(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def _environments(tmp: Path) -> dict[str, tuple[Path, dict[str, str]]]:
    """Interpreter and environment variables of each side, bytecode cached as when shipped."""
    ours = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    stock = {k: v for k, v in stock_env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    for env in (ours, stock):
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return {"ours": (Path(sys.executable), ours), "stock": (stock_python(), stock)}


def run(quick: bool = False) -> None:
    rounds = 15 if quick else ROUNDS
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp, make_demo(Path(tmp)) as demo:
        environments = _environments(Path(tmp))
        scripts = {}
        for name, extra in CODE.items():
            scripts[name] = Path(tmp, f"app_{name}.py")
            scripts[name].write_text(APP.format(extra=extra))
        commands, envs = {}, {}
        for variant, (code, side, _) in VARIANTS.items():
            python, envs[variant] = environments[side]
            commands[variant] = [str(python), str(scripts[code]), str(demo.config)]
        modules = {
            n: json.loads(
                subprocess.run(c + ["count"], check=True, capture_output=True, env=envs[n]).stdout
            )
            for n, c in commands.items()
        }
        for _ in range(WARMUP):
            for name, command in commands.items():
                _time(command, envs[name])
        times: dict[str, list[float]] = {n: [] for n in commands}
        for _ in range(rounds):
            for name, command in commands.items():
                times[name].append(_time(command, envs[name]))
        hyperfine = shutil.which("hyperfine")
    med = {n: statistics.median(t) for n, t in times.items()}
    low = {n: min(t) for n, t in times.items()}
    added = {n: med[n] - med[bare] for n, (_, _, bare) in VARIANTS.items() if bare}
    added_low = {n: low[n] - low[bare] for n, (_, _, bare) in VARIANTS.items() if bare}
    print_table(
        f"{TITLE}: median of {rounds} rounds, whole process",
        ["", "bare app", "ours", "bare app, stock env", "stock tufup", "ours/stock (added)",
         "target", "met"],
        [
            ["process wall time", *(f"{med[n] * 1e3:.1f} ms" for n in commands), "", "", ""],
            ["added by the updater", "", f"{added['ours'] * 1e3:.1f} ms", "",
             f"{added['stock'] * 1e3:.1f} ms", f"{added['ours'] / added['stock']:.3f}",
             "<= 20 ms", "yes" if added["ours"] <= 0.020 else "NO"],
            ["added, fastest runs", "", f"{added_low['ours'] * 1e3:.1f} ms", "",
             f"{added_low['stock'] * 1e3:.1f} ms", "", "", ""],
            ["modules loaded", *(modules[n] for n in commands), "", "", ""],
        ],
    )  # fmt: skip
    spread = {n: (min(t) * 1e3, max(t) * 1e3) for n, t in times.items()}
    print("  min/max ms: " + ", ".join(f"{n} {lo:.0f}/{hi:.0f}" for n, (lo, hi) in spread.items()))
    if hyperfine:
        print(f"  (hyperfine is at {hyperfine}; this benchmark uses its own alternating timing)")


if __name__ == "__main__":
    run()
