"""A warm, up-to-date update check over HTTPS on loopback: requests, bytes and time.

Ours: ``Updater.from_config(path).check()`` on an install root set up by ``update-client
setup`` (the whole check: lock, state, TUF refresh over our Transport, release choice,
history). Stock: ``tufup.client.Client(...).check_for_updates()`` on the same bundle published
by tufup's own Repository, a new Client per check as an application does at each check. Both
servers are the test suite's HTTPS server on 127.0.0.1; one cold check first, then the warm
checks are timed (median). Requests and bytes are counted by the server (payload bytes of the
files served; a 404 counts 0). Targets (issue 3): at most 2 requests, warm check at most 20 ms.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.table import print_table

TITLE = "warm up-to-date update check over HTTPS loopback"
REPEAT = 20


def unavailable() -> str | None:
    for module in ("client.updater", "client.cli", "repo_tools.release"):
        if importlib.util.find_spec(module) is None:
            return f"{module} does not exist yet"
    return None


def _ours(demo) -> tuple[list[float], int, int, int]:
    from client import Updater

    events: list = []
    updater = Updater.from_config(demo.config)
    updater.on_event(events.append)
    if updater.check() is not None:
        raise RuntimeError("our client sees an update: the benchmark expects it up to date")
    times = []
    for _ in range(REPEAT):
        demo.ours.reset_requests()
        start = time.perf_counter()
        updater.check()
        times.append(time.perf_counter() - start)
    checked = [e for e in events if e.kind == "checked"][-1]
    return times, len(demo.ours.requests()), demo.ours.bytes_served(), checked.data["bytes"]


def _stock(demo) -> tuple[list[float], int, int]:
    from tufup.client import Client

    def check() -> object:
        client = Client(
            app_name="demo",
            app_install_dir=demo.stock_install,
            current_version=demo.version,
            metadata_dir=demo.stock_metadata,
            metadata_base_url=f"{demo.stock.url}/metadata/",
            target_dir=demo.stock_targets,
            target_base_url=f"{demo.stock.url}/targets/",
        )
        return client.check_for_updates()

    demo.stock_install.mkdir(parents=True, exist_ok=True)
    demo.stock_targets.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = str(demo.stock.ca_file)  # tuf's fetcher uses requests
    try:
        if check() is not None:
            raise RuntimeError("stock tufup sees an update: the benchmark expects it up to date")
        times = []
        for _ in range(REPEAT):
            demo.stock.reset_requests()
            start = time.perf_counter()
            check()
            times.append(time.perf_counter() - start)
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous
    return times, len(demo.stock.requests()), demo.stock.bytes_served()


SERVERS = (
    ("server closes each connection (HTTP/1.0)", False),
    ("keep-alive server (HTTP/1.1, as nginx or a CDN)", True),
)


def run(quick: bool = False) -> None:
    from bench.fixtures import demo as make_demo

    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp, make_demo(Path(tmp)) as demo:
        for label, keep_alive in SERVERS:
            demo.ours.server.keep_alive = demo.stock.server.keep_alive = keep_alive
            ours_times, ours_requests, ours_bytes, transport_bytes = _ours(demo)
            stock_times, stock_requests, stock_bytes = _stock(demo)
            ours_paths, stock_paths = demo.ours.requests(), demo.stock.requests()
            _report(label, demo.version, ours_times, ours_requests, ours_bytes,
                    stock_times, stock_requests, stock_bytes)  # fmt: skip
            print(f"  ours requested {ours_paths} ({transport_bytes} bytes by its own count)")
            print(f"  stock requested {stock_paths}")


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
