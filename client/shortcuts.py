"""A stable way to start the application: a launcher outside versions/ and a desktop entry.

Desktop shortcuts must survive every update and rollback, so they never name a version
folder. On Linux and macOS the launcher is a small shell script `<install root>/<app>` that
starts `<install root>/current/<entry point>` (`current` is the link the install switch
changes atomically), with the interpreter for a `.py` entry point. `desktop_entry` writes a
freedesktop `.desktop` file pointing at the launcher, on request (an installer's or first
run's choice, never behind the user's back). Both are written atomically; a name that could
escape its folder or break the file's syntax is refused. Windows: see docs/shipping.md.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

from client.errors import ErrorKind, UpdateError
from client.files import atomic_write_bytes
from client.layout import Layout

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _checked_name(app: str) -> str:
    if not _SAFE_NAME.match(app) or app in (".", ".."):
        raise UpdateError(
            ErrorKind.INVALID_INPUT,
            f"{app!r} cannot name a launcher: use letters, digits, '.', '_' or '-' (at most 64)",
        )
    return app


def launcher_path(layout: Layout, app: str) -> Path:
    return layout.root / _checked_name(app)


def write_launcher(layout: Layout, app: str, entry_point: str, python: str | None = None) -> Path:
    """`<root>/<app>`: starts the current version's entry point with the given arguments."""
    entry = layout.current_link / entry_point
    command = (
        [python or sys.executable, str(entry)] if entry_point.endswith(".py") else [str(entry)]
    )
    script = (
        "#!/bin/sh\n"
        "# Starts the current version (updates and rollbacks switch `current`); do not edit.\n"
        f'exec {" ".join(shlex.quote(part) for part in command)} "$@"\n'
    )
    path = launcher_path(layout, app)
    atomic_write_bytes(path, script.encode("utf-8"), mode=0o755)
    os.chmod(path, 0o755)  # whatever the umask
    return path


def _exec_quote(argument: str) -> str:
    """One argument of a desktop entry's Exec key (quoted, with its reserved characters)."""
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in argument)
    return f'"{escaped}"'


def _value(text: str) -> str:
    if any(c in text for c in "\n\r\0"):
        raise UpdateError(ErrorKind.INVALID_INPUT, f"{text!r}: a desktop entry value is one line")
    return text.replace("\\", "\\\\")


def desktop_entry(
    layout: Layout,
    app: str,
    name: str,
    launcher: Path,
    *,
    comment: str = "",
    icon: str | None = None,
    applications_dir: Path | None = None,
) -> Path:
    """`<applications>/<app>.desktop` (default: the user's, from XDG_DATA_HOME) starting
    `launcher`; `icon` is a path inside the bundle (it follows `current`)."""
    if applications_dir is None:
        data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        applications_dir = Path(data_home) / "applications"
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        f"Name={_value(name)}",
        f"Exec={_exec_quote(str(launcher))} %U",
        "Terminal=false",
    ]
    if comment:
        lines.append(f"Comment={_value(comment)}")
    if icon:
        lines.append(f"Icon={_value(str(layout.current_link / icon))}")
    path = applications_dir / f"{_checked_name(app)}.desktop"
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))
    return path
