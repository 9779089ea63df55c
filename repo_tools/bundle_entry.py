"""A released bundle can be started: the client's entry point is in what `release` archives.

The entry point is the `entry_point` of the client settings the bundle ships
(`.update/updater_config.json`): `client_settings` of repo-tools.json when set (they replace
the bundle's own file), else the bundle's own `.update/updater_config.json`, else the
default `app.py`. The rule itself is the client's (client.entry_point), so a bundle that
`setup` would refuse is never published.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from client.entry_point import DEFAULT_ENTRY_POINT, entry_mode, entry_point_problem, frozen_hint
from client.layout import BUNDLED_CONFIG
from repo_tools.bundle_rules import BundleInspection
from repo_tools.errors import RepoError

SETTING = 'set "entry_point" in client_settings of repo-tools.json to the file that starts it'


class EntryPointMissing(RepoError):
    """The bundle would install but never start: its entry point is missing or cannot run."""


def shipped_entry_point(
    bundle: Path, inspection: BundleInspection, client_settings: dict[str, Any]
) -> tuple[str, str]:
    """The entry point installed copies of this bundle start, and where it is set (for
    people): client_settings, the bundle's own settings file, or the default."""
    if client_settings:
        if "entry_point" in client_settings:
            return str(client_settings["entry_point"]), "client_settings in repo-tools.json"
        return DEFAULT_ENTRY_POINT, "the default: client_settings in repo-tools.json sets none"
    own = bundle / BUNDLED_CONFIG
    if own not in set(inspection.entries) or not own.is_file():
        return DEFAULT_ENTRY_POINT, "the default: client_settings in repo-tools.json sets none"
    try:
        data = json.loads(own.read_text(encoding="utf-8"))
        value = data.get("entry_point", DEFAULT_ENTRY_POINT) if isinstance(data, dict) else None
        if not isinstance(value, str):
            raise ValueError("expected a JSON object whose entry_point is a string")
    except (OSError, ValueError) as error:
        raise EntryPointMissing(
            f"the bundle's own settings file {own} cannot be read: {error}. Fix it, or set "
            "client_settings in repo-tools.json (which replace it). Nothing was released"
        ) from None
    return value, f"the bundle's own {BUNDLED_CONFIG.as_posix()}"


def check_entry_point(
    bundle: Path, inspection: BundleInspection, client_settings: dict[str, Any]
) -> str:
    """Refuse (EntryPointMissing) a bundle whose archive would not hold a runnable entry
    point, saying what to do; returns the entry point."""
    entry_point, source = shipped_entry_point(bundle, inspection, client_settings)
    path = bundle / entry_point
    left_out = _excluded_by(entry_point, inspection) if path.exists() else None
    if left_out is not None:
        raise EntryPointMissing(
            f"bundle {bundle} has {entry_point!r}, the entry point the client starts ({source}), "
            f"but bundle_exclude leaves it out (pattern {left_out!r}): remove that pattern "
            "from bundle_exclude in repo-tools.json. Nothing was released"
        )
    mode = entry_mode(bundle, entry_point)
    problem = entry_point_problem(entry_point, mode, f"bundle {bundle}")
    if problem is None:
        return entry_point
    if mode is None:
        fix = (
            f"{frozen_hint(bundle, entry_point)} Build the application so that the bundle "
            f"has {entry_point!r}, or {SETTING} (for a PyInstaller onedir build: the "
            "executable's name)"
        )
    elif not stat.S_ISREG(mode):
        fix = f" Give the bundle a file {entry_point!r}, or {SETTING}"
    else:
        fix = " Make the build write it executable (chmod +x), or " + SETTING
    raise EntryPointMissing(f"{problem} ({source}).{fix}. Nothing was released")


def _excluded_by(entry_point: str, inspection: BundleInspection) -> str | None:
    """The bundle_exclude pattern that leaves entry_point (or a folder holding it) out."""
    wanted = Path(entry_point).as_posix()
    for path, pattern in inspection.excluded:
        if path == wanted or (path.endswith("/") and wanted.startswith(path)):
            return pattern
    return None
