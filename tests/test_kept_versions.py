"""Trust in the folders on disk: `current` must point into versions/, a kept version is
checked before anything switches to it, and the running version's folder is never replaced."""

from __future__ import annotations

import shutil

import pytest

from client import UpdateError, Updater


def _updated(installed_app) -> Updater:
    installed_app.publisher.release("--version", "1.1.0")
    updater = Updater.from_config(install_root=installed_app.root)
    assert updater.update() == "1.1.0"
    return updater


def test_a_tampered_kept_version_is_not_switched_back_to(installed_app) -> None:
    updater = _updated(installed_app)
    (installed_app.layout.version_dir("1.0.0") / "app.py").write_text("print('evil')\n")
    with pytest.raises(UpdateError, match="changed on disk since it was installed") as caught:
        updater.rollback("1.0.0")
    assert caught.value.kind == "verification" and "app.py" in caught.value.message
    assert installed_app.layout.current_version() == "1.1.0"


def test_a_kept_version_without_a_record_is_switched_to_with_a_warning(installed_app) -> None:
    updater = _updated(installed_app)
    (installed_app.root / "cache" / "manifests" / "1.0.0.json").unlink()  # an older client's
    assert updater.rollback("1.0.0") == "1.0.0"
    last = updater.history()[-1]
    assert last["event"] == "rolled_back" and "could not be checked" in last["warnings"][0]


def test_the_running_versions_folder_is_never_replaced(installed_app) -> None:
    updater = _updated(installed_app)
    updater.rollback("1.0.0")  # current is 1.0.0; this process still runs 1.1.0's files
    updater.running_version = "1.1.0"
    running = installed_app.layout.version_dir("1.1.0")
    inode = running.stat().st_ino
    updater.pin("1.1.0")  # asks for 1.1.0 again: downloaded, but not installed over itself
    with pytest.raises(UpdateError, match="running version: not replaced"):
        updater.update()
    assert running.stat().st_ino == inode
    assert installed_app.layout.current_version() == "1.0.0"


def test_verify_checks_where_current_points_and_repair_puts_it_back(installed_app) -> None:
    layout = installed_app.layout
    elsewhere = installed_app.root.parent / "elsewhere" / "1.0.0"
    shutil.copytree(layout.version_dir("1.0.0"), elsewhere, symlinks=True)
    layout.current_link.unlink()
    layout.current_link.symlink_to(elsewhere)  # same name, outside the install root
    updater = Updater.from_config(install_root=installed_app.root)
    report = updater.verify_install()
    assert not report["intact"] and "not at versions/1.0.0" in report["current_link"]
    repaired = updater.verify_install(repair=True)
    assert repaired["intact"] and "current" in repaired["repaired"]
    assert layout.current_link.readlink().as_posix() == "versions/1.0.0"


def test_with_no_backups_the_previous_version_still_stays_for_rollback(installed_app) -> None:
    updater = Updater.from_config(install_root=installed_app.root)
    updater.set_setting("max_backups", 0)
    installed_app.publisher.release("--version", "1.1.0")
    assert updater.update() == "1.1.0"
    assert installed_app.layout.kept_versions() == ["1.0.0", "1.1.0"]
    # the health rule: two starts of the new version that never became good, then a third
    for decision in ("trial", "trial", "rollback"):
        app = Updater.from_config(install_root=installed_app.root)
        app.running_version = "1.1.0"
        assert app.apply_startup_decision() == decision
    assert installed_app.layout.current_version() == "1.0.0"
