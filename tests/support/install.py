"""The client side in tests: install roots set up from a real release, `update-client` as a
real subprocess, and starting the installed app as a user would."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.install import setup
from client.layout import Layout
from tests.support.https_server import StaticServer
from tests.support.publisher import Publisher

CLIENT = str(Path(sys.executable).parent / "update-client")  # the installed console script


def client_command(*args: str) -> list[str]:
    """The command line of `update-client ARGS...`."""
    return [CLIENT, *args]


def run_client(
    root: Path | None, *args: str, timeout: float = 120, **kwargs: Any
) -> subprocess.CompletedProcess:
    """`update-client [--install-root ROOT] ARGS...` as a real subprocess; the result, whatever
    its exit code (kwargs go to subprocess.run)."""
    command = client_command(*(["--install-root", str(root)] if root else []), *args)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)


def server_entry(url: str) -> dict[str, str]:
    """The `servers` entry of client settings for a repository served at `url`."""
    return {"metadata_url": f"{url}/metadata", "targets_url": f"{url}/targets"}


def install_root(
    root: Path, publisher: Publisher, version: str, servers: list[str], ca_file: Path, **settings
) -> Layout:
    """Set up an install root at `root` from the published archive of `version`, trusting
    `servers` (base URLs) through `ca_file`; other settings override the defaults."""
    layout = Layout(root)
    overrides = {
        "servers": [server_entry(url) for url in servers],
        "ca_bundle": str(ca_file),
        **settings,
    }
    setup(layout, publisher.archive(version), overrides)
    return layout


def launch(root: Path, *, check: bool = True) -> str:
    """Start the installed app the way a user would (its `current` entry point); what it
    printed: stdout (stripped), then stderr. With `check`, it must exit 0."""
    result = subprocess.run(
        [sys.executable, str(root / "current" / "app.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result.stdout.strip() + result.stderr


@dataclass
class Installed:
    """Release 1.0.0 served over HTTPS and installed (the `installed_app` fixture)."""

    publisher: Publisher
    server: StaticServer
    layout: Layout

    @property
    def root(self) -> Path:
        return self.layout.root


def without_delta_base(layout: Layout, version: str) -> None:
    """Make the next update of this install root a full download: the installed `version`
    can no longer be the base of a delta (its integrity manifest is gone), and a format-1
    patch base tar, if one is cached, is removed too."""
    from client.install import manifest_file

    manifest_file(layout, version).unlink()
    layout.base_tar(publisher_app(layout), version).unlink(missing_ok=True)


def publisher_app(layout: Layout) -> str:
    return layout.app_name() or "demo"
