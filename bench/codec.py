"""Patch codec: ours (client.codec, HDiffPatch) against stock tufup's (bsdiff4), side by side.

For each real release pair (wheels fetched with pip, unpacked, tarred with
client.archive.write_bundle_tar), every operation runs in a fresh process (bench/_child.py):
diff with ours, diff with bsdiff4, then apply each patch and check the result is the new tar
byte for byte. Reported per pair: patch size, diff time, diff peak memory (the child's own
``ru_maxrss``: the whole process, interpreter and both input tars included; and the same minus
the RSS just before the diff, i.e. what the algorithm itself needed), apply time and apply peak
memory. Each figure is one run (bsdiff4 on 120 MB takes minutes). Both codecs run on one thread,
so on an idle machine wall and CPU time agree; on a busy one, CPU time is the steadier figure
and both are printed. Targets from issue 2: diff at least 4x faster, peak memory at most 0.4x,
patch no larger than bsdiff4's.

Stock tufup's ``DefaultBinaryDiff`` is ``bsdiff4.diff`` and ``bsdiff4.patch`` and nothing
more, so bsdiff4 runs directly, in the project's environment (the ``dev`` extra), not through
tufup.
"""

from __future__ import annotations

from importlib.metadata import version

from bench._measure import Measured, run_child
from bench.data import NUMPY, SCIPY, Pair, gzipped, pair_tars, patch_file
from bench.table import print_table
from client.codec import CODEC_NAME

TITLE = "patch codec: diff and apply, ours vs stock tufup"


def _row(
    metric: str, ours: float, stock: float, unit: str, target: float | None, fmt: str
) -> list[str]:
    ratio = ours / stock
    met = "" if target is None else ("yes" if ratio <= target else "NO")
    shown = f"{ratio:.3f}" + (f" ({stock / ours:.1f}x faster)" if unit == "s" else "")
    return [
        metric,
        f"{ours:{fmt}} {unit}",
        f"{stock:{fmt}} {unit}",
        shown,
        "" if target is None else f"<= {target:.2f}",
        met,
    ]


def measure_pair(pair: Pair) -> dict[str, tuple[Measured, Measured]]:
    old, new = pair_tars(pair)
    results: dict[str, tuple[Measured, Measured]] = {}
    for codec in ("ours", "bsdiff4"):
        # always measured afresh; the patch is kept for bench/apply.py
        patch = patch_file(pair, codec)
        patch.parent.mkdir(parents=True, exist_ok=True)
        partial = patch.with_name(patch.name + ".partial")
        diff = run_child("diff", codec, old, new, partial)
        partial.replace(patch)
        apply = run_child("apply", codec, old, patch, new)
        results[codec] = (diff, apply)
    full_size = gzipped(new).stat().st_size
    (od, oa), (sd, sa) = results["ours"], results["bsdiff4"]
    mb = 1e6
    rows = [
        _row("patch size", od.size / 1e3, sd.size / 1e3, "KB", 1.0, ",.0f"),
        _row("diff time (wall)", od.seconds, sd.seconds, "s", 0.25, ".1f"),
        _row("diff CPU time (user+sys)", od.cpu, sd.cpu, "s", 0.25, ".1f"),
        _row("diff peak RSS, whole process", od.peak_mb, sd.peak_mb, "MB", 0.40, ",.0f"),
        _row("diff RSS above inputs", od.extra_mb, sd.extra_mb, "MB", None, ",.0f"),
        _row("apply time", oa.seconds, sa.seconds, "s", None, ".2f"),
        _row("apply peak RSS, whole process", oa.peak_mb, sa.peak_mb, "MB", None, ",.0f"),
    ]
    print_table(
        f"{pair.label}: tars {old.stat().st_size / mb:.0f} MB -> {new.stat().st_size / mb:.0f} MB"
        f" (full archive, gzip -9: {full_size / 1e6:.1f} MB)",
        ["metric", f"ours ({CODEC_NAME})", f"stock tufup (bsdiff4 {version('bsdiff4')})",
         "ours/stock", "target", "met"],
        rows,
    )  # fmt: skip
    return results


def run(quick: bool = False) -> None:
    print(
        "Each figure: one run in a fresh process. Peak RSS = the child's own ru_maxrss "
        "(interpreter + both tars + the codec); 'above inputs' subtracts the RSS measured "
        "just before the diff."
    )
    for pair in (NUMPY,) if quick else (NUMPY, SCIPY):
        measure_pair(pair)


if __name__ == "__main__":
    run()
