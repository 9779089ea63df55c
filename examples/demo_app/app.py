"""Demo application: a stand-in for the trading bot, showing how an app embeds the updater.

Its version comes from `.update/release.json`, which `repo-tools release` stamps into every
bundle. Run from an install root (versions/<v>/app.py) it creates the updater, confirms its
own health (so the version is kept), and with `--self-update` updates itself in the
foreground and restarts into the new version (a GUI would call `updater.start()` instead and
react to events in the background).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def own_version() -> str:
    release = HERE / ".update" / "release.json"
    return json.loads(release.read_text())["version"] if release.exists() else "unreleased"


def main() -> int:
    print(f"demo-app {own_version()} running from {HERE}")
    config = HERE.parent.parent / "updater_config.json"
    if HERE.parent.name != "versions" or not config.exists():
        return 0
    from client import Updater  # shipped inside a real bundle; installed in the demo's venv

    updater = Updater.from_config(config)
    updater.confirm_healthy()
    print(f"updater ready, channel {updater.settings.update_channel}")
    if "--self-update" in sys.argv:
        updater.on_event(lambda event: print(f"  [{event.kind}] {event.message}"))
        installed = updater.update()
        if installed:
            print(f"restarting into {installed}", flush=True)
            updater.restart()
    return 0


if __name__ == "__main__":
    sys.exit(main())
