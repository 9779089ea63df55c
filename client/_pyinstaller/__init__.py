"""PyInstaller integration: the hook directory this package registers, and what it collects.

PyInstaller finds `get_hook_dirs` through the `pyinstaller40` entry point in pyproject.toml,
so an application that embeds the client is frozen without hand-written hidden imports:

* `hook-client.py` collects every module of the client (`collected` says which): the ones the
  updater imports inside functions (client.operations, client.tuf_session, ...) and the UI
  controller an application may load by name. PyInstaller follows their imports, lazy ones
  included, to tuf, securesystemslib, requests, filelock, hdiffpatch and packaging; certifi's
  CA bundle is collected as data (the transport reads it from a file).
* Not collected: the toolkit adapters (`client.ui.tk`, `client.ui.qt`, their windows,
  `client.ui.notify`),
  which would force tkinter, PySide6 or desktop-notifier into every bundle: an application
  that uses one imports it itself, and PyInstaller then follows it with its toolkit. Nor the
  command-line front ends (`client.cli`, `client.terminal`, `client.conformance`: click,
  tqdm), which an embedding application does not run unless it imports them.
* `pre_find_module_path/hook-client.py` finds the client when it is installed in editable
  mode (`pip install -e`), whose import finder PyInstaller's module search does not see.

Standard library only: imported by PyInstaller's build process, never by a running application.
"""

from __future__ import annotations

from pathlib import Path

HOOK_DIR = Path(__file__).resolve().parent

# modules left out, and why (each is followed when an application imports it itself)
NOT_COLLECTED: dict[str, str] = {
    "client._pyinstaller": "the build-time hooks themselves",
    "client.cli": "the update-client command line (click), not part of embedding",
    "client.terminal": "the command line's progress bars (click, tqdm)",
    "client.conformance": "the conformance-suite command line, a test tool",
    "client.ui.tk": "the Tk adapter: would force tkinter into every bundle",
    "client.ui.tk_windows": "the Tk adapter's windows (tkinter)",
    "client.ui.qt": "the Qt adapter: would force PySide6 (or PyQt6) into every bundle",
    "client.ui.qt_dialogs": "the Qt adapter's windows (they import client.ui.qt)",
    "client.ui.notify": "OS notifications: would force desktop-notifier into every bundle",
}


def get_hook_dirs() -> list[str]:
    """The `pyinstaller40` `hook-dirs` entry point: where PyInstaller finds our hooks."""
    return [str(HOOK_DIR)]


def collected(module: str) -> bool:
    """Whether `hook-client.py` collects `module` (a dotted name inside `client`). Pure."""
    return not any(module == name or module.startswith(name + ".") for name in NOT_COLLECTED)
