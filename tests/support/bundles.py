"""Application bundles (the folders a publisher releases), written for tests."""

from __future__ import annotations

import random
from pathlib import Path


def write_app(bundle: Path, label: str, size: int = 300_000) -> Path:
    """A launchable app bundle, for tests that install and start it: `app.py` prints
    "app VERSION LABEL ARGS..." (the version from the installed .update/release.json), and a
    data file changes a little between labels (so patches are small and archives are not)."""
    (bundle / "lib").mkdir(parents=True, exist_ok=True)
    (bundle / "app.py").write_text(
        "import json, pathlib, sys\n"
        "here = pathlib.Path(__file__).resolve().parent\n"
        "release = json.loads((here / '.update' / 'release.json').read_text())\n"
        f"print('app', release['version'], {label!r}, *sys.argv[1:])\n"
    )
    rng = random.Random(7)  # same "random" bytes every release: incompressible but patchable
    data = bytearray(rng.randbytes(size))
    data[1000 : 1000 + len(label)] = label.encode()
    (bundle / "lib" / "data.bin").write_bytes(bytes(data))
    return bundle


def make_bundle(folder: Path, version_text: str = "1", extra: bytes = b"") -> Path:
    """A small static bundle, for tests of the publisher alone (nothing launches it): code,
    compressible data and a nested folder; `version_text` and `extra` vary its content."""
    (folder / "lib").mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(f"print('hello {version_text}')\n")
    (folder / "lib" / "engine.py").write_text("RATE = 0.5\n" * 200 + f"# {version_text}\n")
    (folder / "lib" / "data.bin").write_bytes(bytes(range(256)) * 400 + extra)
    return folder
