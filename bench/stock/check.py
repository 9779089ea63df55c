"""Timed update checks with stock tufup's client: ``python -m bench.stock.check OPTIONS``.

Each check is what an application using stock tufup does: a new ``tufup.client.Client`` and
``check_for_updates()``. ``--rounds N`` runs one untimed check first (the process's own
warm-up: imports, TLS set-up) and then N timed ones; ``--rounds 0`` runs one check only, the
cold one of a fresh install. The server's certificate authority comes from
``REQUESTS_CA_BUNDLE``, which tuf's requests-based fetcher honours. Prints ``{"times": [s...],
"updates": [version or null, ...]}`` (every check's answer, the untimed one first).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stock.check")
    parser.add_argument("--app", required=True)
    parser.add_argument("--version", required=True, help="the installed version")
    parser.add_argument("--url", required=True, help="the server; metadata/ and targets/ below it")
    parser.add_argument("--client-dir", required=True, type=Path, help="metadata/ holds root.json")
    parser.add_argument("--rounds", type=int, default=0)
    args = parser.parse_args(argv)
    if "REQUESTS_CA_BUNDLE" not in os.environ:
        raise SystemExit("set REQUESTS_CA_BUNDLE to the server's certificate authority (PEM)")
    if not (args.client_dir / "metadata" / "root.json").is_file():
        raise SystemExit(f"{args.client_dir}/metadata/root.json is missing: copy the trusted root")
    from tufup.client import Client

    logging.disable(logging.CRITICAL)
    for folder in ("app", "targets"):
        (args.client_dir / folder).mkdir(parents=True, exist_ok=True)

    def check() -> str | None:
        client = Client(
            app_name=args.app,
            app_install_dir=args.client_dir / "app",
            current_version=args.version,
            metadata_dir=args.client_dir / "metadata",
            metadata_base_url=f"{args.url}/metadata/",
            target_dir=args.client_dir / "targets",
            target_base_url=f"{args.url}/targets/",
        )
        found = client.check_for_updates()
        return None if found is None else str(found.version)

    updates = [check()]
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        updates.append(check())
        times.append(time.perf_counter() - start)
    print(json.dumps({"times": times, "updates": updates}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
