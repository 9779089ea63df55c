from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
