"""A warm up-to-date check verifies root and timestamp only, when nothing else can have changed."""

from __future__ import annotations

import json

from client import Updater


def test_memo_skips_local_reloads_and_expires(installed_app) -> None:
    publisher, server, layout = installed_app.publisher, installed_app.server, installed_app.layout
    root = layout.root
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


def test_up_to_date_check_uses_one_connection_on_a_keep_alive_server(installed_app) -> None:
    server = installed_app.server
    server.keep_alive = True
    updater = Updater.from_config(install_root=installed_app.root)
    assert updater.check() is None
    server.requests.clear()
    server.connections = 0
    assert updater.check() is None
    assert len(server.requests) == 2  # the next-root probe (404) and timestamp.json
    assert server.connections == 1  # the 404 did not cost a second TLS handshake
