"""Scan HDiffPatch settings on the numpy pair: ``python -m bench.codec_settings [--pair scipy]``.

Not part of ``make bench`` (it takes several minutes); run it when reconsidering the settings
in client/codec.py. Each variant diffs in a fresh process (bench/_child.py) and its patch is
applied back and checked; bsdiff4 (stock tufup) is measured in the same run for the ratios.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench._measure import run_child
from bench.data import NUMPY, SCIPY, pair_tars
from bench.table import print_table

VARIANTS: dict[str, dict] = {
    "lzma2-9 w23 bigcache": {
        "compression": "lzma2",
        "config": {"level": 9, "window": 23},
        "big_cache_match": True,
        "validate": False,
    },
    "lzma2-9 w23": {
        "compression": "lzma2",
        "config": {"level": 9, "window": 23},
        "big_cache_match": False,
        "validate": False,
    },
    "lzma2-9 w23 bigcache validate": {
        "compression": "lzma2",
        "config": {"level": 9, "window": 23},
        "big_cache_match": True,
        "validate": True,
    },
    "lzma2-9 w23 bigcache 2 threads": {
        "compression": "lzma2",
        "config": {"level": 9, "window": 23, "threads": 2},
        "big_cache_match": True,
        "validate": False,
    },
    "lzma2-6 w23 bigcache": {
        "compression": "lzma2",
        "config": {"level": 6, "window": 23},
        "big_cache_match": True,
        "validate": False,
    },
    "lzma2-9 w26 bigcache": {
        "compression": "lzma2",
        "config": {"level": 9, "window": 26},
        "big_cache_match": True,
        "validate": False,
    },
    "zstd-19 w23 bigcache": {
        "compression": "zstd",
        "config": {"level": 19, "window": 23},
        "big_cache_match": True,
        "validate": False,
    },
    "zstd-22 w24 bigcache": {
        "compression": "zstd",
        "config": {"level": 22, "window": 24},
        "big_cache_match": True,
        "validate": False,
    },
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.codec_settings")
    parser.add_argument("--pair", choices=["numpy", "scipy"], default="numpy")
    parser.add_argument("--no-stock", action="store_true", help="skip bsdiff4 (ratios omitted)")
    parser.add_argument("--only", action="append", help="run only these variants")
    args = parser.parse_args(argv)
    pair = NUMPY if args.pair == "numpy" else SCIPY
    old, new = pair_tars(pair)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-settings-") as tmp:
        stock = None
        if not args.no_stock:
            patch = Path(tmp, "stock.patch")
            stock = run_child("diff", "bsdiff4", old, new, patch)
            rows.append(["bsdiff4 (stock tufup)", stock.size, stock.seconds, stock.peak_mb, ""])
        for name, settings in VARIANTS.items():
            if args.only and name not in args.only:
                continue
            codec = "hdiff:" + json.dumps(settings)
            patch = Path(tmp, "variant.patch")
            diff = run_child("diff", codec, old, new, patch)
            apply = run_child("apply", codec, old, patch, new)
            verdict = ""
            if stock is not None:
                hits = (
                    stock.seconds / diff.seconds >= 4,
                    diff.peak_mb / stock.peak_mb <= 0.4,
                    diff.size <= stock.size,
                )
                verdict = (
                    "all targets"
                    if all(hits)
                    else "misses "
                    + ", ".join(
                        label
                        for label, hit in zip(("time", "memory", "size"), hits, strict=True)
                        if not hit
                    )
                )
            rows.append(
                [name, diff.size, diff.seconds, diff.peak_mb, f"{apply.seconds:.2f} s  {verdict}"]
            )
            print(f"  done {name}", flush=True)
    print_table(
        f"HDiffPatch settings on {pair.label}",
        ["variant", "patch bytes", "diff s", "diff peak RSS MB", "apply s, targets"],
        rows,
    )


if __name__ == "__main__":
    main()
