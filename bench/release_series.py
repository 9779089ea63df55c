"""A release series measured at checkpoints: metadata sizes and what a TUF client downloads.

Shared by our series (bench/_metadata_worker.py, the project's environment, tuf 7) and stock
tufup's (bench/stock/series.py, its own environment, tuf 4.0): this module imports only the
standard library and python-tuf's ngclient, which both environments have, so each series is
checked by the ngclient its own client is built on. At each checkpoint N it prints one JSON
line: metadata sizes, file counts, and the requests and payload bytes of a first check of a new
install (from 1.root.json), of a check that finds release N (the client was up to date at N-1)
and of an up-to-date check, counted by a fetcher that serves the repository's files from disk.
"""

from __future__ import annotations

import inspect
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol


class Series(Protocol):
    """A publisher making one release after another."""

    metadata: Path  # the published metadata/ folder
    targets: Path  # the published targets/ folder

    def release(self, number: int) -> None: ...

    def publish(self) -> None: ...


def _counting_fetcher(metadata_dir: Path) -> Any:
    """A tuf FetcherInterface over a folder, counting requests and bytes served."""
    from tuf.api.exceptions import DownloadHTTPError
    from tuf.ngclient import FetcherInterface

    class CountingFetcher(FetcherInterface):
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

    return CountingFetcher()


def client_check(metadata_dir: Path, client_dir: Path) -> dict[str, int]:
    """One update check (TUF refresh) by a client whose trusted metadata is in client_dir.

    A new client starts from the repository's 1.root.json. tuf 7 requires ``bootstrap=``: the
    first check passes that root's bytes, later ones ``None`` (the root the client cached);
    tuf before 7 has no such parameter and reads the cached root.json.
    """
    from tuf.ngclient import Updater

    options: dict[str, Any] = {}
    new = not (client_dir / "root.json").exists()
    if new:
        client_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(metadata_dir / "1.root.json", client_dir / "root.json")
    if "bootstrap" in inspect.signature(Updater.__init__).parameters:
        options["bootstrap"] = (metadata_dir / "1.root.json").read_bytes() if new else None
    fetcher = _counting_fetcher(metadata_dir)
    updater = Updater(
        metadata_dir=str(client_dir),
        metadata_base_url="bench://repo/metadata/",
        target_base_url="bench://repo/targets/",
        target_dir=str(client_dir),
        fetcher=fetcher,
        **options,
    )
    updater.refresh()
    return {"requests": fetcher.requests, "bytes": fetcher.bytes}


def _folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.iterdir() if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def measure(name: str, series: Series, checkpoints: list[int]) -> None:
    """Release up to the last checkpoint; print one JSON line per checkpoint."""
    checkpoints = sorted(checkpoints)
    with tempfile.TemporaryDirectory(prefix="bench-client-") as clients:
        following = Path(clients, "following")
        for number in range(1, checkpoints[-1] + 1):
            series.release(number)
            if number + 1 in checkpoints or number in checkpoints:
                series.publish()
            if number + 1 in checkpoints:
                shutil.rmtree(following, ignore_errors=True)
                client_check(series.metadata, following)  # up to date at N-1
            if number in checkpoints:
                found = client_check(series.metadata, following)
                up_to_date = client_check(series.metadata, following)
                first = client_check(series.metadata, Path(clients, f"new-{number}"))
                meta_files, meta_bytes = _folder_size(series.metadata)
                target_files, target_bytes = _folder_size(series.targets)
                print(json.dumps({
                    "series": name,
                    "releases": number,
                    "targets_json": (series.metadata / "targets.json").stat().st_size,
                    "metadata_files": meta_files,
                    "metadata_bytes": meta_bytes,
                    "target_files": target_files,
                    "target_bytes": target_bytes,
                    "first_check": first,
                    "found_check": found,
                    "up_to_date_check": up_to_date,
                }), flush=True)  # fmt: skip
