"""The release notes of every version since the running one: on plain data, then from a real
published repository through `check()`, the `update_available` event and `update-client`."""

from __future__ import annotations

import json
from dataclasses import replace

from client.selection import Catalog, Release, release_notes
from tests.support.catalog import release
from tests.support.install import run_client
from tests.support.publisher import tools_ok


def noted(version: str, yanked: str = "", rollout: int = 100) -> Release:
    plain = release(version)
    info = replace(plain.info, notes=f"notes of {version}", yanked=yanked, rollout=rollout)
    return replace(plain, info=info)


def versions(notes: list[dict[str, str]]) -> list[str]:
    return [entry["version"] for entry in notes]


def test_every_version_since_the_running_one_newest_first() -> None:
    releases = [noted(v) for v in ("0.9.0", "1.0.0", "1.1.0", "1.2.0b1", "1.2.0", "1.3.0")]
    releases.append(noted("1.2.5", yanked="orders sent twice"))  # withdrawn: not offered
    releases.append(noted("1.4.0"))  # above the offered one
    offered = next(r for r in releases if r.info.version == "1.3.0")
    found = release_notes(releases, "1.0.0", offered, "stable")
    assert versions(found) == ["1.3.0", "1.2.0", "1.1.0"]
    assert found[0] == {
        "version": "1.3.0",
        "notes": "notes of 1.3.0",
        "published": "2026-01-01T00:00:00Z",
    }
    # the beta channel sees the beta release too
    assert versions(release_notes(releases, "1.0.0", offered, "beta")) == [
        "1.3.0", "1.2.0", "1.2.0b1", "1.1.0",
    ]  # fmt: skip


def test_skipped_and_not_yet_rolled_out_releases_keep_their_notes() -> None:
    """The offered version contains their changes, so what they brought is still news."""
    from client.planning import plan_update

    releases = [noted("1.0.0"), noted("1.1.0", rollout=0), noted("1.2.0"), noted("1.3.0")]
    cat = Catalog({r.info.version: r for r in releases}, ())
    plan = plan_update(
        cat, current="1.0.0", channel="stable", skipped=["1.2.0"], pinned=None,
        rollout_bucket=50, kept_versions=["1.0.0"], rollback_enabled=True, base_cached=False,
    )  # fmt: skip
    assert plan.info.version == "1.3.0"
    assert versions(plan.info.release_notes) == ["1.3.0", "1.2.0", "1.1.0"]
    assert plan.info.notes == "notes of 1.3.0"  # `notes` stays the offered version's


def test_a_move_down_names_the_version_moved_to() -> None:
    """A pin below the running version (or a withdrawal's step down): just that one."""
    releases = [noted("1.0.0"), noted("1.1.0"), noted("1.2.0")]
    assert versions(release_notes(releases, "1.2.0", releases[0], "stable")) == ["1.0.0"]


def test_notes_of_several_releases_from_a_real_repository(installed_app) -> None:
    publisher, root = installed_app.publisher, installed_app.root
    publisher.release("--version", "1.1.0", "--notes", "faster orders")
    publisher.release("--version", "1.2.0b1", "--channel", "beta", "--notes", "new chart")
    publisher.release("--version", "1.2.0", "--notes", "sends orders twice")
    tools_ok(publisher.repo, publisher.keys, "yank", "1.2.0", "--reason", "orders sent twice")
    publisher.release("--version", "1.3.0", "--notes", "stop-loss orders")

    from client import Updater

    updater = Updater.from_config(install_root=root)
    events: list = []
    updater.on_event(events.append)
    info = updater.check()
    assert info is not None and info.version == "1.3.0" and info.notes == "stop-loss orders"
    expected = [("1.3.0", "stop-loss orders"), ("1.1.0", "faster orders")]
    assert [(n["version"], n["notes"]) for n in info.release_notes] == expected
    assert all(n["published"].startswith("20") for n in info.release_notes)
    (available,) = [e for e in events if e.kind == "update_available"]
    assert available.data["release_notes"] == info.release_notes
    # state.json keeps the offer, not the notes (their size is the publisher's to choose)
    state = json.loads((root / "state.json").read_text())
    assert state["available"]["version"] == "1.3.0" and "release_notes" not in state["available"]

    result = run_client(root, "check")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("update available: 1.0.0 -> 1.3.0 by ")
    assert lines[0].endswith(" MB"), lines[0]  # sizes in MB, as in the GUI
    assert lines[1].startswith("  1.3.0 (20") and lines[1].endswith("): stop-loss orders")
    assert lines[2].startswith("  1.1.0 (20") and lines[2].endswith("): faster orders")
    assert len(lines) == 3 and "twice" not in result.stdout and "chart" not in result.stdout

    assert run_client(root, "config", "set", "update_channel", "beta").returncode == 0
    result = run_client(root, "--json", "check")
    notes = json.loads(result.stdout)["update"]["release_notes"]
    assert versions(notes) == ["1.3.0", "1.2.0b1", "1.1.0"]
    assert notes[1]["notes"] == "new chart"

    # the download keeps them: the `downloaded` event carries the same notes
    events.clear()
    updater = Updater.from_config(install_root=root)
    updater.on_event(events.append)
    assert updater.download() is not None
    (downloaded,) = [e for e in events if e.kind == "downloaded"]
    assert versions(downloaded.data["release_notes"]) == ["1.3.0", "1.2.0b1", "1.1.0"]
