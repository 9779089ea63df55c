"""First start without a command line: an unpacked application sets up its own install root.

Users get an application as an archive they unpack anywhere, or through an OS installer.
`first_run(app)`, called first thing in the application's main, handles the first case: when
the process does not run from an install root (`<root>/versions/<version>/`), it creates one
from the bundle it runs from, trusting the bundle's signed `root.json` exactly as
`update-client setup` does, and restarts the application from there. `install_from_bundle` is
the same step for an installer or packaging script. Rules:
- Cheap when there is nothing to do: running from an install root costs a path check.
- Never raises into the application: a failure (read-only disk, damaged bundle) is logged and
  returned, and the unpacked copy keeps running (without updates) so the user is not stuck.
- One setup at a time: the install root's lock is held while it is made; a second copy
  started meanwhile waits, then finds it set up and moves over.
- An install root that exists already is never overwritten: starting the unpacked copy
  again runs the installed application (which updates itself); settings and user data stay.
Where the install root goes: the per-user data folder (platformdirs: `~/.local/share/<app>`
on Linux), or, when the publisher prefers portable installs and the folder beside the bundle
is writable, `<that folder>/<app>-data`.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RELEASE_FILE = Path(".update") / "release.json"


class Start(StrEnum):
    INSTALLED = "installed"  # already running from an install root: nothing done
    SET_UP = "set_up"  # this start created the install root from the running bundle
    MOVED = "moved"  # an unpacked copy started again: the installed application runs instead
    UNPACKED = "unpacked"  # setting up failed: the unpacked copy keeps running, no updates


class FirstRun:
    """What `first_run` did: `start` (a Start), `install_root`, and `error` (None or why)."""

    __slots__ = ("start", "install_root", "error")

    def __init__(self, start: Start, install_root: Path | None, error: str | None = None) -> None:
        self.start, self.install_root, self.error = start, install_root, error

    def __repr__(self) -> str:
        return f"FirstRun({self.start.value!r}, {self.install_root}, error={self.error!r})"


def running_file() -> Path:
    """The program this process runs: the frozen executable (also when started through a link
    or PATH), else the main script."""
    if getattr(sys, "frozen", False):
        return Path(sys.executable).resolve()
    return Path(sys.argv[0] if sys.argv and sys.argv[0] else ".").resolve()


def running_bundle(start: Path | None = None) -> Path | None:
    """The bundle folder (it holds .update/release.json) the running program belongs to."""
    here = (start or running_file()).parent
    for folder in (here, *here.parents):
        if (folder / RELEASE_FILE).is_file():
            return folder
    return None


def install_root_of(bundle: Path) -> Path | None:
    """The install root when `bundle` is one of its versions (<root>/versions/<v>)."""
    root = bundle.parent.parent
    if bundle.parent.name == "versions" and (root / "state.json").is_file():
        return root
    return None


def default_install_root(app: str, bundle: Path, portable: bool = False) -> Path:
    """Beside the bundle when portable and writable, else the per-user data folder."""
    if portable and os.access(bundle.parent, os.W_OK):
        return bundle.parent / f"{app}-data"
    import platformdirs

    return Path(platformdirs.user_data_dir(app, appauthor=False))


def install_from_bundle(
    bundle: str | os.PathLike[str],
    install_root: str | os.PathLike[str],
    settings: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Set up `install_root` from an unpacked bundle folder or a release archive, trusting the
    root.json inside it (for installers: the library form of `update-client setup`).
    `settings` override the bundle's initial settings. Returns the release (app, version,
    channel). Raises UpdateError (or its InstallError / SettingsError forms) on failure."""
    from client.errors import ErrorKind, UpdateError
    from client.frame import Core
    from client.install import InstallError, setup
    from client.layout import Layout
    from client.settings import Settings

    layout = Layout(Path(install_root))
    try:
        with Core(layout, Settings(), layout.config_file, None, None).exclusive():
            return setup(layout, Path(bundle), settings)
    except (InstallError, OSError, ValueError) as error:
        if isinstance(error, UpdateError):  # SettingsError: names the key and the value
            raise
        raise UpdateError(ErrorKind.INSTALL, f"cannot set up {layout.root}: {error}") from error


def first_run(
    app: str,
    *,
    portable: bool = False,
    install_root: str | os.PathLike[str] | None = None,
    restart: bool = True,
    settings: dict[str, Any] | None = None,
    desktop_name: str | None = None,
) -> FirstRun:
    """At the top of main: make sure the application runs from its install root.

    Running from an install root: returns Start.INSTALLED at once. Otherwise the install
    root (`install_root`, or `default_install_root`) is set up from the running bundle if it
    is not yet, and with `restart` this process is replaced by the installed application with
    the same arguments (so the call returns only when it did not move). With `desktop_name`,
    setting up also writes the launcher and a desktop entry of that name (client.shortcuts)."""
    bundle = running_bundle()
    if bundle is None:
        return FirstRun(Start.UNPACKED, None, "not a released bundle (no .update/release.json)")
    if (root := install_root_of(bundle)) is not None:
        return FirstRun(Start.INSTALLED, root)
    target = Path(install_root) if install_root else default_install_root(app, bundle, portable)
    from client.layout import Layout

    start = Start.MOVED
    if not Layout(target).is_set_up():
        try:
            install_from_bundle(bundle, target, settings)
            start = Start.SET_UP
            if desktop_name:
                _shortcuts(app, target, desktop_name)
        except Exception as error:  # never into the application: it keeps running unpacked
            if not Layout(target).is_set_up():  # a copy started at the same time made it
                _log(f"could not set up {target} from {bundle}: {error}")
                return FirstRun(Start.UNPACKED, target, str(error))
    problem = _restart_from(target) if restart else None
    return FirstRun(start, target, problem)


def _shortcuts(app: str, root: Path, name: str) -> None:
    """The launcher and desktop entry; a failure costs the shortcut, not the install."""
    from client.layout import Layout
    from client.settings import load
    from client.shortcuts import desktop_entry, write_launcher

    layout = Layout(root)
    try:
        launcher = write_launcher(layout, app, load(layout.config_file).entry_point)
        desktop_entry(layout, app, name, launcher)
    except Exception as error:  # logged; the application still starts
        _log(f"could not write the shortcuts of {app}: {error}")


def _restart_from(root: Path) -> str:
    """Replace this process with the installed application (same arguments); returns only
    when that failed, with why (the unpacked copy then keeps running)."""
    from client.updater import Updater

    try:
        Updater.from_config(install_root=root).restart()
    except Exception as error:  # the entry point is missing: say so, keep running unpacked
        _log(f"could not start the installed application in {root}: {error}")
        return str(error)
    return "the installed application did not start"  # restart() returned: cannot happen


def _log(message: str) -> None:
    import logging

    logging.getLogger(__name__).error(message)
