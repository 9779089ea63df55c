"""The big bundle of the scale benchmark (issue 11), built from pinned real wheels.

A Qt application with numpy, scipy and pandas: the wheels of :data:`FULL` fetched with
``pip download --only-binary=:all: --no-deps`` (one fixed target, like bench/data.py's, plus
manylinux_2_34, which PySide6 6.10 and later are built for) into ``.bench/scale/wheels``, each
unpacked into one folder, with an ``app.py`` beside them that names its version. Three
releases of that folder, in ``.bench/scale/<set>/bundles/``:

* ``1.0.0``: the wheels and app.py;
* ``1.1.0``: the same, only app.py changed (its version string);
* ``1.2.0``: a dependency upgrade: the files of one wheel (:data:`UPGRADE`: numpy 2.4.5)
  replaced by those of its next release (numpy 2.4.6), and app.py.

Files that ``repo-tools release`` refuses to archive are left out of every bundle, for both
sides, and named in the table: its secret scan finds PEM private-key headers in Qt's TLS
libraries (``libQt6Network.so.6`` and the OpenSSL backend plugin carry them as constants of
their key parser), and a publisher's only way past it, ``bundle_exclude``, leaves them out too.

The unchanged files of 1.1.0 and 1.2.0 are hard links to those of the previous bundle: the
same bytes, without a second copy on disk (every tool here reads bundles by path, and within
one bundle no two paths share a file). A bundle is made once and reused while its stamp file
names the same wheels and app.py; a second run neither downloads nor unpacks anything.
``--small`` (:data:`SMALL`) is numpy alone, for trying the benchmark without loading the
machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.data import PIP_TARGET
from bench.paths import BENCH_DIR

SCALE_DIR = BENCH_DIR / "scale"
WHEELS = SCALE_DIR / "wheels"
# PySide6-Essentials 6.10 and later are manylinux_2_34 wheels; the rest stay as bench/data.py's
PIP_SCALE_TARGET = [*PIP_TARGET, "--platform", "manylinux_2_34_x86_64"]

# the application: the newest releases of the series it names, for CPython 3.11 on
# manylinux x86_64 (PySide6-Essentials 6.12.0 is the 6.12.x there is; numpy 2.4.5 so that
# 2.4.6 exists for the upgrade; scipy 1.17.1 and pandas 3.1.1 are the newest of theirs)
FULL = ("PySide6-Essentials==6.12.0", "numpy==2.4.5", "scipy==1.17.1", "pandas==3.1.1")
SMALL = ("numpy==2.4.5",)
UPGRADE = ("numpy==2.4.5", "numpy==2.4.6")  # 1.2.0 replaces the first wheel by the second
VERSIONS = ("1.0.0", "1.1.0", "1.2.0")

APP_PY = '''\
"""A desktop application of the scale benchmark: a Qt window over numpy, scipy and pandas."""

import sys
from pathlib import Path

VERSION = "{version}"


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # the unpacked wheels
    import numpy

    print(f"bigapp {{VERSION}} (numpy {{numpy.__version__}})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


@dataclass(frozen=True)
class BundleSet:
    """The three bundles of one run: ``full`` (the issue's application) or ``small``."""

    name: str
    requirements: tuple[str, ...]

    @property
    def folder(self) -> Path:
        return SCALE_DIR / self.name

    def bundle(self, version: str) -> Path:
        return self.folder / "bundles" / version

    def requirements_of(self, version: str) -> tuple[str, ...]:
        if version != "1.2.0":
            return self.requirements
        old, new = UPGRADE
        return tuple(new if r == old else r for r in self.requirements)

    @property
    def label(self) -> str:
        return " + ".join(r.replace("==", " ") for r in self.requirements)


def bundle_set(small: bool) -> BundleSet:
    return BundleSet("small", SMALL) if small else BundleSet("full", FULL)


def _log(message: str) -> None:
    print(f"  [scale] {message}", file=sys.stderr, flush=True)


def _wheel_prefix(requirement: str) -> str:
    project, version = requirement.split("==")
    return f"{project.replace('-', '_').lower()}-{version}-"


def fetch_wheel(requirement: str) -> Path:
    """The wheel of a pinned requirement, downloaded with pip into .bench/scale/wheels once."""
    prefix = _wheel_prefix(requirement)

    def found() -> list[Path]:
        if not WHEELS.is_dir():
            return []
        return sorted(p for p in WHEELS.glob("*.whl") if p.name.lower().startswith(prefix))

    if not found():
        WHEELS.mkdir(parents=True, exist_ok=True)
        _log(f"pip download {requirement}")
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--disable-pip-version-check", *PIP_SCALE_TARGET, "--dest", str(WHEELS),
                   requirement]  # fmt: skip
        subprocess.run(command, check=True, timeout=900)
    wheels = found()
    if not wheels:
        raise RuntimeError(f"pip download {requirement} left no wheel in {WHEELS}")
    return wheels[0]


def _stamp(bundles: BundleSet, version: str) -> dict[str, object]:
    wheels = [fetch_wheel(r).name for r in bundles.requirements_of(version)]
    app = APP_PY.format(version=version).encode()
    return {"wheels": wheels, "app_py_sha256": hashlib.sha256(app).hexdigest(),
            "left_out": "files repo_tools.bundle_rules.private_key_in refuses"}  # fmt: skip


def _left_out_file(bundles: BundleSet, version: str) -> Path:
    return bundles.folder / "bundles" / f"{version}.left-out.json"


def left_out(bundles: BundleSet, version: str) -> list[str]:
    """The wheels' files left out of the bundle because repo-tools refuses to release them."""
    try:
        return list(json.loads(_left_out_file(bundles, version).read_text()))
    except (OSError, ValueError):
        return []


def _leave_out_refused(folder: Path) -> list[str]:
    """Remove the files that `repo-tools release` refuses to archive (its secret scan, which
    finds PEM private-key headers: Qt's TLS libraries carry them as parser constants), so
    ours and stock tufup release the same bundle; returns their paths, for the table."""
    from repo_tools.bundle_rules import private_key_in

    refused = []
    for top, _, names in os.walk(folder):
        for name in names:
            path = Path(top, name)
            relative = path.relative_to(folder).as_posix()
            if not path.is_symlink() and private_key_in(path, relative):
                refused.append(relative)
    for relative in refused:
        (folder / relative).unlink()
    return sorted(refused)


def _stamp_file(bundles: BundleSet, version: str) -> Path:
    return bundles.folder / "bundles" / f"{version}.json"


def _is_ready(bundles: BundleSet, version: str, stamp: dict[str, object]) -> bool:
    try:
        saved = json.loads(_stamp_file(bundles, version).read_text())
    except (OSError, ValueError):
        return False
    return saved == stamp and bundles.bundle(version).is_dir()


def _write_app(folder: Path, version: str) -> None:
    app = folder / "app.py"
    app.unlink(missing_ok=True)  # a hard link to the previous bundle's: never write through it
    app.write_text(APP_PY.format(version=version))
    app.chmod(0o755)


def _link_tree(source: Path, destination: Path) -> None:
    """destination: the same folders as source, each file a hard link to source's."""
    shutil.copytree(source, destination, copy_function=os.link)


def _wheel_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return [name for name in archive.namelist() if not name.endswith("/")]


def _make(bundles: BundleSet, version: str, partial: Path) -> None:
    if version == "1.0.0":
        partial.mkdir(parents=True)
        for requirement in bundles.requirements:
            _log(f"unpacking {requirement} into {bundles.name} {version}")
            with zipfile.ZipFile(fetch_wheel(requirement)) as wheel:
                wheel.extractall(partial)
    else:
        previous = VERSIONS[VERSIONS.index(version) - 1]
        _link_tree(ensure_bundle(bundles, previous), partial)
        if version == "1.2.0":
            old, new = (fetch_wheel(r) for r in UPGRADE)
            _log(f"{bundles.name} {version}: {old.name} replaced by {new.name}")
            emptied: set[Path] = set()
            for name in _wheel_files(old):
                (partial / name).unlink(missing_ok=True)  # or left out before
                emptied.update((partial / name).parents)
            # the folders the old wheel's files leave empty (deepest first), no others
            for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
                inside = folder.is_relative_to(partial) and folder != partial
                if inside and not any(folder.iterdir()):
                    folder.rmdir()
            with zipfile.ZipFile(new) as wheel:
                wheel.extractall(partial)
    _write_app(partial, version)
    refused = _leave_out_refused(partial)
    if refused:
        _log(f"{bundles.name} {version}: left out, refused by repo-tools: {', '.join(refused)}")
    _left_out_file(bundles, version).write_text(json.dumps(refused, indent=2) + "\n")


def ensure_bundle(bundles: BundleSet, version: str) -> Path:
    """The bundle folder of version, made unless an earlier run left it (see the stamp)."""
    stamp = _stamp(bundles, version)
    folder = bundles.bundle(version)
    if _is_ready(bundles, version, stamp):
        return folder
    # a bundle made afresh: the ones after it are made from it, so they go too
    for later in VERSIONS[VERSIONS.index(version) :]:
        _stamp_file(bundles, later).unlink(missing_ok=True)
        _left_out_file(bundles, later).unlink(missing_ok=True)
        shutil.rmtree(bundles.bundle(later), ignore_errors=True)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    _make(bundles, version, partial)
    partial.rename(folder)
    _stamp_file(bundles, version).write_text(json.dumps(stamp, indent=2) + "\n")
    return folder


@dataclass(frozen=True)
class BundleSize:
    files: int
    bytes: int  # the files' sizes (what a tar of it holds, headers apart)


def bundle_size(folder: Path) -> BundleSize:
    files = total = 0
    for top, _, names in os.walk(folder):
        for name in names:
            files += 1
            total += Path(top, name).lstat().st_size
    return BundleSize(files, total)


def read_through(folder: Path) -> None:
    """Read every file once, so each side's first release finds the bundle in the page cache
    alike (the bundle was just made, or was made by an earlier run and may have left it)."""
    for top, _, names in os.walk(folder):
        for name in names:
            with open(Path(top, name), "rb") as handle:
                while handle.read(1 << 20):
                    pass
