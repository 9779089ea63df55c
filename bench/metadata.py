"""Metadata growth: targets metadata size and update-check bytes at 10, 100 and 1000 releases.

Three series, built side by side in one run (one process each, run concurrently: only sizes
are measured here, never time): our publisher keeping every release, our publisher with
retention (``keep_releases`` applied at each release, as ``repo-tools prune --keep`` does),
both in the project's environment (bench/_metadata_worker.py), and stock tufup's
``Repository`` (no pruning) in its own environment (bench/stock/series.py). Check bytes
are what python-tuf's client downloads (payload bytes, HTTP headers excluded): the check that
finds a new release (timestamp, snapshot, targets) and an up-to-date check (probe for the
next root version, which 404s, and timestamp).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.paths import ROOT, copy_demo_app
from bench.stock_env import stock_command, stock_env
from bench.table import print_table

TITLE = "metadata growth: targets metadata and update-check bytes vs number of releases"
KEEP = 10
SERIES = ["ours", f"ours-keep{KEEP}", "stock"]


def unavailable() -> str | None:
    for module in ("repo_tools.release", "repo_tools.prune", "repo_tools.init"):
        if importlib.util.find_spec(module) is None:
            return f"{module} does not exist yet"
    return None


def _command(series: str, work: Path, checkpoints: list[int]) -> list[str]:
    """Ours in the project's environment; stock in stock tufup's, with the demo bundle copied."""
    if series == "stock":
        copy_demo_app(work / "bundle")
        return stock_command("series", work, *checkpoints)
    return [
        sys.executable,
        "-m",
        "bench._metadata_worker",
        series,
        str(work),
        *map(str, checkpoints),
    ]


def collect(checkpoints: list[int]) -> dict[tuple[str, int], dict]:
    results: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-metadata-") as tmp:
        procs = []
        for series in SERIES:
            work = Path(tmp, series)
            work.mkdir()
            command = _command(series, work, checkpoints)
            env = stock_env() if series == "stock" else None
            procs.append(
                subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
            )
        for series, proc in zip(SERIES, procs, strict=True):
            out, _ = proc.communicate(timeout=1200)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"series {series} failed (exit {proc.returncode}); its error is printed above"
                )
            for line in out.splitlines():
                row = json.loads(line)
                results[row["series"], row["releases"]] = row
    return results


def _check(row: dict, kind: str) -> str:
    check = row[kind]
    return f"{check['bytes']:,} B / {check['requests']}"


def run(quick: bool = False) -> None:
    checkpoints = [10, 100] if quick else [10, 100, 1000]
    r = collect(checkpoints)
    keep = f"ours-keep{KEEP}"
    rows = []
    for n in checkpoints:
        ours, kept, stock = r["ours", n], r[keep, n], r["stock", n]
        rows.append(
            [
                n,
                f"{ours['targets_json']:,}",
                f"{kept['targets_json']:,}",
                f"{stock['targets_json']:,}",
                f"{ours['targets_json'] / stock['targets_json']:.2f}",
                f"{kept['targets_json'] / stock['targets_json']:.3f}",
            ]
        )
    print_table(
        "targets.json bytes (one full archive per release plus patches; demo app bundle)",
        ["releases", "ours, keep all", f"ours, keep {KEEP}", "stock tufup", "all/stock",
         f"keep {KEEP}/stock"],
        rows,
    )  # fmt: skip
    rows = []
    for n in checkpoints:
        ours, kept, stock = r["ours", n], r[keep, n], r["stock", n]
        rows.append(
            [
                n,
                _check(ours, "found_check"),
                _check(kept, "found_check"),
                _check(stock, "found_check"),
                _check(ours, "up_to_date_check"),
                _check(kept, "up_to_date_check"),
                _check(stock, "up_to_date_check"),
                f"{ours['up_to_date_check']['bytes'] / stock['up_to_date_check']['bytes']:.2f}",
            ]
        )
    print_table(
        "update check: payload bytes / requests (python-tuf client)",
        ["releases", "new release: ours all", f"ours keep {KEEP}", "stock",
         "up to date: ours all", f"ours keep {KEEP}", "stock", "up to date ours/stock"],
        rows,
    )  # fmt: skip
    rows = []
    for n in checkpoints:
        for series in SERIES:
            row = r[series, n]
            rows.append(
                [
                    n,
                    series.replace("-keep", ", keep ").replace("stock", "stock tufup"),
                    f"{row['metadata_files']:,} / {row['metadata_bytes'] / 1e3:,.0f} KB",
                    f"{row['target_files']:,} / {row['target_bytes'] / 1e3:,.0f} KB",
                    f"{row['first_check']['bytes']:,} B / {row['first_check']['requests']}",
                ]
            )
    print_table(
        "published repository: files / size, and a new install's first check",
        ["releases", "series", "metadata/", "targets/", "first check: bytes / requests"],
        rows,
    )


if __name__ == "__main__":
    run()
