"""The issue's "Done when" scenario, over real HTTPS on loopback with releases made by repo-tools.

setup 1.0 -> 1.1 by delta -> 1.2 by the full pack (no delta base) -> rollback to 1.1 with no
network -> automatic updates skip 1.2 until 1.3 appears; beta sees 1.3b1, stable does not;
primary mirror down -> the fallback is used.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from client import Updater
from client.history import read as read_history
from tests.support.install import install_root, server_entry, without_delta_base
from tests.support.publisher import Publisher


@pytest.fixture
def publisher(tmp_path: Path) -> Publisher:
    pub = Publisher(tmp_path / "publisher")
    assert pub.release("--version", "1.0.0") == "1.0.0"
    return pub


def wait_for(events: list, kind: str, condition: threading.Event, timeout: float = 60) -> None:
    assert condition.wait(timeout), f"no {kind} event; got {[e.kind for e in events]}"


def test_update_rollback_skip_channels_mirrors(tmp_path, publisher, https_server, test_ca) -> None:
    server = https_server(publisher.repo)
    dead = https_server(tmp_path)  # a mirror that goes away
    dead_url = dead.url
    dead.close()
    root = tmp_path / "install"
    layout = install_root(root, publisher, "1.0.0", [dead_url, server.url], test_ca.ca_file)
    assert layout.current_version() == "1.0.0"
    assert (root / "current" / "app.py").is_file()

    # 1.0 -> 1.1 by patch, primary mirror down: the fallback serves it
    assert publisher.release("--bump", "minor") == "1.1.0"
    updater = Updater.from_config(install_root=root)
    events = []
    updater.on_event(events.append)
    info = updater.check()
    assert info.version == "1.1.0" and info.method == "patch"
    assert info.download_bytes < 0.8 * info.full_bytes
    assert updater.update() == "1.1.0"
    assert layout.current_version() == "1.1.0"
    downloaded = [r for r in read_history(layout.history_file) if r["event"] == "downloaded"]
    assert downloaded[-1]["method"] == "patch"
    assert downloaded[-1]["server"] == server_entry(server.url)["metadata_url"]
    assert not any(p.endswith((".tar.gz", ".tar.zst")) for p in server.requests)  # a delta
    kinds = [e.kind for e in events]
    assert {"checked", "update_available", "download_progress", "downloaded", "installed"} <= set(
        kinds
    )

    # 1.1 -> 1.2 by the full pack: 1.1.0 cannot be a delta base (its manifest is gone)
    assert publisher.release("--bump", "minor") == "1.2.0"
    without_delta_base(layout, "1.1.0")
    info = updater.check()
    assert info.version == "1.2.0" and info.method == "full"
    assert updater.update() == "1.2.0"
    assert any(p.endswith("demo-1.2.0.tar.zst") for p in server.requests)
    assert layout.kept_versions() == ["1.0.0", "1.1.0", "1.2.0"]

    # rollback to 1.1 with no network at all
    server.close()
    assert updater.rollback() == "1.1.0"
    assert layout.current_version() == "1.1.0"
    assert "1.2.0" in layout.read_state().skipped
    assert events[-1].kind == "rolled_back"

    # automatic updates (background thread) skip 1.2 ...
    server = https_server(publisher.repo)
    updater.set_setting("servers", [server_entry(server.url)])
    updater.set_setting("auto_install", True)
    auto = Updater.from_config(install_root=root)
    auto.startup_delay = 0
    seen, up_to_date, installed = [], threading.Event(), threading.Event()

    def on_event(event) -> None:
        seen.append(event)
        if event.kind == "no_update":  # emitted after "checked": waiting for it avoids a race
            up_to_date.set()
        if event.kind == "installed":
            installed.set()

    auto.on_event(on_event)
    auto.start()
    auto.check_soon()
    wait_for(seen, "no_update", up_to_date)
    assert layout.current_version() == "1.1.0"
    assert not installed.is_set() and "checked" in [e.kind for e in seen]

    # ... beta sees 1.3b1, stable does not
    assert publisher.release("--channel", "beta", "--bump", "minor") == "1.3.0b1"
    assert updater.check() is None  # stable
    updater.set_setting("update_channel", "beta")
    assert updater.check().version == "1.3.0b1"
    updater.set_setting("update_channel", "stable")

    # ... until 1.3 appears: then the background thread installs it
    assert publisher.release("--channel", "stable") == "1.3.0"
    auto.settings = updater.settings
    auto.check_soon()
    wait_for(seen, "installed", installed)
    auto.stop()
    assert layout.current_version() == "1.3.0"
    installed_event = next(e for e in seen if e.kind == "installed")
    assert installed_event.data["from_version"] == "1.1.0"
    assert installed_event.data["version"] == "1.3.0"

    # history tells the whole story
    events_logged = [(r["event"], r["to_version"]) for r in updater.history()]
    assert ("installed", "1.1.0") in events_logged
    assert ("installed", "1.2.0") in events_logged
    assert ("rolled_back", "1.1.0") in events_logged
    assert ("installed", "1.3.0") in events_logged


def test_up_to_date_check_costs_two_requests(tmp_path, publisher, https_server, test_ca) -> None:
    server = https_server(publisher.repo)
    root = tmp_path / "install"
    install_root(root, publisher, "1.0.0", [server.url], test_ca.ca_file)
    updater = Updater.from_config(install_root=root)
    assert updater.check() is None  # first check fetches snapshot and targets
    server.requests.clear()
    assert updater.check() is None
    assert server.requests == ["/metadata/2.root.json", "/metadata/timestamp.json"]


def test_patch_failure_falls_back_to_full_archive(tmp_path, publisher, https_server, test_ca):
    server = https_server(publisher.repo)
    root = tmp_path / "install"
    layout = install_root(root, publisher, "1.0.0", [server.url], test_ca.ca_file)
    publisher.release("--bump", "patch")
    # a damaged delta base: the installed file a patch starts from fails its manifest hash,
    # so the same update fetches the full pack instead
    base = layout.version_dir("1.0.0") / "lib" / "data.bin"
    data = bytearray(base.read_bytes())
    data[600:700] = b"x" * 100
    base.write_bytes(bytes(data))
    updater = Updater.from_config(install_root=root)
    assert updater.check().method == "patch"
    assert updater.update() == "1.0.1"
    record = [r for r in updater.history() if r["event"] == "downloaded"][-1]
    assert record["method"] == "full" and record["patch_fallback"]
    assert layout.current_version() == "1.0.1"
    shutil.rmtree(root)
