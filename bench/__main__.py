"""``python -m bench [--quick] [NAME ...]``: run benchmarks and print their tables."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from importlib.metadata import version

from bench.stock_env import ENV_DIR, stock_versions

# name -> module; each module has run(quick: bool) and may have unavailable() -> str | None
MODULES = ["codec", "apply", "metadata", "check", "startup", "download", "scale"]
# the ones that run stock tufup itself, in its own environment (bench/stock_env.py)
STOCK_SIDE = {"apply", "metadata", "check", "startup", "scale"}


def _stock_environment(names: list[str]) -> str | None:
    """Make stock tufup's environment before the first benchmark that needs it; why not, if not."""
    if not STOCK_SIDE.intersection(names):
        return None
    try:
        versions = stock_versions()
    except RuntimeError as error:
        print(f"stock tufup's environment: FAILED: {error}", flush=True)
        return f"stock tufup's environment could not be made ({ENV_DIR})"
    print(
        f"ours: tuf {version('tuf')} in this environment; stock: {versions['requirement']} with "
        f"tuf {versions['tuf']} in {ENV_DIR}",
        flush=True,
    )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(MODULES)}")
    parser.add_argument(
        "--quick", action="store_true", help="numpy pair only, fewer repeats; scale: numpy alone"
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in MODULES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
        f"; {'quick run' if args.quick else 'full run'}"
    )
    names = args.names or MODULES
    no_stock = _stock_environment(names)
    failed = []
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        reason = getattr(module, "unavailable", lambda: None)()
        if reason is None and name in STOCK_SIDE:
            reason = no_stock
        print(f"\n=== {name}: {module.TITLE} ===", flush=True)
        if reason:
            print(f"skipped: {reason}")
            continue
        start = time.perf_counter()
        try:
            module.run(quick=args.quick)
        except Exception as error:  # one broken benchmark does not hide the others
            failed.append(name)
            print(f"FAILED: {type(error).__name__}: {error}", flush=True)
        print(f"({name} took {time.perf_counter() - start:.0f} s)", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
