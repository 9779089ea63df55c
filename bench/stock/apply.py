"""One timed patch update with stock tufup: ``python -m bench.stock.apply BASE PATCH OUT SIZE SHA``.

``tufup.common.Patcher.patch_and_verify`` exactly as its client's ``download_and_apply_update``
calls it: un-gzip the cached base ``.tar.gz`` BASE, apply the bsdiff4 PATCH, verify the tar's
SIZE and SHA (sha256, hex) as signed in the custom metadata, write the result gzipped (level 9,
``gzip.open``'s default) to OUT. Prints ``{"seconds": s}``, the call alone (imports excluded).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    if len(argv) != 5:
        raise SystemExit("usage: python -m bench.stock.apply BASE_TAR_GZ PATCH OUT_TAR_GZ SIZE SHA")
    base, patch, out = map(Path, argv[:3])
    size, sha256 = int(argv[3]), argv[4]
    from tufup.common import Patcher, TargetMeta

    meta = TargetMeta(
        name="app",
        version="2.0.0",
        is_archive=False,
        custom={
            "user": None,
            "tufup": {"tar_size": size, "tar_hash": sha256, "tar_hash_algorithm": "sha256"},
        },
    )
    start = time.perf_counter()
    Patcher.patch_and_verify(src_path=base, dst_path=out, patch_targets={meta: patch})
    print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
