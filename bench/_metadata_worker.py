"""Our release series for bench/metadata.py: ``python -m bench._metadata_worker SERIES WORK N...``.

SERIES: ``ours`` (repo-tools, keep everything) or ``ours-keepK`` (repo-tools with the retention
setting ``keep_releases=K`` applied at each release). The bundle is the demo application of
examples/ (its release stamp differs per release). Measured by bench/release_series.py with the
project's ngclient (tuf 7). Stock tufup's series is bench/stock/series.py, in its own
environment.

For speed, the series calls repo_tools.release.release in this process with its per-release
self-verification (a full client walk over every target) switched off; every check of
bench/release_series.py verifies all metadata as a client does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.paths import copy_demo_app
from bench.release_series import measure


class Ours:
    def __init__(self, work: Path, keep: int) -> None:
        self.repo, self.keys = work / "repo", work / "keys"
        self.bundle = work / "bundle"
        copy_demo_app(self.bundle)
        subprocess.run(
            [sys.executable, "-m", "repo_tools", "--repo", str(self.repo), "--keys",
             str(self.keys), "init", "--app-name", "demo"],
            check=True, stdout=subprocess.DEVNULL, cwd=work,
        )  # fmt: skip
        if keep:
            config_path = self.repo / "repo-tools.json"
            config = json.loads(config_path.read_text())
            config["keep_releases"] = keep
            config_path.write_text(json.dumps(config, indent=2))
        import repo_tools.release as release_module
        from repo_tools.verify import VerifyReport

        release_module.verify_repository = lambda *args, **kwargs: VerifyReport()
        self._release = release_module
        self.metadata = self.repo / "metadata"
        self.targets = self.repo / "targets"

    def release(self, number: int) -> None:
        request = self._release.ReleaseRequest(bump="patch", bundle=self.bundle)
        self._release.release(self.repo, self.keys, request)

    def publish(self) -> None:
        pass  # every release is published as it is made


def main(argv: list[str]) -> None:
    if len(argv) < 3 or not argv[0].startswith("ours"):
        raise SystemExit("usage: python -m bench._metadata_worker ours|ours-keepK WORK N [N...]")
    series, work, *points = argv
    keep = int(series.removeprefix("ours-keep")) if "keep" in series else 0
    import logging

    logging.disable(logging.CRITICAL)
    measure(series, Ours(Path(work), keep=keep), [int(p) for p in points])


if __name__ == "__main__":
    main(sys.argv[1:])
