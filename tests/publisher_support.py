"""Helpers for publisher tests: run repo-tools as a real subprocess, fingerprint a repository."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

PUBLISHED = ("metadata", "targets")


def tools_command(repo: Path, keys: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "repo_tools", "--repo", str(repo), "--keys", str(keys), *args]


def run_tools(repo: Path, keys: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    command = tools_command(repo, keys, *args)
    return subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)


def tree_digest(repo: Path) -> dict[str, str]:
    """Every published file and its sha256: equal digests mean an unchanged repository."""
    return {
        str(path.relative_to(repo)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in PUBLISHED
        for path in sorted((repo / folder).rglob("*"))
        if path.is_file()
    }


def make_bundle(folder: Path, version_text: str = "1", extra: bytes = b"") -> Path:
    """A small application bundle with code, data and a nested folder."""
    (folder / "lib").mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(f"print('hello {version_text}')\n")
    (folder / "lib" / "engine.py").write_text("RATE = 0.5\n" * 200 + f"# {version_text}\n")
    (folder / "lib" / "data.bin").write_bytes(bytes(range(256)) * 400 + extra)
    return folder
