"""Applying a patch update end to end, network excluded: ours against stock tufup.

Input: the real numpy 2.3.4 -> 2.3.5 pair (59 MB tars), its patches from bench/codec.py
(cached in .bench/patches, made here if missing).

* stock tufup: ``tufup.common.Patcher.patch_and_verify`` exactly as its client calls it from
  ``download_and_apply_update``: un-gzip the cached base ``.tar.gz``, bsdiff4-patch, verify size
  and sha256, re-gzip the result at level 9 (the default of ``gzip.open``) into the new
  ``.tar.gz``. It runs in stock tufup's own environment (bench/stock/apply.py), one process
  per round, which times the call alone.
* ours: what our client does (client/updater.py, ``Updater._build_tar``; the base stays
  cached as an uncompressed tar): read the base tar and the patch, ``client.codec.apply_patch``,
  verify size and sha256, write the new tar (the next patch base) and rename it into place.

Ours runs in this process. Rounds alternate ours and stock; the median is reported. Target
(issue 3): ours at least 4x faster.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.data import NUMPY, cached_patch, gzipped, pair_tars
from bench.stock_env import run_stock
from bench.table import print_table
from client.codec import CODEC_NAME, apply_patch

TITLE = "applying a patch update (~60 MB bundle), network excluded"
REPEAT = 3


def stock_apply(base_gz: Path, patch: Path, out_gz: Path, size: int, sha256: str) -> float:
    """Seconds of one ``Patcher.patch_and_verify`` in stock tufup's environment."""
    return run_stock("apply", base_gz, patch, out_gz, size, sha256, timeout=600)["seconds"]


def ours_apply(base_tar: Path, patch: Path, out_tar: Path, size: int, sha256: str) -> None:
    """The patch branch of client.updater.Updater._build_tar, without its network parts."""
    new = apply_patch(base_tar.read_bytes(), patch.read_bytes())
    if len(new) != size or hashlib.sha256(new).hexdigest() != sha256:
        raise RuntimeError("patched tar does not match its signed length and hash")
    temp = out_tar.with_name(out_tar.name + ".tmp")
    temp.write_bytes(new)
    os.replace(temp, out_tar)


def run(quick: bool = False) -> None:
    old, new = pair_tars(NUMPY)
    new_bytes = new.read_bytes()
    size, sha256 = len(new_bytes), hashlib.sha256(new_bytes).hexdigest()
    del new_bytes
    base_gz = gzipped(old)
    stock_patch, ours_patch = cached_patch(NUMPY, "bsdiff4"), cached_patch(NUMPY, "ours")
    times: dict[str, list[float]] = {"ours": [], "stock": []}
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        out_gz, out_tar = Path(tmp, "new.tar.gz"), Path(tmp, "new.tar")
        for _ in range(REPEAT):
            times["stock"].append(stock_apply(base_gz, stock_patch, out_gz, size, sha256))
            start = time.perf_counter()
            ours_apply(old, ours_patch, out_tar, size, sha256)
            times["ours"].append(time.perf_counter() - start)
        if out_tar.read_bytes() != new.read_bytes():
            raise RuntimeError("our apply did not rebuild the new tar")
    ours, stock = statistics.median(times["ours"]), statistics.median(times["stock"])
    print_table(
        f"{TITLE}: {NUMPY.label}, median of {REPEAT}",
        [
            "",
            f"ours ({CODEC_NAME}, cached tar)",
            "stock tufup (bsdiff4, gzip round trip)",
            "ours/stock",
            "target",
            "met",
        ],
        [
            [
                "apply + verify + store",
                f"{ours:.2f} s",
                f"{stock:.2f} s",
                f"{ours / stock:.3f} ({stock / ours:.1f}x faster)",
                "<= 0.25",
                "yes" if ours / stock <= 0.25 else "NO",
            ],
            [
                "base kept in cache",
                f"{old.stat().st_size / 1e6:.1f} MB tar",
                f"{base_gz.stat().st_size / 1e6:.1f} MB tar.gz",
                "",
                "",
                "",
            ],
        ],
    )
    print(
        f"  runs (s): ours {[round(t, 2) for t in times['ours']]}, "
        f"stock {[round(t, 2) for t in times['stock']]}"
    )


if __name__ == "__main__":
    run()
