"""Demo application: a stand-in for the trading bot, showing how an app embeds the updater.

Runs from source (`python app.py`) or frozen (PyInstaller onedir, docs/shipping.md): its
bundle folder is the one holding this script or the frozen executable. Its version comes from
`.update/release.json`, which `repo-tools release` stamps into every bundle. Run from an
install root (versions/<v>/...) it creates the updater, confirms its own health (so the
version is kept), says where the client it runs comes from (inside the bundle when frozen),
and with `--self-update` updates itself in the foreground and restarts into the new version
(a GUI would call `updater.start()` instead and react to events in the background);
`--rollback` switches back to the previous version.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FROZEN = bool(getattr(sys, "frozen", False))
HERE = Path(sys.executable if FROZEN else __file__).resolve().parent


def own_version() -> str:
    release = HERE / ".update" / "release.json"
    return json.loads(release.read_text())["version"] if release.exists() else "unreleased"


def client_origin() -> str:
    import client

    where = Path(client.__file__).resolve()
    return "embedded in this bundle" if where.is_relative_to(HERE) else f"from {where.parent}"


def main() -> int:
    print(f"demo-app {own_version()} running from {HERE}{' (frozen)' if FROZEN else ''}")
    config = HERE.parent.parent / "updater_config.json"
    if HERE.parent.name != "versions" or not config.exists():
        return 0
    from client import Updater  # frozen: collected by the client's PyInstaller hook

    updater = Updater.from_config(config)
    updater.confirm_healthy()
    print(f"updater ready (client {client_origin()}), channel {updater.settings.update_channel}")
    if "--rollback" in sys.argv:
        version = updater.rollback()
        print(f"rolled back to {version}: start the application again to use it")
    elif "--self-update" in sys.argv:
        updater.on_event(lambda event: print(f"  [{event.kind}] {event.message}"))
        installed = updater.update()
        if installed:
            print(f"restarting into {installed}", flush=True)
            updater.restart()
    return 0


if __name__ == "__main__":
    sys.exit(main())
