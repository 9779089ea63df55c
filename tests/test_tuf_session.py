"""The one module that touches ngclient: its internals still exist, and an install root
written by an earlier client (tuf 4 layout: a plain root.json, no root_history/) keeps its
trusted metadata when the client moves to tuf 7."""

from __future__ import annotations

import shutil
import subprocess
import sys

from client import Updater
from client.tuf_session import NGCLIENT_INTERNALS, missing_internals


def test_ngclient_internals_we_rely_on_still_exist() -> None:
    missing = missing_internals()
    assert not missing, (
        f"this tuf release no longer has {', '.join(missing)}, which client/tuf_session.py uses "
        "(see NGCLIENT_INTERNALS): port that module before upgrading tuf"
    )
    assert set(NGCLIENT_INTERNALS["TrustedMetadataSet"]) == {
        "root",
        "timestamp",
        "snapshot",
        "targets",
    }


def test_a_refreshed_session_exposes_the_verified_roles(installed_app) -> None:
    from client.frame import Core

    updater = Updater.from_config(install_root=installed_app.root)
    core: Core = updater._core

    def probe(session, _transport):
        session.finish_refresh()
        return session.roles(), session.targets(), session.snapshot_version()

    roles, targets, snapshot_version = core.online(probe, full_refresh=False).result
    assert roles["timestamp"].snapshot_meta.version == snapshot_version
    assert any(name.endswith("demo-1.0.0.tar.gz") for name in targets)


def test_metadata_folder_of_the_previous_layout_keeps_its_trust(installed_app) -> None:
    publisher, server, layout = installed_app.publisher, installed_app.server, installed_app.layout
    # root version 2 (refresh --force re-signs root too); the bundle still carries version 1
    subprocess.run(
        [sys.executable, "-m", "repo_tools", "--repo", str(publisher.repo), "--keys",
         str(publisher.keys), "refresh", "--force"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert Updater.from_config(install_root=layout.root).check() is None
    metadata = layout.metadata_dir
    assert (metadata / "root.json").is_symlink()
    assert (metadata / "root_history" / "2.root.json").is_file()

    # what a tuf-4 client left: the newest trusted root as a plain root.json, no root_history/
    trusted = (metadata / "root.json").read_bytes()
    (metadata / "root.json").unlink()
    (metadata / "root.json").write_bytes(trusted)
    shutil.rmtree(metadata / "root_history")
    server.requests.clear()

    assert Updater.from_config(install_root=layout.root).check() is None
    # it went on from root 2: only the next root version was probed, root 2 was not fetched
    roots = [path for path in server.requests if path.endswith(".root.json")]
    assert roots == ["/metadata/3.root.json"], server.requests
    assert (metadata / "root.json").is_symlink()
    assert (metadata / "root_history" / "2.root.json").read_bytes() == trusted
