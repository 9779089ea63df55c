"""`World`: what one hostile-server, fault or conformance test stands in. A private copy of the
session's `Published` repository, an install root set up at 1.0.0 trusting it, a real HTTPS
server on loopback whose `hook` can misbehave on purpose, and the assertions every attack test
makes (nothing installed, running version intact and launchable, `current` unchanged, an
`error` event, CLI exit code, a failed record in history)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from client.layout import Layout
from tests.support.files import tree_digest
from tests.support.hostile_servers import Handler
from tests.support.install import client_command, install_root, launch, run_client, server_entry
from tests.support.publisher import Published, Publisher


def assert_says(message: str, words: tuple[str, ...]) -> None:
    """Every one of `words` is in `message` (case-insensitive)."""
    text = message.lower()
    missing = [w for w in words if w.lower() not in text]
    assert not missing, f"{missing} not in: {message}"


class World:
    def __init__(
        self,
        tmp: Path,
        published: Published,
        https_server: Callable,
        ca_file: Path,
        root: Path | None = None,
    ):
        self.tmp = tmp
        self.repo, self.keys = tmp / "repo", tmp / "keys"
        shutil.copytree(published.repo, self.repo)
        shutil.copytree(published.keys, self.keys)
        self.old_metadata = published.old_metadata
        self.ca_file = ca_file
        self.hook: Callable[[Handler], bool] | None = None
        self.server = https_server(self.repo, self._dispatch)
        self.root = root or tmp / "install"
        self.settings: dict[str, Any] = {"deadline_seconds": 60, "read_timeout_seconds": 10}
        self.layout: Layout = install_root(
            self.root,
            Publisher.of(self.repo, self.keys),
            "1.0.0",
            [self.server.url],
            ca_file,
            **self.settings,
        )
        self.before = tree_digest(self.layout.version_dir("1.0.0"))

    def _dispatch(self, handler: Handler) -> bool:
        hook = self.hook
        return bool(hook and hook(handler))

    @property
    def url(self) -> str:
        return self.server.url

    def configure(self, **settings: Any) -> None:
        config = json.loads(self.layout.config_file.read_text())
        config.update(settings)
        self.layout.config_file.write_text(json.dumps(config, indent=2))

    def mirrors(self, *urls: str) -> None:
        self.configure(servers=[server_entry(u) for u in urls])

    def updater(self) -> tuple[Any, list]:
        from client import Updater

        updater = Updater.from_config(install_root=self.root)
        updater.lock_timeout = 30
        events: list = []
        updater.on_event(events.append)
        return updater, events

    def trust_current(self) -> None:
        """An honest check first: the client then trusts the repository's current metadata."""
        hook, self.hook = self.hook, None
        try:
            updater, _ = self.updater()
            assert updater.check() is not None
        finally:
            self.hook = hook

    def cli_command(self, *args: str) -> list[str]:
        """The command line of `update-client --config CONFIG ARGS...` for this install."""
        return client_command("--config", str(self.layout.config_file), *args)

    def cli(self, *args: str, timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess:
        """`update-client --config CONFIG ARGS...` as a real subprocess (kwargs go to run)."""
        return run_client(
            None, "--config", str(self.layout.config_file), *args, timeout=timeout, **kwargs
        )

    def fails(self, words: tuple[str, ...], kind: str | None = None) -> tuple[Any, list]:
        """Run an update in-process: it must fail with an error event naming `words`."""
        from client.errors import UpdateError

        updater, events = self.updater()
        with pytest.raises(UpdateError) as caught:
            updater.update()
        errors = [e for e in events if e.kind == "error"]
        assert errors, [e.kind for e in events]
        assert_says(errors[-1].message, words)
        if kind is not None:
            assert caught.value.kind == kind, caught.value.message
        return caught.value, events

    def assert_cli_fails(self, words: tuple[str, ...]) -> None:
        result = self.cli("--json", "update")
        assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
        assert_says(result.stderr, words)
        assert json.loads(result.stdout)["ok"] is False

    def assert_nothing_installed(self, words: tuple[str, ...] = ()) -> None:
        assert self.layout.current_version() == "1.0.0"
        assert sorted(p.name for p in self.layout.versions.iterdir()) == ["1.0.0"]
        assert tree_digest(self.layout.version_dir("1.0.0")) == self.before
        assert launch(self.root).startswith("app 1.0.0")
        assert not any(self.layout.staging.iterdir()), list(self.layout.staging.iterdir())
        failed = [r for r in self.history() if r["result"] == "failed"]
        assert failed, self.history()
        if words:
            assert_says(failed[-1]["error"], words)

    def history(self) -> list[dict[str, Any]]:
        from client.history import read

        return read(self.layout.history_file)

    def refused(self, words: tuple[str, ...], kind: str | None = None) -> Any:
        """The full check every attack test makes: in-process events, CLI, disk, history."""
        error, _ = self.fails(words, kind)
        self.assert_nothing_installed(words)
        self.assert_cli_fails(words)
        self.assert_nothing_installed(words)
        return error

    def honest_update_works(self) -> None:
        self.hook = None
        updater, _ = self.updater()
        assert updater.update() == "1.1.0"
        assert launch(self.root).startswith("app 1.1.0")
