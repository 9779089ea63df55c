"""Install root, atomic install, pruning, backups, rollback, health and locking, offline.

Bundles are real folders archived with client.archive (as repo-tools does); no server needed:
a verified download is simulated by putting its tar in cache/targets and recording it in state.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from client import BusyError, UpdateError, Updater
from client.archive import write_bundle_tar
from client.extract import UnsafeArchiveError
from client.history import append, read
from client.install import InstallError, place_version, prune_versions, setup
from client.layout import Layout
from client.settings import load
from tests.support.bundles import write_app
from tests.support.install import run_client

ROOT_JSON = json.dumps({"signed": {"_type": "root", "version": 1}, "signatures": []})


def bundle(folder: Path, version: str, app: str = "demo") -> Path:
    write_app(folder, f"v{version}", size=20_000)
    (folder / ".update").mkdir(exist_ok=True)
    (folder / ".update" / "root.json").write_text(ROOT_JSON)
    release = {"app": app, "version": version, "channel": "stable"}
    (folder / ".update" / "release.json").write_text(json.dumps(release))
    return folder


def tar_of(folder: Path, out: Path) -> tuple[Path, object]:
    with open(out, "wb") as sink:
        digest = write_bundle_tar(folder, sink)
    return out, digest


def stage_download(layout: Layout, tmp: Path, version: str, app: str = "demo") -> None:
    """What a verified download leaves behind: the tar in cache/targets, recorded in state."""
    tar, digest = tar_of(
        bundle(tmp / f"b-{version}", version, app), layout.base_tar("demo", version)
    )
    state = layout.read_state()
    state.downloaded = {
        "version": version,
        "tar": tar.name,
        "tar_sha256": digest.tar_sha256,
        "unpacked_size": digest.unpacked_size,
        "method": "full",
    }
    layout.write_state(state)


@pytest.fixture
def root(tmp_path: Path) -> Layout:
    layout = Layout(tmp_path / "install")
    setup(layout, bundle(tmp_path / "b-1.0.0", "1.0.0"), {"backup_paths": [str(tmp_path / "data")]})
    return layout


def test_setup_from_folder_creates_the_layout(root: Layout) -> None:
    for name in ("versions/1.0.0", "cache/metadata", "cache/targets", "staging"):
        assert (root.root / name).is_dir()
    assert os.readlink(root.current_link) == "versions/1.0.0"
    assert (root.metadata_dir / "root.json").read_text() == ROOT_JSON
    assert not list(root.root.rglob("*.tar"))  # no tar is kept (tree format: issue 11)
    assert json.loads((root.root / "cache" / "manifests" / "1.0.0.json").read_text())["app.py"]
    assert root.read_state().app == "demo"
    saved = json.loads(root.config_file.read_text())  # what differs from the defaults only
    assert saved == {"backup_paths": [str(root.root.parent / "data")]}
    assert load(root.config_file).max_backups == 5
    with pytest.raises(InstallError, match="already set up"):
        setup(root, root.version_dir("1.0.0"))


def test_setup_refuses_bad_sources(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "i")
    with pytest.raises(InstallError, match="does not exist"):
        setup(layout, tmp_path / "missing")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "app.py").write_text("")
    with pytest.raises(InstallError, match="release.json is missing"):
        setup(layout, plain)
    assert not layout.is_set_up()


def test_install_switches_atomically_and_keeps_running_version(root: Layout, tmp_path) -> None:
    before = {p: p.read_bytes() for p in root.version_dir("1.0.0").rglob("*") if p.is_file()}
    stage_download(root, tmp_path, "1.1.0")
    updater = Updater.from_config(install_root=root.root)
    events = []
    updater.on_event(events.append)
    assert updater.install() == "1.1.0"
    assert root.current_version() == "1.1.0"
    assert "v1.1.0" in (root.current_link / "app.py").read_text()
    after = {p: p.read_bytes() for p in root.version_dir("1.0.0").rglob("*") if p.is_file()}
    assert before == after  # the running version's files are untouched
    assert root.read_state().pending == {"version": "1.1.0", "previous": "1.0.0", "starts": 0}
    assert [e.kind for e in events] == ["installed"]
    assert list(root.staging.iterdir()) == []
    assert updater.install() is None  # nothing more downloaded


def test_unsafe_archive_is_refused_and_nothing_changes(root: Layout, tmp_path) -> None:
    evil = root.base_tar("demo", "6.6.6")
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(UnsafeArchiveError):
        place_version(root, evil, "6.6.6", 1000, "demo")
    state = root.read_state()
    state.downloaded = {
        "version": "6.6.6",
        "tar": evil.name,
        "unpacked_size": 1000,
        "tar_sha256": __import__("hashlib").sha256(evil.read_bytes()).hexdigest(),
    }
    root.write_state(state)
    updater = Updater.from_config(install_root=root.root)
    with pytest.raises(UpdateError, match="archive refused") as caught:
        updater.install()
    assert caught.value.kind == "unsafe_archive"
    assert root.current_version() == "1.0.0" and not (root.root / "escaped.txt").exists()
    assert updater.history()[-1]["result"] == "failed"


def test_wrong_software_in_archive_is_refused(root: Layout, tmp_path) -> None:
    stage_download(root, tmp_path, "1.1.0", app="other-app")
    with pytest.raises(UpdateError, match="wrong software"):
        Updater.from_config(install_root=root.root).install()
    assert root.current_version() == "1.0.0"


def test_prune_keeps_current_previous_and_max_backups(root: Layout, tmp_path) -> None:
    for minor in range(1, 7):
        version = f"1.{minor}.0"
        tar, digest = tar_of(bundle(tmp_path / f"b{minor}", version), tmp_path / f"{minor}.tar")
        place_version(root, tar, version, digest.unpacked_size, "demo")
    removed = prune_versions(root, 2, current="1.6.0", protect={"1.2.0"})
    assert removed == ["1.0.0", "1.1.0", "1.3.0", "1.4.0"]
    assert root.kept_versions() == ["1.2.0", "1.5.0", "1.6.0"]
    assert prune_versions(root, 0, current="1.6.0", protect={"1.5.0"}) == ["1.2.0"]


def test_backup_restore_rollback_and_skip(root: Layout, tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.ini").write_text("old format")
    stage_download(root, tmp_path, "1.1.0")
    updater = Updater.from_config(install_root=root.root)
    updater.install()
    (data / "settings.ini").write_text("new format written by 1.1.0")
    events = []
    updater.on_event(events.append)
    assert updater.rollback(restore_data=True) == "1.0.0"
    assert (data / "settings.ini").read_text() == "old format"
    assert root.current_version() == "1.0.0"
    state = root.read_state()
    assert state.skipped == ["1.1.0"] and state.pending is None
    assert events[-1].kind == "rolled_back" and events[-1].data["restored"] == [str(data)]
    # rolling forward again to a kept version is allowed and un-skips it
    assert updater.rollback("1.1.0") == "1.1.0"
    assert root.read_state().skipped == []


def test_rollback_errors(root: Layout, tmp_path) -> None:
    updater = Updater.from_config(install_root=root.root)
    with pytest.raises(UpdateError, match="no previous version"):
        updater.rollback()
    with pytest.raises(UpdateError, match="not kept on this machine; kept versions: 1.0.0"):
        updater.rollback("0.9")
    with pytest.raises(UpdateError, match="not a version"):
        updater.rollback("latest")
    with pytest.raises(UpdateError, match="already the current"):
        updater.rollback("1.0.0")
    updater.set_setting("rollback_enabled", False)
    with pytest.raises(UpdateError, match="rollback is disabled"):
        updater.rollback("1.0.0")


def test_health_failed_starts_then_automatic_rollback(root: Layout, tmp_path) -> None:
    """Each start here is a new Updater in this one process: the earlier start, never good,
    is over (its process starts again), so it counts as failed; the default is 2 in a row."""
    stage_download(root, tmp_path, "1.1.0")
    Updater.from_config(install_root=root.root).install()
    for failed in (0, 1):
        start = Updater.from_config(install_root=root.root)
        start.running_version = "1.1.0"
        assert start.apply_startup_decision() == "trial"
        assert root.read_state().pending["failed"] == failed
        assert root.current_version() == "1.1.0"
    third = Updater.from_config(install_root=root.root)  # 2 failed starts in a row
    third.running_version = "1.1.0"
    events = []
    third.on_event(events.append)
    assert third.apply_startup_decision() == "rollback"
    assert root.current_version() == "1.0.0"
    assert root.read_state().skipped == ["1.1.0"]
    reason = "version 1.1.0 stopped within 30 seconds on 2 starts in a row"
    assert events[-1].kind == "rolled_back" and events[-1].data["reason"] == reason
    assert third.rollback_notice() == {
        "failed_version": "1.1.0",
        "version": "1.0.0",
        "reason": reason,
        "time": pytest.approx(root.read_state().rollback_notice["time"]),
    }
    third.acknowledge_rollback_notice()
    assert Updater.from_config(install_root=root.root).rollback_notice() is None


def test_confirm_healthy_keeps_the_new_version(root: Layout, tmp_path) -> None:
    stage_download(root, tmp_path, "1.1.0")
    installer = Updater.from_config(install_root=root.root)
    installer.install()
    assert installer.confirm_healthy() is False  # this process runs 1.0.0: cannot vouch for 1.1
    app = Updater.from_config(install_root=root.root)
    app.running_version = "1.1.0"
    app.start()  # applies the trial start synchronously
    assert root.read_state().pending["starts"] == 1
    assert app.confirm_healthy() is True
    app.stop()
    again = Updater.from_config(install_root=root.root)
    again.running_version = "1.1.0"
    assert again.apply_startup_decision() == "ok"
    assert root.current_version() == "1.1.0"


def test_invalid_settings_disable_updates_but_never_crash(root: Layout) -> None:
    root.config_file.write_text(json.dumps({"max_backups": -1, "update_channel": "nightly"}))
    updater = Updater.from_config(install_root=root.root)
    assert not updater.enabled
    got = threading.Event()
    events = []
    updater.on_event(lambda e: (events.append(e), got.set()))
    updater.start()
    assert got.wait(5)
    assert events[0].kind == "error" and "max_backups: -1" in events[0].message
    assert "update_channel: 'nightly'" in events[0].message
    with pytest.raises(UpdateError) as caught:
        updater.check()
    assert caught.value.kind == "config"
    updater.stop()


def test_broken_event_handler_does_not_break_updating(root: Layout, tmp_path) -> None:
    stage_download(root, tmp_path, "1.1.0")
    updater = Updater.from_config(install_root=root.root)
    updater.on_event(lambda e: 1 / 0)
    assert updater.install() == "1.1.0"


def test_second_process_is_told_busy(root: Layout) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, filelock; l = filelock.FileLock(sys.argv[1]); l.acquire();"
            " print('locked', flush=True); time.sleep(30)",
            str(root.lock_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        updater = Updater.from_config(install_root=root.root)
        updater.lock_timeout = 0.3
        with pytest.raises(BusyError, match="another updater"):
            updater.rollback("1.0.0")
        cli = run_client(root.root, "rollback")
        assert cli.returncode == 3, cli.stderr
        assert "another updater" in cli.stderr
    finally:
        holder.kill()
        holder.wait()
    assert root.current_version() == "1.0.0"


def test_history_is_append_only_and_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    append(path, "checked", from_version="1.0", channel="stable", bytes=10, duration=0.5)
    with open(path, "a") as handle:
        handle.write('{"event": "install')  # a crash mid-write
    append(path, "installed", from_version="1.0", to_version="1.1")
    records = read(path)
    assert [r["event"] for r in records] == ["checked", "installed"]
    assert set(records[0]) >= {
        "time",
        "event",
        "from_version",
        "to_version",
        "channel",
        "bytes",
        "duration",
        "result",
        "error",
    }


def test_history_is_bounded_and_keeps_the_newest_records(tmp_path, monkeypatch) -> None:
    from client import history

    monkeypatch.setattr(history, "MAX_BYTES", 4096)
    path = tmp_path / "history.jsonl"
    for n in range(200):
        history.append(path, "checked", to_version=f"1.0.{n}")
    assert path.stat().st_size <= 4096 + 300
    records = history.read(path)
    assert records[-1]["to_version"] == "1.0.199"
    versions = [int(r["to_version"].rsplit(".", 1)[1]) for r in records]
    assert versions == sorted(versions) and len(versions) < 200
