"""The client's PyInstaller hook, without a build: registered, and what it collects.

tests/test_frozen_app.py builds real bundles with it; these say why each module is in or out:
whatever the hook collects must never import an optional toolkit, even inside a function
(PyInstaller follows those imports too), so a new adapter cannot slip into every bundle.
"""

from __future__ import annotations

import ast
import runpy
from importlib.metadata import entry_points
from pathlib import Path
from types import SimpleNamespace

import client
from client._pyinstaller import HOOK_DIR, NOT_COLLECTED, collected, get_hook_dirs

CLIENT = Path(client.__file__).resolve().parent
# imported only by an application that chose them (and click: the command line's)
OPTIONAL = {"tkinter", "_tkinter", "PySide6", "PyQt6", "PyQt5", "desktop_notifier", "click"}


def client_modules() -> dict[str, Path]:
    """Every module of the client package by dotted name (the hook's own files aside)."""
    found = {}
    for path in sorted(CLIENT.rglob("*.py")):
        parts = path.relative_to(CLIENT.parent).with_suffix("").parts
        if "-" in parts[-1]:
            continue  # hook-*.py: read by PyInstaller, not importable modules
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imported_anywhere(path: Path) -> set[str]:
    """Every module name an import in the file may load, inside functions included: the
    dotted names, their top-level packages, and for `from P import n` also `P.n`."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names | {name.split(".")[0] for name in names}


def test_pyinstaller_finds_the_hook_through_the_entry_point() -> None:
    (entry,) = [e for e in entry_points(group="pyinstaller40") if e.value.startswith("client.")]
    assert entry.name == "hook-dirs" and entry.load() is get_hook_dirs
    (folder,) = map(Path, get_hook_dirs())
    assert folder == HOOK_DIR
    assert (folder / "hook-client.py").is_file()
    assert (folder / "pre_find_module_path" / "hook-client.py").is_file()


def test_what_the_hook_collects_never_imports_an_optional_toolkit() -> None:
    modules = client_modules()
    assert {"client.operations", "client.tuf_session", "client.ui.controller"} <= set(modules)
    left_out = {name for name in modules if not collected(name)}
    for name, path in modules.items():
        if collected(name):
            # PyInstaller follows every import, so one of a module left out counts as well
            forced = imported_anywhere(path) & (OPTIONAL | left_out)
            assert not forced, (
                f"{name} imports {sorted(forced)}: the PyInstaller hook would put it (and "
                "its toolkit) in every bundle; add the module to NOT_COLLECTED in "
                "client/_pyinstaller/__init__.py"
            )
    assert not collected("client.ui.tk") and not collected("client._pyinstaller")
    assert collected("client.ui.view") and collected("client")
    assert all(reason for reason in NOT_COLLECTED.values())


def test_the_pre_find_hook_finds_an_editable_client_and_leaves_an_installed_one(
    tmp_path: Path,
) -> None:
    hook = runpy.run_path(str(HOOK_DIR / "pre_find_module_path" / "hook-client.py"))
    api = SimpleNamespace(search_dirs=[str(tmp_path)])
    hook["pre_find_module_path"](api)
    assert api.search_dirs == [str(tmp_path), str(CLIENT.parent)]

    (tmp_path / "client").mkdir()
    (tmp_path / "client" / "__init__.py").write_text("")
    api = SimpleNamespace(search_dirs=[str(tmp_path)])
    hook["pre_find_module_path"](api)
    assert api.search_dirs == [str(tmp_path)]  # a client on the search path is the one frozen
