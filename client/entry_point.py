"""Whether a bundle can be started: its configured entry point is a file there that can run.

`launch` and `restart()` start `<version>/<entry_point>`: a `.py` file with the running
Python, anything else (a frozen executable such as PyInstaller's `myapp`) executed directly.
One rule, applied before a user could meet a bundle that cannot start: `repo-tools release`
refuses to publish it and `setup` refuses to install it, each adding what to do.
Standard library only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from client.settings import DEFAULTS

DEFAULT_ENTRY_POINT: str = DEFAULTS["entry_point"]


def entry_mode(bundle: Path, entry_point: str) -> int | None:
    """The st_mode of bundle/entry_point, links followed; None when nothing is there."""
    try:
        return os.stat(bundle / entry_point).st_mode
    except (OSError, ValueError):
        return None


def entry_point_problem(entry_point: str, mode: int | None, where: str) -> str | None:
    """Why the bundle `where` (a description for people) cannot be started from
    `entry_point`, whose st_mode is `mode` (None: absent); None when it can. Pure."""
    if mode is None:
        return f"{where} has no {entry_point!r}, the entry point the client starts"
    if not stat.S_ISREG(mode):
        return f"{entry_point!r} in {where} is not a file, so it cannot be the entry point"
    if not entry_point.endswith(".py") and not mode & stat.S_IXUSR:
        return (
            f"{entry_point!r} in {where} is not executable (no x permission), and an entry "
            "point other than a .py script is executed directly"
        )
    return None


def executables_at_top(bundle: Path) -> list[str]:
    """Names of the executable files directly in `bundle` (candidate entry points of a frozen
    build, e.g. PyInstaller's `myapp`), sorted; for an error message's suggestion."""
    try:
        children = sorted(bundle.iterdir())
    except OSError:
        return []
    found = []
    for child in children:
        mode = entry_mode(bundle, child.name)
        if mode is not None and stat.S_ISREG(mode) and mode & stat.S_IXUSR:
            found.append(child.name)
    return found


def frozen_hint(bundle: Path, entry_point: str) -> str:
    """When the entry point is missing and the bundle's top folder has one to three
    executables (a frozen build's entry point is one of them): a sentence naming them."""
    names = [name for name in executables_at_top(bundle) if name != entry_point]
    if not names or len(names) > 3:
        return ""
    listed = " or ".join(repr(name) for name in names)
    return f" Its top folder has the executable {listed}: a frozen build's entry point."
