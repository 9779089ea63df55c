"""A warm, up-to-date update check over HTTPS on loopback: requests, bytes and time.

Ours: ``Updater.from_config(path).check()`` on an install root set up by ``update-client
setup`` (the whole check: lock, state, TUF refresh over our Transport, release choice,
history), in this process. Stock: ``tufup.client.Client(...).check_for_updates()`` on the same
bundle published by tufup's own Repository, a new Client per check as an application does at
each check, in stock tufup's environment (bench/stock/check.py, which times each check
itself). Both servers are bench/loopback.py's on 127.0.0.1; one cold check first, then the
warm checks are timed (median). Requests and bytes are counted by the server (payload bytes
of the files served; a 404 counts 0). Targets (issue 3): at most 2 requests, warm check at
most 20 ms.
"""

from __future__ import annotations

import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

from bench.fixtures import APP, Demo
from bench.fixtures import demo as make_demo
from bench.stock_env import run_stock
from bench.table import print_table

TITLE = "warm up-to-date update check over HTTPS loopback"
REPEAT = 20


def unavailable() -> str | None:
    for module in ("client.updater", "client.cli", "repo_tools.release"):
        if importlib.util.find_spec(module) is None:
            return f"{module} does not exist yet"
    return None


def _ours(demo: Demo) -> tuple[list[float], int, int, int, list[str]]:
    """Our client in this process: one cold check, then REPEAT timed warm ones."""
    from client import Updater

    events: list = []
    updater = Updater.from_config(demo.config)
    updater.on_event(events.append)
    if updater.check() is not None:
        raise RuntimeError("our client sees an update: the benchmark expects it up to date")
    times = []
    for _ in range(REPEAT):
        demo.ours.reset()
        start = time.perf_counter()
        updater.check()
        times.append(time.perf_counter() - start)
    checked = [e for e in events if e.kind == "checked"][-1]
    requests = demo.ours.requests()
    return times, len(requests), demo.ours.bytes_served(), checked.data["bytes"], requests


def _stock_checks(demo: Demo, rounds: int) -> dict:
    result = run_stock(
        "check", "--app", APP, "--version", demo.version, "--url", demo.stock.url,
        "--client-dir", demo.stock_client, "--rounds", rounds,
        timeout=300, env={"REQUESTS_CA_BUNDLE": str(demo.ca_file)},
    )  # fmt: skip
    if any(found is not None for found in result["updates"]):
        raise RuntimeError("stock tufup sees an update: the benchmark expects it up to date")
    return result


def _stock(demo: Demo) -> tuple[list[float], int, int, list[str]]:
    """Stock tufup's client in its environment: a cold check, then one process of warm ones.

    That process makes one untimed check and REPEAT timed ones, each with a new Client. The
    server counts all of them; every warm check asks for the same files, so one check's share
    is the count divided by REPEAT + 1 (checked: the requests repeat exactly).
    """
    _stock_checks(demo, 0)
    demo.stock.reset()
    times = _stock_checks(demo, REPEAT)["times"]
    checks = REPEAT + 1
    requests = demo.stock.requests()
    per_check, left = divmod(len(requests), checks)
    last = requests[len(requests) - per_check :]
    if left or requests != last * checks:
        raise RuntimeError(
            f"stock tufup's warm checks did not repeat the same requests: {requests}"
        )
    return times, per_check, demo.stock.bytes_served() // checks, last


SERVERS = (
    ("server closes each connection (HTTP/1.0)", False),
    ("keep-alive server (HTTP/1.1, as nginx or a CDN)", True),
)


def run(quick: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp, make_demo(Path(tmp)) as demo:
        for label, keep_alive in SERVERS:
            demo.ours.keep_alive = demo.stock.keep_alive = keep_alive
            ours_times, ours_requests, ours_bytes, transport_bytes, ours_paths = _ours(demo)
            stock_times, stock_requests, stock_bytes, stock_paths = _stock(demo)
            _report(label, demo.version, ours_times, ours_requests, ours_bytes,
                    stock_times, stock_requests, stock_bytes)  # fmt: skip
            print(f"  ours requested {ours_paths} ({transport_bytes} bytes by its own count)")
            print(f"  stock requested {stock_paths} (each warm check)")


def _report(
    label: str,
    version: str,
    ours_times: list[float],
    ours_requests: int,
    ours_bytes: int,
    stock_times: list[float],
    stock_requests: int,
    stock_bytes: int,
) -> None:
    ours, stock = statistics.median(ours_times), statistics.median(stock_times)
    print_table(
        f"{TITLE}, {label}: demo app {version}, median of {REPEAT} warm checks",
        ["", "ours", "stock tufup", "ours/stock", "target", "met"],
        [
            ["requests", ours_requests, stock_requests, f"{ours_requests / stock_requests:.2f}",
             "<= 2", "yes" if ours_requests <= 2 else "NO"],
            ["payload bytes", ours_bytes, stock_bytes, f"{ours_bytes / stock_bytes:.2f}", "", ""],
            ["wall time", f"{ours * 1e3:.1f} ms", f"{stock * 1e3:.1f} ms", f"{ours / stock:.2f}",
             "<= 20 ms", "yes" if ours <= 0.020 else "NO"],
            ["fastest", f"{min(ours_times) * 1e3:.1f} ms", f"{min(stock_times) * 1e3:.1f} ms",
             "", "", ""],
        ],
    )  # fmt: skip


if __name__ == "__main__":
    run()
