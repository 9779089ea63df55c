"""Updates through an HTTP proxy (corporate networks): TLS end to end, TUF verifies as usual."""

from __future__ import annotations

from pathlib import Path

import pytest

from client import Updater
from client.settings import SettingsError, from_dict
from client.transport import Transport
from tests.support.connect_proxy import ConnectProxy
from tests.support.install import install_root
from tests.support.publisher import Publisher


def test_update_through_an_explicit_proxy(tmp_path: Path, https_server, test_ca) -> None:
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0")
    server = https_server(publisher.repo)
    proxy = ConnectProxy()
    try:
        root = tmp_path / "install"
        install_root(root, publisher, "1.0.0", [server.url], test_ca.ca_file, proxy=proxy.url)
        publisher.release("--bump", "minor")
        assert Updater.from_config(install_root=root).update() == "1.1.0"
        assert proxy.tunnels, "the update did not go through the proxy"
        assert all(t == server.url.removeprefix("https://") for t in proxy.tunnels)
    finally:
        proxy.close()


def test_system_proxy_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    transport = Transport()
    assert transport._proxies("https://updates.example/m")["https"] == "http://proxy.example:3128"
    assert "https" not in transport._proxies("https://internal.example/m")
    assert transport._proxies("https://127.0.0.1:8443/m") == {}
    assert Transport(proxy="none")._proxies("https://updates.example/m") == {}


@pytest.mark.parametrize("value", ["socks://x", "proxy.example:3128", 3128, "", None])
def test_invalid_proxy_setting_names_the_key(value) -> None:
    with pytest.raises(SettingsError, match="proxy"):
        from_dict({"proxy": value})
