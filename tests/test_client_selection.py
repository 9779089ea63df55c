"""Pure decisions: which release, which patch chain, health at start-up, check schedule."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from packaging.version import Version

from client.formats import ArchiveInfo, archive_name
from client.layout import State, startup_decision
from client.planning import next_check_time
from client.selection import (
    catalog,
    choose_replacement,
    choose_update,
    plan_patch_chain,
)
from tests.support.catalog import edge, release

RELEASES = [release(v) for v in ("1.0.0", "1.1.0", "1.2.0", "1.3.0b1", "1.3.0rc1", "1.4.0a1")]


def test_channels() -> None:
    assert choose_update(RELEASES, "1.0.0", "stable").info.version == "1.2.0"
    assert choose_update(RELEASES, "1.0.0", "beta").info.version == "1.3.0rc1"
    assert choose_update(RELEASES, "1.0.0", "alpha").info.version == "1.4.0a1"
    assert choose_update(RELEASES, "1.2.0", "stable") is None


def test_skipped_until_newer() -> None:
    assert choose_update(RELEASES[:3], "1.1.0", "stable", skipped=["1.2.0"]) is None
    newer = [*RELEASES[:3], release("1.3.0")]
    assert choose_update(newer, "1.1.0", "stable", skipped=["1.2.0"]).info.version == "1.3.0"


def test_pinned() -> None:
    assert choose_update(RELEASES, "1.2.0", "stable", pinned="1.1.0").info.version == "1.1.0"
    assert choose_update(RELEASES, "1.1.0", "stable", pinned="1.1.0") is None
    assert choose_update(RELEASES, "1.0.0", "stable", pinned="9.9") is None


def test_required_release_is_a_stepping_stone() -> None:
    rels = [release("1.0.0"), release("1.1.0", required=True), release("1.2.0")]
    assert choose_update(rels, "1.0.0", "stable").info.version == "1.1.0"
    assert choose_update(rels, "1.1.0", "stable").info.version == "1.2.0"


def test_withdrawn_releases_are_never_targets_and_their_users_step_down() -> None:
    withdrawn = replace(release("1.2.0"), info=replace(release("1.2.0").info, yanked="bad fills"))
    releases = [release("1.0.0"), release("1.1.0"), withdrawn, release("1.3.0b1")]
    assert choose_update(releases, "1.0.0", "stable").info.version == "1.1.0"
    assert choose_update(releases, "1.0.0", "stable", pinned="1.2.0") is None
    # on the withdrawn version: nothing newer on stable, so the newest good one below
    assert choose_update(releases, "1.2.0", "stable") is None
    assert choose_replacement(releases, "1.2.0", "stable").info.version == "1.1.0"
    # a beta user is moved up by the ordinary rule first (1.3.0b1 is newer)
    assert choose_update(releases, "1.2.0", "beta").info.version == "1.3.0b1"
    assert choose_replacement(releases, "1.0.0", "stable") is None  # nothing below
    # one the user rolled back from is the last resort, not the first choice
    releases.append(release("1.2.5"))
    releases[-1] = replace(releases[-1], info=replace(releases[-1].info, yanked="also bad"))
    assert choose_replacement(releases, "1.2.0", "stable", skipped=["1.1.0"]).version == (
        Version("1.0.0")
    )
    only = [release("1.1.0"), withdrawn]
    assert choose_replacement(only, "1.2.0", "stable", skipped=["1.1.0"]).info.version == "1.1.0"


def test_catalog_ignores_other_apps_and_bad_metadata() -> None:
    mine = release("1.0.0")
    other = ArchiveInfo("other", "2.0.0", "stable", 1, "0" * 64, 1, "x")
    targets = {
        mine.name: SimpleNamespace(length=10, custom=mine.info.to_custom()),
        archive_name("other", "2.0.0"): SimpleNamespace(length=10, custom=other.to_custom()),
        "app-1.1.0.tar.gz": SimpleNamespace(length=10, custom={"updater": {"kind": "archive"}}),
        "readme.txt": SimpleNamespace(length=1, custom={}),
    }
    cat = catalog("app", targets)
    assert list(cat.releases) == ["1.0.0"] and not cat.patches and len(cat.problems) == 1


def test_patch_chain_cheapest_path() -> None:
    edges = [
        edge("1.0.0", "1.1.0", 100),
        edge("1.1.0", "1.2.0", 100),
        edge("1.0.0", "1.2.0", 500),
        edge("1.1.0", "1.3.0", 50),
        edge("1.2.0", "1.3.0", 10),
    ]
    chain = plan_patch_chain(edges, "1.0.0", "1.3.0", 1000, True)
    assert [e.name for e in chain] == [
        "app-1.1.0.from-1.0.0.patch",
        "app-1.3.0.from-1.1.0.patch",
    ]
    assert [e.info.version for e in plan_patch_chain(edges, "1.0.0", "1.2.0", 1000, True)] == [
        "1.1.0",
        "1.2.0",
    ]


def test_patch_chain_falls_back_to_full() -> None:
    edges = [edge("1.0.0", "1.1.0", 790)]
    assert plan_patch_chain(edges, "1.0.0", "1.1.0", 1000, True)  # 790 < 800
    assert plan_patch_chain(edges, "1.0.0", "1.1.0", 900, True) is None  # not cheap enough
    assert plan_patch_chain(edges, "1.0.0", "1.1.0", 1000, False) is None  # no base cached
    assert plan_patch_chain(edges, "0.9.0", "1.1.0", 1000, True) is None  # no path


def test_startup_decision() -> None:
    """The health rule (client.health): back to previous after `limit` failed starts in a row."""
    assert startup_decision(State(), "1.0") == "ok"
    pending = {"version": "1.1", "previous": "1.0", "starts": 0}
    assert startup_decision(State(pending=pending), "1.1") == "trial"
    # an older client's record: its one unconfirmed trial start is one failed start, not two
    assert startup_decision(State(pending={**pending, "starts": 1}), "1.1") == "trial"
    assert startup_decision(State(pending={**pending, "starts": 1}), "1.1", limit=1) == "rollback"
    twice = {**pending, "starts": 2, "failed": 1, "open": {"pid": 4242, "time": 1.0}}
    assert startup_decision(State(pending=twice), "1.1") == "rollback"  # pid 4242 is gone
    assert startup_decision(State(pending=twice), "1.1", alive=lambda pid: True) == "trial"
    assert startup_decision(State(pending=pending), "1.0") == "clear"  # switch never happened
    orphan = {**twice, "previous": None}
    assert startup_decision(State(pending=orphan), "1.1") == "clear"


def test_next_check_time() -> None:
    assert next_check_time(None, 6, 10, now=1000.0) == 1000.0
    assert next_check_time(1000.0, 6, 10, now=2000.0) == 1000.0 + 6 * 3600 + 10
    assert next_check_time(5000.0, 6, 10, now=2000.0) == 2000.0  # clock went back
