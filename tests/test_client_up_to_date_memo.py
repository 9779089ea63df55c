"""A warm up-to-date check verifies root and timestamp only, when nothing else can have changed."""

from __future__ import annotations

import json
from pathlib import Path

from client import Updater
from tests.client_support import Publisher, install_root


def test_memo_skips_local_reloads_and_expires(tmp_path: Path, https_server, test_ca) -> None:
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0")
    server = https_server(publisher.repo)
    root = tmp_path / "install"
    layout = install_root(root, publisher, "1.0.0", [server.url], test_ca.ca_file)
    updater = Updater.from_config(install_root=root)
    assert updater.check() is None
    memo = layout.read_state().up_to_date
    assert memo and memo["key"][1:3] == ["1.0.0", "stable"]

    # the local targets copy is not even read while the signed snapshot version is unchanged
    cached_targets = layout.metadata_dir / "targets.json"
    cached_targets.write_text("garbage")
    server.requests.clear()
    assert updater.check() is None
    assert [r.split("/")[-1] for r in server.requests] == ["2.root.json", "timestamp.json"]

    # past the verified snapshot/targets expiry the full workflow runs (and repairs the cache)
    state = json.loads(layout.state_file.read_text())
    state["up_to_date"]["until"] = 0
    layout.state_file.write_text(json.dumps(state))
    assert updater.check() is None
    assert json.loads(cached_targets.read_text())["signed"]["_type"] == "targets"

    # a local change the answer depends on (the channel) is not answered from the memo
    publisher.release("--bump", "minor", "--channel", "beta")
    assert updater.check() is None  # stable: a new snapshot, still nothing for this channel
    updater.set_setting("update_channel", "beta")
    assert updater.check().version == "1.1.0b1"
    assert layout.read_state().up_to_date is None


def test_up_to_date_check_uses_one_connection_on_a_keep_alive_server(
    tmp_path: Path, https_server, test_ca
) -> None:
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0")
    server = https_server(publisher.repo)
    server.keep_alive = True
    root = tmp_path / "install"
    install_root(root, publisher, "1.0.0", [server.url], test_ca.ca_file)
    updater = Updater.from_config(install_root=root)
    assert updater.check() is None
    server.requests.clear()
    server.connections = 0
    assert updater.check() is None
    assert len(server.requests) == 2  # the next-root probe (404) and timestamp.json
    assert server.connections == 1  # the 404 did not cost a second TLS handshake
