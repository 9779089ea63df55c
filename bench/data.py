"""Realistic benchmark inputs: real wheels fetched with pip, unpacked, tarred deterministically.

Everything lands in ``.bench/`` at the repository root (git-ignored) and is reused by later
runs: ``wheels/`` (what pip downloaded), ``bundles/<name>/`` (the unpacked wheels: a folder
standing in for an application bundle) and ``tars/<name>.tar`` (that folder written by
:func:`client.archive.write_bundle_tar`, the same tar the publisher diffs).

Nothing here is random: the same releases give the same bytes on every machine.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench._measure import run_child
from bench.paths import BENCH_DIR, ROOT
from client.archive import gzip_file, write_bundle_tar

# one fixed target so every machine fetches the same files
PIP_TARGET = [
    "--only-binary=:all:",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--platform",
    "manylinux_2_28_x86_64",
    "--platform",
    "manylinux_2_17_x86_64",
    "--platform",
    "manylinux2014_x86_64",
]


@dataclass(frozen=True)
class Release:
    """One bundle: the wheels of a set of pinned requirements, unpacked into one folder."""

    requirements: tuple[str, ...]

    @property
    def name(self) -> str:
        return "+".join(r.replace("==", "-") for r in self.requirements)

    @property
    def label(self) -> str:
        return " + ".join(r.replace("==", " ") for r in self.requirements)


@dataclass(frozen=True)
class Pair:
    """Two consecutive releases of the same bundle: the input of a patch."""

    key: str
    old: Release
    new: Release

    @property
    def label(self) -> str:
        return f"{self.old.label} -> {self.new.label}"


NUMPY = Pair("numpy", Release(("numpy==2.3.4",)), Release(("numpy==2.3.5",)))
SCIPY = Pair("scipy", Release(("scipy==1.16.2",)), Release(("scipy==1.16.3",)))


def _log(message: str) -> None:
    print(f"  [data] {message}", file=sys.stderr, flush=True)


def fetch_wheel(requirement: str) -> Path:
    """The wheel of a pinned requirement, downloaded with pip into .bench/wheels once."""
    wheels = BENCH_DIR / "wheels"
    project, version = requirement.split("==")
    prefix = f"{project.replace('-', '_')}-{version}-"
    found = sorted(wheels.glob(f"{prefix}*.whl")) if wheels.is_dir() else []
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    _log(f"pip download {requirement}")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
        ]
        + PIP_TARGET
        + ["--dest", str(wheels), requirement],
        check=True,
        timeout=600,
    )
    found = sorted(wheels.glob(f"{prefix}*.whl"))
    if not found:
        raise RuntimeError(f"pip download {requirement} left no wheel in {wheels}")
    return found[0]


def bundle_folder(release: Release) -> Path:
    """The release's wheels unpacked into one folder (a stand-in for an application bundle)."""
    folder = BENCH_DIR / "bundles" / release.name
    if folder.is_dir():
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for requirement in release.requirements:
        with zipfile.ZipFile(fetch_wheel(requirement)) as wheel:
            wheel.extractall(partial)
    partial.rename(folder)
    return folder


def bundle_tar(release: Release) -> Path:
    """The deterministic tar of the release's bundle folder (client.archive.write_bundle_tar)."""
    tar = BENCH_DIR / "tars" / f"{release.name}.tar"
    if tar.is_file():
        return tar
    tar.parent.mkdir(parents=True, exist_ok=True)
    partial = tar.with_name(tar.name + ".partial")
    with open(partial, "wb") as sink:
        write_bundle_tar(bundle_folder(release), sink)
    partial.rename(tar)
    return tar


def pair_tars(pair: Pair) -> tuple[Path, Path]:
    return bundle_tar(pair.old), bundle_tar(pair.new)


def codec_fingerprint() -> str:
    """A short hash of client/codec.py: cached patches of ours are remade when it changes."""
    return hashlib.sha256((ROOT / "client" / "codec.py").read_bytes()).hexdigest()[:12]


def patch_file(pair: Pair, codec: str) -> Path:
    """Where the patch of a pair made by codec ('ours' or 'bsdiff4') is cached."""
    tag = f"ours-{codec_fingerprint()}" if codec == "ours" else codec
    return BENCH_DIR / "patches" / f"{pair.key}-{tag}.patch"


def cached_patch(pair: Pair, codec: str) -> Path:
    """The patch of a pair, made (in a fresh process) only if no earlier run left it."""
    path = patch_file(pair, codec)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        _log(f"making the {codec} patch of {pair.label}")
        old, new = pair_tars(pair)
        partial = path.with_name(path.name + ".partial")
        run_child("diff", codec, old, new, partial)
        partial.rename(path)
    return path


def gzipped(tar: Path) -> Path:
    """tar.gz of a tar at gzip level 9 (what stock tufup publishes and keeps as patch base)."""
    out = tar.with_name(tar.name + ".gz")
    if not out.is_file():
        partial = out.with_name(out.name + ".partial")
        gzip_file(tar, partial, level=9)
        partial.rename(out)
    return out
