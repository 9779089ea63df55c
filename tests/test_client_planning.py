"""`client.planning`: the decision of a check on plain data, tested without a server."""

from __future__ import annotations

from dataclasses import replace

from client.events import Method
from client.planning import no_update_message, plan_update, up_to_date_key
from client.selection import Catalog
from tests.support.catalog import edge, release


def catalog_of(*releases, patches=()) -> Catalog:
    return Catalog({r.info.version: r for r in releases}, tuple(patches))


def plan(cat: Catalog, current: str = "1.0.0", **facts):
    defaults = dict(
        current=current, channel="stable", skipped=[], pinned=None, rollout_bucket=0,
        kept_versions=[current], rollback_enabled=True, base_cached=True,
    )  # fmt: skip
    return plan_update(cat, **{**defaults, **facts})


def test_a_patch_chain_when_the_base_is_cached_and_it_is_cheaper() -> None:
    cat = catalog_of(release("1.0.0"), release("1.1.0"), patches=[edge("1.0.0", "1.1.0", 100)])
    found = plan(cat)
    assert found.release.info.version == "1.1.0"
    assert found.method == Method.PATCH and found.info.download_bytes == 100
    assert [e.info.version for e in found.chain] == ["1.1.0"]
    assert found.info.full_bytes == 1000 and found.withdrawn == ""


def test_the_full_archive_without_a_cached_base() -> None:
    cat = catalog_of(release("1.0.0"), release("1.1.0"), patches=[edge("1.0.0", "1.1.0", 100)])
    found = plan(cat, base_cached=False)
    assert found.method == Method.FULL and found.chain == [] and found.info.download_bytes == 1000


def test_nothing_to_do_says_so() -> None:
    found = plan(catalog_of(release("1.0.0")))
    assert found.release is None and found.info is None and found.method is None
    assert no_update_message("app", "1.0.0", "") == "app 1.0.0 is up to date"


def withdrawn(version: str, reason: str):
    good = release(version)
    return replace(good, info=replace(good.info, yanked=reason))


def test_a_withdrawn_version_steps_down_to_a_kept_one_without_download() -> None:
    cat = catalog_of(release("1.0.0"), withdrawn("1.1.0", "orders sent twice"))
    found = plan(cat, current="1.1.0", kept_versions=["1.0.0", "1.1.0"])
    assert found.method == Method.KEPT and found.info.download_bytes == 0
    assert found.release.info.version == "1.0.0" and found.withdrawn == "orders sent twice"
    # not on disk any more (or rollback disabled): a full download of the good release
    assert plan(cat, current="1.1.0", kept_versions=["1.1.0"]).method == Method.FULL
    both = ["1.0.0", "1.1.0"]
    assert plan(cat, current="1.1.0", kept_versions=both, rollback_enabled=False).method == "full"


def test_a_withdrawn_version_with_nowhere_to_go_keeps_the_reason() -> None:
    found = plan(catalog_of(withdrawn("1.0.0", "bad build")))
    assert found.info is None and found.withdrawn == "bad build"
    assert "withdrawn by the publisher (bad build)" in no_update_message(
        "app", "1.0.0", "bad build"
    )


def test_the_up_to_date_key_changes_with_everything_the_answer_depends_on() -> None:
    base = up_to_date_key(7, "1.0.0", "stable", ["1.1.0", "0.9"], None, 3)
    assert base == up_to_date_key(7, "1.0.0", "stable", ["0.9", "1.1.0"], None, 3)  # order-free
    for changed in (
        up_to_date_key(8, "1.0.0", "stable", ["0.9", "1.1.0"], None, 3),
        up_to_date_key(7, "1.0.1", "stable", ["0.9", "1.1.0"], None, 3),
        up_to_date_key(7, "1.0.0", "beta", ["0.9", "1.1.0"], None, 3),
        up_to_date_key(7, "1.0.0", "stable", ["0.9"], None, 3),
        up_to_date_key(7, "1.0.0", "stable", ["0.9", "1.1.0"], "1.0.0", 3),
        up_to_date_key(7, "1.0.0", "stable", ["0.9", "1.1.0"], None, 4),
    ):
        assert changed != base


def test_a_withdrawn_stable_release_never_steps_a_stable_user_onto_a_beta() -> None:
    beta = release("1.1.0b1")
    beta = replace(beta, info=replace(beta.info, channel="beta"))
    cat = catalog_of(release("1.0.0"), beta, withdrawn("1.1.0", "bad build"))
    found = plan(cat, current="1.1.0", kept_versions=["1.1.0"])
    assert found.release.info.version == "1.0.0"  # 1.1.0b1 is newer, but not on stable
    assert plan(cat, current="1.1.0", channel="beta").release.info.version == "1.1.0b1"


def test_a_clock_that_jumps_back_never_pushes_the_next_check_into_the_future() -> None:
    from client.planning import next_check_time

    checked_at = 1_800_000_000.0
    for back in (60.0, 3600.0, 3 * 7 * 86400.0):  # a minute, an hour, three weeks back
        now = checked_at - back
        assert next_check_time(checked_at, 6, 900, now) == now  # due at once, not weeks ahead
    assert next_check_time(checked_at, 6, 900, checked_at + 1) == checked_at + 6 * 3600 + 900
