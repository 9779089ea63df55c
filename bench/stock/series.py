"""Stock tufup's release series for bench/metadata.py: ``python -m bench.stock.series WORK N...``.

``tufup.repo.Repository`` with its defaults (one archive and one bsdiff4 patch per release, no
pruning): ``add_bundle`` per release of the demo bundle WORK/bundle (copied there by the
caller), ``publish_changes`` at the checkpoints. Measured by bench/release_series.py with this
environment's ngclient (tuf 4.0, what tufup's client runs on).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from bench.release_series import measure


class Stock:
    def __init__(self, work: Path) -> None:
        from tufup.repo import Repository

        os.chdir(work)  # tufup keeps its config file in the working directory
        self.bundle = work / "bundle"
        self.keys_dir = work / "keys"
        self.repository = Repository(
            app_name="demo", repo_dir=work / "repo", keys_dir=self.keys_dir
        )
        self.repository.initialize()
        self.metadata = Path(self.repository.metadata_dir)
        self.targets = Path(self.repository.targets_dir)

    def release(self, number: int) -> None:
        self.repository.add_bundle(new_bundle_dir=self.bundle, new_version=f"0.0.{number}")

    def publish(self) -> None:
        self.repository.publish_changes(private_key_dirs=[self.keys_dir])


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: python -m bench.stock.series WORK N [N...]")
    work = Path(argv[0]).resolve()
    if not (work / "bundle").is_dir():
        raise SystemExit(f"{work / 'bundle'} is missing: copy the demo bundle there first")
    logging.disable(logging.CRITICAL)  # tufup logs every step
    measure("stock", Stock(work), [int(n) for n in argv[1:]])


if __name__ == "__main__":
    main(sys.argv[1:])
