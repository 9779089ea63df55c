"""Is the installed version exactly what was signed? Compare, and repair file by file.

The reference is the release's signed manifest (tree format: `compare_manifest`, repaired
from the pack by `client.tree_repair`), or the release's tar (format 1), verified against its
signed sha256 and extracted safely into staging; the installed folder is compared entry by
entry (type, symlink target, bytes).
Repair copies each wrong or missing entry from the reference, parents first, each file
written under a temporary name and renamed: an interrupted repair leaves every entry either
as it was or repaired, and running it again finishes the job. Nothing is written through a
symlink: an entry that should be a folder but is a link is replaced, not followed. Files the
release does not contain (logs, settings the app keeps next to itself) are reported as extra
and left alone; Python's `__pycache__` folders and `.pyc` files are ignored.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from client.files import remove_path

IGNORED_NAMES = {"__pycache__"}


@dataclass
class Integrity:
    modified: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.modified and not self.missing

    def to_dict(self) -> dict[str, object]:
        return {
            "intact": self.intact,
            "modified": self.modified,
            "missing": self.missing,
            "extra": self.extra,
        }


def _same_entry(reference: Path, installed: Path) -> bool:
    if reference.is_symlink():
        return installed.is_symlink() and os.readlink(installed) == os.readlink(reference)
    if installed.is_symlink():
        return False
    if reference.is_dir():
        return installed.is_dir()
    if not installed.is_file() or installed.stat().st_size != reference.stat().st_size:
        return False
    with reference.open("rb") as want, installed.open("rb") as have:
        while True:
            block = want.read(1 << 20)
            if block != have.read(1 << 20):
                return False
            if not block:
                return True


def _entries(root: Path) -> list[str]:
    """Every path under root, relative, parents before children; links are not followed."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_NAMES)
        base = Path(folder).relative_to(root)
        found.extend((base / name).as_posix() for name in dirs + sorted(files))
    return found


def compare_tree(reference: Path, installed: Path) -> Integrity:
    result = Integrity()
    expected = _entries(reference)
    for name in expected:
        target = installed / name
        if not target.exists() and not target.is_symlink():
            result.missing.append(name)
        elif not _same_entry(reference / name, target):
            result.modified.append(name)
    wanted = set(expected)
    for name in _entries(installed):  # parents first: only the top of an extra folder is listed
        if name in wanted or name.endswith(".pyc"):
            continue
        parent = Path(name).parent.as_posix()
        if parent == "." or (parent in wanted and (reference / parent).is_dir()):
            result.extra.append(name)
    return result


def _entry_kind(path: Path) -> str:
    """An installed entry in manifest form: "dir", "link:<target>" or "file:<sha256>"."""
    if path.is_symlink():
        return f"link:{os.readlink(path)}"
    if path.is_dir():
        return "dir"
    from client.files import file_digest

    return f"file:{file_digest(path)[1]}"


def compare_manifest(
    manifest: dict[str, str], installed: Path, executables: set[str] | None = None
) -> Integrity:
    """Compare an installed folder with the manifest written when it was installed (the
    entries `extract_tar` wrote), or with a release's signed manifest (then `executables`
    names the files whose executable bit is set: any other file must not have it); extra
    entries are reported, as by `compare_tree`."""
    result = Integrity()
    for name, kind in manifest.items():
        target = installed / name
        if not target.exists() and not target.is_symlink():
            result.missing.append(name)
        elif _entry_kind(target) != kind or (
            executables is not None
            and kind.startswith("file:")
            and bool(target.lstat().st_mode & 0o100) != (name in executables)
        ):
            result.modified.append(name)
    for name in _entries(installed):
        if name in manifest or name.endswith(".pyc"):
            continue
        parent = Path(name).parent.as_posix()
        if parent == "." or manifest.get(parent) == "dir":
            result.extra.append(name)
    return result


def _inside(root: Path, path: Path) -> bool:
    real_root, real_parent = os.path.realpath(root), os.path.realpath(path.parent)
    return real_parent == real_root or real_parent.startswith(real_root + os.sep)


def repair_tree(reference: Path, installed: Path, integrity: Integrity) -> list[str]:
    """Make every wrong or missing entry equal to the reference; returns what was written."""
    repaired = []
    for name in sorted(integrity.modified + integrity.missing, key=lambda n: (n.count("/"), n)):
        source, target = reference / name, installed / name
        if not _inside(installed, target):
            raise OSError(f"refusing to write {name}: its folder leads outside {installed}")
        if source.is_dir() and target.is_dir() and not target.is_symlink():
            continue
        remove_path(target)
        temporary = target.with_name(f".{target.name}.repair")
        remove_path(temporary)
        if source.is_symlink():
            os.symlink(os.readlink(source), temporary)
        elif source.is_dir():
            target.mkdir()
            shutil.copystat(source, target)
            repaired.append(name)
            continue
        else:
            shutil.copy2(source, temporary)
        os.replace(temporary, target)
        repaired.append(name)
    return repaired
