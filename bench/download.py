"""Download throughput over HTTPS on loopback: our transport against plain ``requests``.

The file is a real 59 MB tar (numpy 2.3.5 unpacked and tarred, see bench/data.py), served by
bench/loopback.py's HTTPS server on 127.0.0.1 (one server, one certificate authority for both).

* ours: ``client.transport.Transport`` as ngclient drives it for a target download:
  ``download_file(url, signed_length)`` inside ``target(...)`` (resumable partial file,
  length limit, deadline checks, a progress callback per chunk), then the yielded file is
  read through sha256 as ngclient's verification does;
* plain: ``requests.get(url, stream=True)`` and ``iter_content(1 MiB)`` into a file, then the
  same sha256 pass over the file.

Rounds alternate; medians of the wall time are reported as MB/s. Target (issue 3): ours at
least 0.9x plain requests.
"""

from __future__ import annotations

import hashlib
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from bench.data import NUMPY, bundle_tar
from bench.loopback import LoopbackServer, make_ca
from bench.table import print_table

TITLE = "download throughput over HTTPS loopback, ours vs plain requests"
ROUNDS = 7


def unavailable() -> str | None:
    if importlib.util.find_spec("client.transport") is None:
        return "client.transport does not exist yet"
    return None


def _sha256_file(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def ours(url: str, length: int, ca_file: Path, work: Path) -> str:
    from client.transport import Transport

    transport = Transport(ca_bundle=str(ca_file))
    progress_calls = []
    try:
        with (
            transport.operation(),
            transport.target(
                "bench.tar", work / "bench.tar.part", lambda *a: progress_calls.append(a)
            ),
            transport.download_file(url, length) as handle,
        ):
            return _sha256_file(handle)
    finally:
        transport.close()


def plain(url: str, ca_file: Path, work: Path) -> str:
    import requests

    out = work / "plain.tar"
    with requests.get(url, stream=True, verify=str(ca_file), timeout=30) as response:
        response.raise_for_status()
        with open(out, "wb") as sink:
            for chunk in response.iter_content(1 << 20):
                sink.write(chunk)
    with open(out, "rb") as handle:
        digest = _sha256_file(handle)
    out.unlink()
    return digest


def run(quick: bool = False) -> None:
    tar = bundle_tar(NUMPY.new)
    length = tar.stat().st_size
    with open(tar, "rb") as handle:
        expected = _sha256_file(handle)
    rounds = 3 if quick else ROUNDS
    times: dict[str, list[float]] = {"ours": [], "plain": []}
    with tempfile.TemporaryDirectory(prefix="bench-download-") as tmp:
        work = Path(tmp)
        ca = make_ca(work)
        server = LoopbackServer(tar.parent, ca.server_context)
        try:
            url = f"{server.url}/{tar.name}"
            plain(url, ca.ca_file, work)  # warm-up: page cache, TLS code paths
            for _ in range(rounds):
                start = time.perf_counter()
                if ours(url, length, ca.ca_file, work) != expected:
                    raise RuntimeError("our transport delivered other bytes")
                times["ours"].append(time.perf_counter() - start)
                start = time.perf_counter()
                if plain(url, ca.ca_file, work) != expected:
                    raise RuntimeError("plain requests delivered other bytes")
                times["plain"].append(time.perf_counter() - start)
        finally:
            server.close()
    mbps = {n: length / 1e6 / statistics.median(t) for n, t in times.items()}
    ratio = mbps["ours"] / mbps["plain"]
    print_table(
        f"{TITLE}: {length / 1e6:.0f} MB file, median of {rounds} rounds (sha256 included in both)",
        ["", "ours (client.transport)", "plain requests", "ours/plain", "target", "met"],
        [
            ["throughput", f"{mbps['ours']:.0f} MB/s", f"{mbps['plain']:.0f} MB/s",
             f"{ratio:.2f}", ">= 0.90", "yes" if ratio >= 0.9 else "NO"],
            ["median time", f"{statistics.median(times['ours']):.2f} s",
             f"{statistics.median(times['plain']):.2f} s", "", "", ""],
        ],
    )  # fmt: skip


if __name__ == "__main__":
    run()
