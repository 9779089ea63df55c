"""Demo application: a stand-in for the trading bot, showing how an app embeds the updater.

Its version comes from `.update/release.json`, which `repo-tools release` stamps into every
bundle. Run from an install root (versions/<v>/app.py) it starts the updater in the
background, confirms its own health, and prints what it is.
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
    if HERE.parent.name == "versions" and config.exists():
        sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # repo checkout: client/
        from client import Updater

        updater = Updater.from_config(config)
        updater.confirm_healthy()
        print(f"updater ready, channel {updater.settings.update_channel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
