"""An air-gapped holder in tests: a fresh folder holding only a signing request and one key,
`repo-tools ... sign --request` run there as a real subprocess, without a network when the
machine allows it (a new network namespace: `unshare -n`, as root), and no repository."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path


@functools.cache
def no_network_prefix() -> tuple[str, ...]:
    """`unshare -n` when it works here (only a loopback, down), else nothing."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True, timeout=10)
    return (unshare, "-n") if probe.returncode == 0 else ()


def holder_folder(base: Path, name: str, request: Path, key: Path) -> Path:
    """A folder with nothing but copies of the request and the key (key mode kept 0600)."""
    folder = base / name
    folder.mkdir(parents=True)
    shutil.copyfile(request, folder / request.name)
    shutil.copy2(key, folder / key.name)
    return folder


def sign_offline(
    folder: Path,
    group: str,
    request: str,
    key: str,
    *args: str,
    env: dict[str, str] | None = None,
    answer: str | None = None,
) -> subprocess.CompletedProcess:
    """`repo-tools GROUP sign --request REQUEST --key KEY ARGS` inside `folder` (relative
    names, so nothing outside is touched); `answer` is typed at the confirmation."""
    command = [*no_network_prefix(), sys.executable, "-m", "repo_tools", group, "sign"]
    command += ["--request", request, "--key", key, *args]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("REPO_TOOLS_")}
    environment.update(env or {})
    return subprocess.run(
        command,
        cwd=folder,
        input=answer if answer is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}
