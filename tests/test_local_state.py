"""Hostile or damaged local files: state.json, updater_config.json, history.jsonl, backup_paths,
and other users' write access (docs/security-local-state.md).

Every test damages real files in a real install root (the `installed_app` fixture: demo 1.0.0
served over HTTPS on 127.0.0.1) and then drives both the embedded API
(`Updater.from_config(install_root=...)`, `.start()`, `.check()`) and the real `update-client`
console script in a subprocess. Each asserts: no traceback, a message saying what happened,
the exit code the command promises, the application still starts, nothing is lost.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from client import SettingsError, UpdateError, Updater
from client.files import atomic_write_text
from client.history import append
from client.layout import Layout

CLIENT = Path(sys.executable).parent / "update-client"
OTHER_UID = 65534  # "nobody": another local user
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def give_away(path: Path, uid: int = OTHER_UID, gid: int = -1) -> None:
    """Make `path` (itself, never a link's target) another user's or group's: needs root."""
    if not ROOT:
        pytest.skip("acting as another local user needs root (chown)")
    os.chown(path, uid, gid, follow_symlinks=False)


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`update-client --install-root ROOT ARGS...` as a real subprocess; never a traceback."""
    command = [str(CLIENT), "--install-root", str(root), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def records(root: Path) -> list[dict]:
    """history.jsonl read leniently by the test itself (not through the code under test)."""
    found = []
    for line in (root / "history.jsonl").read_bytes().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def events_of(root: Path) -> list[str]:
    return [r.get("event") for r in records(root)]


def quiet(root: Path) -> Updater:
    """The embedded updater with its background thread held back (tests call it directly)."""
    updater = Updater.from_config(install_root=root)
    updater.startup_delay = 3600
    return updater


def assert_app_starts(root: Path) -> None:
    result = cli(root, "launch")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("app 1.0.0")


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# -- 1. damaged state.json -------------------------------------------------------------------


def _truncated(real: bytes) -> bytes:
    return real[: len(real) // 2]


DAMAGED_STATE = {
    "empty": lambda real: b"",
    "truncated": _truncated,
    "not-utf8": lambda real: b'{"app": "demo\xff\xfe", "pinned": null}',
    "deeply-nested": lambda real: b"[" * 100_000 + b"]" * 100_000,
    "not-an-object": lambda real: b'["demo"]',
    "wrong-types": lambda real: json.dumps(
        {
            "app": 5,
            "skipped": "1.1.0",
            "pending": ["1.1.0"],
            "last_check": "yesterday",
            "check_jitter_seconds": None,
            "rollout_bucket": 1e9,
            "available": {"version": None},
            "downloaded": {"version": "1.1.0", "tar": "../../x", "tar_sha256": 1},
            "up_to_date": {"key": 1, "until": "never"},
        }
    ).encode(),
    "number-too-long": lambda real: b'{"app": "demo", "last_check": ' + b"9" * 5000 + b"}",
    "infinite-number": lambda real: b'{"app": "demo", "last_check": 1e999}',
}


@pytest.mark.parametrize("damage", list(DAMAGED_STATE), ids=list(DAMAGED_STATE))
def test_damaged_state_is_set_aside_rebuilt_and_the_update_still_found(
    installed_app, damage, caplog
) -> None:
    root = installed_app.root
    installed_app.publisher.release("--version", "1.1.0")
    real = (root / "state.json").read_bytes()
    bad = DAMAGED_STATE[damage](real)
    before = tree(root / "versions")

    # embedded: from_config, start and check never raise; the lost app name is rebuilt
    (root / "state.json").write_bytes(bad)
    updater = quiet(root)
    with caplog.at_level(logging.WARNING):
        updater.start()
        updater.stop()
        info = updater.check()
    assert info is not None and info.version == "1.1.0"  # never "up to date" from lost state
    assert any("local state damaged" in r.getMessage() for r in caplog.records)
    (aside,) = root.glob("state.json.damaged-*")
    assert aside.read_bytes() == bad  # set aside as it was: nothing lost
    assert json.loads((root / "state.json").read_text())["app"] == "demo"
    (line,) = [r for r in records(root) if r["event"] == "state_repaired"]
    assert "local state damaged" in line["error"] and "app demo" in line["error"]
    if damage == "deeply-nested":  # refused before the parser, not by its recursion limit
        assert "nests deeper than 32 levels" in line["error"]

    # the CLI, each command on freshly damaged state
    for args, code, expected in (
        (("status",), 0, "app:              demo"),
        (("--json", "check"), 0, '"version": "1.1.0"'),
        (("launch",), 0, "app 1.0.0"),
    ):
        (root / "state.json").write_bytes(bad)
        result = cli(root, *args)
        assert result.returncode == code, result.stderr
        assert expected in result.stdout
    assert tree(root / "versions") == before  # the running version untouched


def test_valid_fields_survive_and_damaged_ones_are_rebuilt_or_reset(installed_app) -> None:
    root = installed_app.root
    state = json.loads((root / "state.json").read_text())
    state.update(pinned="1.0.0", skipped="oops", check_jitter_seconds=-5, rollout_bucket=42)
    (root / "state.json").write_text(json.dumps(state))
    status = quiet(root).status()
    assert status["pinned_version"] == "1.0.0" and status["rollout_bucket"] == 42
    assert status["skipped_versions"] == [] and status["app"] == "demo"
    (line,) = [r for r in records(root) if r["event"] == "state_repaired"]
    assert "skipped" in line["error"] and "check_jitter_seconds" in line["error"]
    assert "pinned" not in line["error"].split("reset to defaults:")[1]


def test_lost_state_is_rebuilt_from_the_kept_versions(installed_app) -> None:
    """previous and skipped come back from versions/: rollback still works, and a version
    rolled back from is still not offered again."""
    root = installed_app.root
    installed_app.publisher.release("--version", "1.1.0")
    assert quiet(root).update() == "1.1.0"
    (root / "state.json").write_bytes(b"")  # power cut
    result = cli(root, "rollback")
    assert result.returncode == 0 and "rolled back to 1.0.0" in result.stdout, result.stderr
    (root / "state.json").write_bytes(b"{")  # and again
    updater = quiet(root)
    assert updater.status()["skipped_versions"] == ["1.1.0"]
    assert updater.check() is None  # skipped because it was rolled back from, as before
    assert_app_starts(root)


def test_an_unknown_application_name_is_an_error_never_up_to_date(installed_app) -> None:
    root = installed_app.root
    installed_app.publisher.release("--version", "1.1.0")
    (root / "state.json").write_bytes(b"")
    (root / "versions" / "1.0.0" / ".update" / "release.json").unlink()
    updater = quiet(root)
    updater.start()  # the application itself starts
    updater.stop()
    with pytest.raises(UpdateError, match="application name of .* is lost"):
        updater.check()  # the precise reason, not "run setup" on a root that was set up
    result = cli(root, "check")
    assert result.returncode not in (0, 2) and "up to date" not in result.stdout
    assert result.stderr.startswith("error: the application name")
    result = cli(root, "status")
    assert result.returncode == 5 and "application name" in result.stderr


# -- 1. damaged updater_config.json ----------------------------------------------------------

DAMAGED_CONFIG = {
    "not-utf8": b'{"update_channel": "st\xe9ble"}',
    "deeply-nested": b'{"servers": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "number-too-long": b'{"max_backups": ' + b"1" * 5000 + b"}",
    "fifo": None,  # a named pipe: reading it must not block the application
}


@pytest.mark.parametrize("damage", list(DAMAGED_CONFIG), ids=list(DAMAGED_CONFIG))
def test_damaged_settings_disable_updates_with_a_message_and_the_app_starts(
    installed_app, damage
) -> None:
    root = installed_app.root
    config = root / "updater_config.json"
    config.unlink()
    if DAMAGED_CONFIG[damage] is None:
        os.mkfifo(config)
    else:
        config.write_bytes(DAMAGED_CONFIG[damage])
    updater = quiet(root)  # never raises
    assert not updater.enabled and str(config) in str(updater.settings_error)
    reason = {"not-utf8": "not UTF-8", "deeply-nested": "nests deeper than 32 levels"}
    reason |= {"number-too-long": "not valid JSON", "fifo": "not a regular file"}
    assert reason[damage] in str(updater.settings_error)
    errors: list[str] = []
    done = threading.Event()
    updater.on_event(lambda event: (errors.append(event.message), done.set()))
    updater.startup_delay = 0
    updater.start()
    assert done.wait(10)
    updater.stop()
    assert "updates disabled: invalid settings" in errors[0]
    result = cli(root, "status")
    assert result.returncode == 0 and "SETTINGS INVALID" in result.stdout
    result = cli(root, "check")
    assert result.returncode == 4 and result.stderr.startswith("error: invalid settings")
    assert_app_starts(root)


# -- 2. backup_paths that contain the install root, are inside it or overlap ---------------------


def test_backup_paths_around_the_install_root_are_refused(installed_app, tmp_path) -> None:
    root = installed_app.root
    config = root / "updater_config.json"
    original = config.read_bytes()
    data = tmp_path / "data"
    (data / "inner").mkdir(parents=True)
    (data / "inner" / "notes.txt").write_text("user data")
    (tmp_path / "alias").symlink_to(root)
    cases = {
        "the install root": ([str(root)], "contains the install root"),
        "its parent": ([str(root.parent)], "contains the install root"),
        "its parent, via ~": (["~/../" + str(root.parent).lstrip("/")], "contains the install"),
        "a link to it": ([str(tmp_path / "alias")], "contains the install root"),
        "inside it": ([str(root / "versions")], "is inside the install root"),
        "each other": ([str(data), str(data / "inner")], "overlaps backup_paths[0]"),
        "the same twice": ([str(data), str(data) + "/"], "overlaps backup_paths[0]"),
        "relative": (["data"], "is a relative path"),
    }
    for name, (paths, expected) in cases.items():
        # the CLI refuses to save it, naming the key, the value and what is allowed
        result = cli(root, "config", "set", "backup_paths", json.dumps(paths))
        assert result.returncode == 4, (name, result.stdout, result.stderr)
        assert expected in result.stderr and "backup_paths[" in result.stderr, name
        assert "allowed: absolute paths" in result.stderr, name
        assert config.read_bytes() == original, name
        # the embedded API refuses it too (set_setting, and a file edited by hand)
        with pytest.raises(SettingsError, match="backup_paths"):
            quiet(root).set_setting("backup_paths", paths)
        config.write_text(json.dumps({**json.loads(original), "backup_paths": paths}))
        updater = quiet(root)
        assert not updater.enabled and expected in str(updater.settings_error), name
        with pytest.raises(UpdateError, match="invalid settings"):
            updater.update()
        result = cli(root, "update")
        assert result.returncode == 4 and expected in result.stderr, name
        config.write_bytes(original)
    assert list((root / "backups").iterdir()) == []
    assert (data / "inner" / "notes.txt").read_text() == "user data"
    # a folder beside the install root is what backup_paths are for
    quiet(root).set_setting("backup_paths", [str(data)])
    assert cli(root, "update").returncode == 2
    assert_app_starts(root)


# -- 3. other users' write access ----------------------------------------------------------------


@pytest.mark.parametrize("how", ["world-writable", "shared-group", "other-owner"])
def test_an_install_root_others_can_write_is_reported(installed_app, how, caplog) -> None:
    root = installed_app.root
    if how == "world-writable":
        root.chmod(0o777)
    elif how == "shared-group":
        give_away(root, -1, 12345)  # a group that is not the owner's private group
        root.chmod(0o775)
    else:
        give_away(root)
    expected = {"world-writable": "writable by every user", "shared-group": "writable by group"}
    expected["other-owner"] = "owned by another user"
    updater = quiet(root)
    with caplog.at_level(logging.WARNING):
        updater.start()
        updater.stop()
    assert any(expected[how] in r.getMessage() for r in caplog.records)
    assert any(expected[how] in w for w in updater.layout.warnings())
    (line,) = [r for r in records(root) if r["event"] == "permissions_warning"]
    assert str(root) in line["error"] and "chmod go-w" in line["error"]
    status = json.loads(cli(root, "--json", "status").stdout)
    assert any(expected[how] in w for w in status["warnings"])
    assert "WARNING:" in cli(root, "status").stdout
    assert cli(root, "check").returncode == 2  # warned, not refused (docs/security-local-state.md)
    assert_app_starts(root)


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim" / "important.txt"
    victim.parent.mkdir()
    victim.write_text("the other user's file\n")
    return victim


@pytest.mark.parametrize("link", ["symlink", "hardlink", "other-owner"])
def test_history_is_never_appended_to_someone_elses_file(installed_app, tmp_path, link) -> None:
    root = installed_app.root
    history = root / "history.jsonl"
    victim = _victim(tmp_path)

    def plant() -> None:
        history.unlink()
        if link == "symlink":
            history.symlink_to(victim)
            if ROOT:
                give_away(history)
        elif link == "hardlink":
            os.link(victim, history)
        else:
            history.write_text('{"time": "t", "event": "planted", "result": "ok"}\n')
            give_away(history)

    for run in ("cli", "embedded"):
        plant()
        if run == "cli":
            assert cli(root, "check").returncode == 2
        else:
            assert quiet(root).check() is None
        assert victim.read_text() == "the other user's file\n"
        info = os.lstat(history)
        assert stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_uid == os.geteuid()
        assert events_of(root)[0] == "history_set_aside" and "checked" in events_of(root)
        for stale in root.glob("history.jsonl.untrusted-*"):
            stale.unlink()  # keep the next round's set-aside file alone


@pytest.mark.parametrize("link", ["symlink", "hardlink", "other-owner"])
def test_state_through_a_link_or_from_another_user_is_not_trusted(
    installed_app, tmp_path, link
) -> None:
    """Another user's state.json could name any tar as verified: it is set aside, unread."""
    root = installed_app.root
    state = root / "state.json"
    evil = json.loads(state.read_text())
    evil["downloaded"] = {"version": "6.6.6", "tar": "demo-1.0.0.tar", "method": "full",
                          "tar_sha256": "0" * 64, "unpacked_size": 1}  # fmt: skip
    victim = _victim(tmp_path)
    victim.write_text(json.dumps(evil))
    before = victim.read_bytes()
    for run in ("cli", "embedded"):
        state.unlink()
        if link == "symlink":
            state.symlink_to(victim)
        elif link == "hardlink":
            os.link(victim, state)
        else:
            state.write_text(json.dumps(evil))
            give_away(state)
        if run == "cli":
            result = cli(root, "install")
            assert result.returncode == 2 and "nothing downloaded" in result.stdout
        else:
            assert quiet(root).install() is None
        assert victim.read_bytes() == before
        info = os.lstat(state)
        assert stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_uid == os.geteuid()
        assert (
            "not trusted"
            in [r for r in records(root) if r["event"] == "state_repaired"][-1]["error"]
        )
    assert_app_starts(root)


def test_writes_never_go_through_a_link_and_are_fsynced(tmp_path, monkeypatch) -> None:
    victim = _victim(tmp_path)
    link = tmp_path / "state.json"
    link.symlink_to(victim)
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    atomic_write_text(link, "{}", durable=False)  # bookkeeping writes too: never half a file
    assert victim.read_text() == "the other user's file\n" and not link.is_symlink()
    assert link.read_text() == "{}" and len(synced) == 1  # the data, before the rename
    synced.clear()
    append(tmp_path / "history.jsonl", "checked")
    assert synced  # a history line survives a power cut


# -- 4. damaged history lines ---------------------------------------------------------------------


def test_damaged_history_lines_are_skipped_and_counted(installed_app) -> None:
    root = installed_app.root
    history = root / "history.jsonl"
    with open(history, "ab") as handle:
        handle.write(b'{"time": "t", "event": "checked\xff", "result": "ok"}\n')  # not UTF-8
        handle.write(b"[" * 100_000 + b"]" * 100_000 + b"\n")  # too deep
        handle.write(b'{"time": null, "event": null, "result": null}\n')  # wrong types
        handle.write(b'["not", "a", "record"]\n')
        handle.write(b'{"time": "t", "event": "checked", "res')  # torn by a crash
    result = cli(root, "history")
    assert result.returncode == 0 and "setup" in result.stdout
    assert "warning: 5 damaged line(s)" in result.stderr
    result = cli(root, "--json", "history")
    assert result.returncode == 0 and [r["event"] for r in json.loads(result.stdout)] == ["setup"]
    assert [r["event"] for r in quiet(root).history()] == ["setup"]
    assert cli(root, "check").returncode == 2  # appending after a torn line still works
    assert [r["event"] for r in quiet(root).history()] == ["setup", "checked"]


def test_a_history_that_cannot_be_read_is_an_error_line(installed_app, tmp_path) -> None:
    root = installed_app.root
    (root / "history.jsonl").unlink()
    (root / "history.jsonl").symlink_to(_victim(tmp_path))
    result = cli(root, "history")
    assert result.returncode == 1 and result.stderr.startswith("error: ")
    assert "symbolic link" in result.stderr and "the other user's file" not in result.stdout
    assert quiet(root).history() == []
    (root / "history.jsonl").unlink()
    (root / "history.jsonl").mkdir()  # a folder where the file belongs
    result = cli(root, "history")
    assert result.returncode == 1 and "is not a regular file" in result.stderr
    assert quiet(root).history() == []
    assert_app_starts(root)


def test_layout_reads_are_safe_on_a_bare_folder(tmp_path) -> None:
    """Nothing set up: no repair, no history, no traceback (the start-up path)."""
    layout = Layout(tmp_path)
    assert layout.read_state().app == "" and not layout.is_set_up()
    assert not (tmp_path / "history.jsonl").exists() and not (tmp_path / "state.json").exists()
    result = cli(tmp_path, "status")
    assert result.returncode == 5 and result.stderr.startswith("error: ")
