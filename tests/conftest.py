from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from client.layout import Layout
from tests.client_support import Publisher, install_root
from tests.support.https_server import StaticServer, TestCA, make_test_ca


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def https_server(test_ca: TestCA) -> Iterator[callable]:
    """Factory: https_server(folder) starts an HTTPS server on 127.0.0.1 serving folder."""
    servers: list[StaticServer] = []

    def start(root: Path, hook=None) -> StaticServer:
        server = StaticServer(Path(root), test_ca.server_context, hook)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@dataclass
class Installed:
    publisher: Publisher
    server: StaticServer
    layout: Layout

    @property
    def root(self) -> Path:
        return self.layout.root


@pytest.fixture
def installed_app(tmp_path: Path, https_server, test_ca: TestCA) -> Installed:
    """Release 1.0.0 of app `demo`, served over HTTPS on 127.0.0.1, installed in tmp/install."""
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0")
    server = https_server(publisher.repo)
    layout = install_root(tmp_path / "install", publisher, "1.0.0", [server.url], test_ca.ca_file)
    return Installed(publisher, server, layout)
