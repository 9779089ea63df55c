"""The fixtures shared by test modules (helpers they import live in tests/support/)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.display import start_xvfb, stop
from tests.support.https_server import Hook, StaticServer, TestCA, make_test_ca
from tests.support.install import Installed, install_root
from tests.support.publisher import Published, Publisher
from tests.support.world import World


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def https_server(test_ca: TestCA) -> Iterator[Callable[..., StaticServer]]:
    """Factory: https_server(folder, hook=None) starts an HTTPS server on 127.0.0.1 serving
    folder (a hook may answer any request itself); all are closed after the test."""
    servers: list[StaticServer] = []

    def start(root: Path, hook: Hook | None = None) -> StaticServer:
        server = StaticServer(Path(root), test_ca.server_context, hook)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def installed_app(tmp_path: Path, https_server, test_ca: TestCA) -> Installed:
    """Release 1.0.0 of app `demo`, served over HTTPS on 127.0.0.1, installed in tmp/install."""
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0")
    server = https_server(publisher.repo)
    layout = install_root(tmp_path / "install", publisher, "1.0.0", [server.url], test_ca.ca_file)
    return Installed(publisher, server, layout)


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """One real repository for the whole session (see `Published`); tests copy, never change it."""
    return Published(tmp_path_factory.mktemp("published"))


@pytest.fixture
def world(tmp_path: Path, published: Published, https_server, test_ca: TestCA) -> Iterator[World]:
    """A private copy of `published`, installed at 1.0.0, behind a server whose hook can lie."""
    yield World(tmp_path, published, https_server, test_ca.ca_file)


@pytest.fixture
def display() -> Iterator[str]:
    """A fresh Xvfb (tests/support/display.py); its DISPLAY value. Skips without Xvfb, but
    fails in CI."""
    server, name = start_xvfb()
    try:
        yield name
    finally:
        stop(server)
