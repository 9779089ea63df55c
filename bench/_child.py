"""One measured operation in a fresh process: ``python -m bench._child OP CODEC FILES...``.

The child prints, as one JSON line: the wall time and the CPU time (user + system, this
process) of the operation itself (inputs already in memory, imports done); its own peak RSS
at the end (``getrusage(RUSAGE_SELF).ru_maxrss``: the whole process, this child alone); and
its RSS just before the operation (the baseline: the interpreter, the imported codec and the
input bytes), so the parent can also report the operation's own share (peak minus baseline).

OP ``diff``: CODEC OLD NEW OUT, writes the patch to OUT.
OP ``apply``: CODEC OLD PATCH NEW, applies and checks the result equals NEW.
CODEC: ``ours`` (client.codec), ``bsdiff4`` (``bsdiff4.diff/patch``, which is all that stock
tufup's ``DefaultBinaryDiff`` is, run here in the project's environment), or ``hdiff:<json>``
for a variant of our codec's settings (bench/codec_settings.py).
"""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _codec(name: str) -> tuple[Callable[[bytes, bytes], bytes], Callable[[bytes, bytes], bytes]]:
    if name == "ours":
        from client import codec

        return codec.make_patch, codec.apply_patch
    if name == "bsdiff4":
        import bsdiff4

        return bsdiff4.diff, bsdiff4.patch
    if name.startswith("hdiff:"):
        import hdiffpatch

        settings = json.loads(name[len("hdiff:") :])
        kind = settings.pop("compression")
        config_class = {"lzma2": hdiffpatch.Lzma2Config, "zstd": hdiffpatch.ZStdConfig}[kind]
        config = config_class(**settings.pop("config"))

        def diff(old: bytes, new: bytes) -> bytes:
            return hdiffpatch.diff(old, new, compression=config, **settings)

        return diff, hdiffpatch.apply
    raise SystemExit(f"unknown codec {name!r}: use ours, bsdiff4 or hdiff:<json settings>")


def main(argv: list[str]) -> None:
    op, codec_name, *files = argv
    diff, apply = _codec(codec_name)
    if op == "diff":
        old_path, new_path, out_path = map(Path, files)
        old, new = old_path.read_bytes(), new_path.read_bytes()
        baseline = _rss_kb()
        cpu, start = _cpu(), time.perf_counter()
        patch = diff(old, new)
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu
        Path(out_path).write_bytes(patch)
        result = {"seconds": seconds, "cpu": cpu, "baseline_kb": baseline, "size": len(patch)}
    elif op == "apply":
        old_path, patch_path, new_path = map(Path, files)
        old, patch = old_path.read_bytes(), patch_path.read_bytes()
        expected = hashlib.sha256(new_path.read_bytes()).hexdigest()
        baseline = _rss_kb()
        cpu, start = _cpu(), time.perf_counter()
        new = apply(old, patch)
        seconds, cpu = time.perf_counter() - start, _cpu() - cpu
        if hashlib.sha256(new).hexdigest() != expected:
            raise SystemExit(f"{codec_name}: applying the patch did not give the new tar")
        result = {"seconds": seconds, "cpu": cpu, "baseline_kb": baseline}
    else:
        raise SystemExit(f"unknown operation {op!r}: use diff or apply")
    result["peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
