"""Build one release series and measure it: ``python -m bench._metadata_worker SERIES DIR N...``.

SERIES: ``ours`` (repo-tools, keep everything), ``ours-keepK`` (repo-tools with the retention
setting ``keep_releases=K`` applied at each release), or ``stock`` (tufup.repo.Repository with
its defaults: one archive and one bsdiff4 patch per release, no pruning). The bundle is the
demo application of examples/ (its release stamp differs per release). At each checkpoint N a
JSON line is printed with metadata sizes and what a python-tuf client (ngclient, the engine of
both tufup's client and ours) downloads, counted by a fetcher that serves the repository's
files from disk: a first check of a new install (from 1.root.json), a check that finds release
N (the client was up to date at N-1) and an up-to-date check.

For speed, our series calls repo_tools.release.release in this process with its per-release
self-verification (a full client walk over every target) switched off; every check below
verifies all metadata as a client does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.paths import DEMO_APP


class CountingFetcher:
    """A tuf FetcherInterface over a folder, counting requests and bytes served."""

    def __new__(cls, metadata_dir: Path):  # built lazily: tuf is imported only in the worker
        from tuf.api.exceptions import DownloadHTTPError
        from tuf.ngclient import FetcherInterface

        class _Fetcher(FetcherInterface):
            def __init__(self) -> None:
                self.requests = 0
                self.bytes = 0

            def _fetch(self, url: str) -> Iterator[bytes]:
                self.requests += 1
                path = metadata_dir / url.rsplit("/", 1)[-1]
                if not path.is_file():
                    raise DownloadHTTPError(f"{url} not found", 404)
                data = path.read_bytes()
                self.bytes += len(data)
                return iter([data])

        return _Fetcher()


def client_check(metadata_dir: Path, client_dir: Path) -> dict[str, int]:
    """One update check (TUF refresh) by a client whose trusted metadata is in client_dir."""
    from tuf.ngclient import Updater

    if not (client_dir / "root.json").exists():
        client_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(metadata_dir / "1.root.json", client_dir / "root.json")
    fetcher = CountingFetcher(metadata_dir)
    updater = Updater(
        metadata_dir=str(client_dir),
        metadata_base_url="bench://repo/metadata/",
        target_base_url="bench://repo/targets/",
        target_dir=str(client_dir),
        fetcher=fetcher,
    )
    updater.refresh()
    return {"requests": fetcher.requests, "bytes": fetcher.bytes}


def _folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.iterdir() if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


class Ours:
    def __init__(self, work: Path, keep: int) -> None:
        self.repo, self.keys = work / "repo", work / "keys"
        self.bundle = work / "bundle"
        shutil.copytree(DEMO_APP, self.bundle, ignore=shutil.ignore_patterns("__pycache__"))
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


class Stock:
    """tufup.repo.Repository with defaults; add_bundle per release, publish at checkpoints."""

    def __init__(self, work: Path) -> None:
        from tufup.repo import Repository

        os.chdir(work)  # tufup keeps its config file in the working directory
        self.bundle = work / "bundle"
        shutil.copytree(DEMO_APP, self.bundle, ignore=shutil.ignore_patterns("__pycache__"))
        self.keys_dir = work / "keys"
        self.repository = Repository(
            app_name="demo", repo_dir=work / "repo", keys_dir=self.keys_dir
        )
        self.repository.initialize()
        self.metadata = self.repository.metadata_dir
        self.targets = self.repository.targets_dir

    def release(self, number: int) -> None:
        self.repository.add_bundle(new_bundle_dir=self.bundle, new_version=f"0.0.{number}")

    def publish(self) -> None:
        self.repository.publish_changes(private_key_dirs=[self.keys_dir])


def main(argv: list[str]) -> None:
    series, work, *points = argv
    work = Path(work)
    checkpoints = sorted(int(p) for p in points)
    import logging

    logging.disable(logging.CRITICAL)  # tufup logs every step
    if series == "stock":
        repo: Ours | Stock = Stock(work)
    else:
        repo = Ours(work, keep=int(series.removeprefix("ours-keep")) if "keep" in series else 0)
    with tempfile.TemporaryDirectory(prefix="bench-client-") as clients:
        following = Path(clients, "following")
        for number in range(1, checkpoints[-1] + 1):
            repo.release(number)
            if number + 1 in checkpoints or number in checkpoints:
                repo.publish()
            if number + 1 in checkpoints:
                shutil.rmtree(following, ignore_errors=True)
                client_check(repo.metadata, following)  # up to date at N-1
            if number in checkpoints:
                found = client_check(repo.metadata, following)
                up_to_date = client_check(repo.metadata, following)
                first = client_check(repo.metadata, Path(clients, f"new-{number}"))
                meta_files, meta_bytes = _folder_size(repo.metadata)
                target_files, target_bytes = _folder_size(repo.targets)
                print(json.dumps({
                    "series": series,
                    "releases": number,
                    "targets_json": (repo.metadata / "targets.json").stat().st_size,
                    "metadata_files": meta_files,
                    "metadata_bytes": meta_bytes,
                    "target_files": target_files,
                    "target_bytes": target_bytes,
                    "first_check": first,
                    "found_check": found,
                    "up_to_date_check": up_to_date,
                }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
