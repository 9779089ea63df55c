"""Pure publisher decisions, without a repository on disk, a server or a subprocess: which
roles `repo-tools refresh` re-signs, and which releases `repo-tools prune` keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from packaging.version import Version
from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, Targets, Timestamp

from repo_tools.config import DEFAULT_EXPIRY_DAYS
from repo_tools.prune import PruneError, prune, releases_to_keep
from repo_tools.refresh import due_roles, half_life_passed
from repo_tools.repository import RoleSet
from repo_tools.roles import ROLES as ORDER

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAYS = dict(DEFAULT_EXPIRY_DAYS)  # root 365, targets 90, snapshot 30, timestamp 7


# -- refresh: which roles are due --------------------------------------------------------------


def fresh_roles(days_left: dict[str, float] | None = None) -> RoleSet:
    """Top-level roles as just signed (a full lifetime left) and consistent with each other
    (snapshot names the current targets, timestamp the current snapshot); `days_left`
    overrides the time left of some roles."""
    left = {role: float(DAYS[role]) for role in ORDER} | (days_left or {})

    def expires(role: str) -> datetime:
        return NOW + timedelta(days=left[role])

    targets = Targets(version=4, expires=expires("targets"))
    snapshot = Snapshot(version=6, expires=expires("snapshot"), meta={"targets.json": MetaFile(4)})
    timestamp = Timestamp(version=9, expires=expires("timestamp"), snapshot_meta=MetaFile(6))
    return RoleSet(
        root=Metadata(Root(expires=expires("root"))),
        targets=Metadata(targets),
        snapshot=Metadata(snapshot),
        timestamp=Metadata(timestamp),
    )


def test_nothing_is_due_when_every_role_has_more_than_half_its_life_left() -> None:
    assert due_roles(fresh_roles(), DAYS, NOW, force=False) == []
    just_over_half = {role: DAYS[role] / 2 + 0.01 for role in ORDER}
    assert due_roles(fresh_roles(just_over_half), DAYS, NOW, force=False) == []


def test_half_life_is_the_boundary() -> None:
    """Due once *less* than half the lifetime is left: exactly half left is not due yet."""
    timestamp = fresh_roles().timestamp  # lifetime 7 days
    timestamp.signed.expires = NOW + timedelta(days=3.5)
    assert not half_life_passed(timestamp, 7, NOW)
    assert half_life_passed(timestamp, 7, NOW + timedelta(seconds=1))
    timestamp.signed.expires = NOW - timedelta(days=1)  # already expired
    assert half_life_passed(timestamp, 7, NOW)


def test_half_life_is_measured_against_the_configured_lifetime() -> None:
    """40 days left is past half of a 90-day lifetime, not of a 60-day one."""
    roles = fresh_roles({"targets": 40})
    assert half_life_passed(roles.targets, 90, NOW)
    assert not half_life_passed(roles.targets, 60, NOW)
    assert "targets" in due_roles(roles, DAYS, NOW, force=False)
    assert due_roles(roles, {**DAYS, "targets": 60}, NOW, force=False) == []


@pytest.mark.parametrize(
    ("role", "due"),
    [
        ("timestamp", ["timestamp"]),
        ("snapshot", ["snapshot", "timestamp"]),
        ("targets", ["targets", "snapshot", "timestamp"]),
        ("root", ["root"]),  # root is not pointed at by snapshot or timestamp: nothing follows
    ],
)
def test_a_role_at_half_life_forces_the_roles_above_it(role: str, due: list[str]) -> None:
    roles = fresh_roles({role: DAYS[role] / 2 - 0.01})
    assert due_roles(roles, DAYS, NOW, force=False) == due


def test_snapshot_is_due_when_it_names_an_older_targets() -> None:
    """targets was re-signed (version 5) after the snapshot that names version 4."""
    roles = fresh_roles()
    roles.targets.signed.version = 5
    assert due_roles(roles, DAYS, NOW, force=False) == ["snapshot", "timestamp"]


def test_snapshot_is_due_when_it_does_not_name_targets_at_all() -> None:
    roles = fresh_roles()
    del roles.snapshot.signed.meta["targets.json"]
    assert due_roles(roles, DAYS, NOW, force=False) == ["snapshot", "timestamp"]


def test_timestamp_is_due_when_it_names_an_older_snapshot() -> None:
    roles = fresh_roles()
    roles.snapshot.signed.version = 7
    assert due_roles(roles, DAYS, NOW, force=False) == ["timestamp"]


def test_force_makes_every_role_due_in_signing_order() -> None:
    assert due_roles(fresh_roles(), DAYS, NOW, force=True) == list(ORDER)
    assert ORDER == ("root", "targets", "snapshot", "timestamp")


def test_several_due_roles_come_in_signing_order() -> None:
    roles = fresh_roles({"root": 1, "snapshot": 1})
    assert due_roles(roles, DAYS, NOW, force=False) == ["root", "snapshot", "timestamp"]


# -- prune: which releases are kept ----------------------------------------------------------


def kept(texts: list[str], keep: int) -> list[str]:
    return [str(v) for v in sorted(releases_to_keep((Version(t) for t in texts), keep))]


def test_keep_n_keeps_the_n_newest_finals() -> None:
    finals = ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]
    assert kept(finals, 1) == ["1.3.0"]
    assert kept(finals, 2) == ["1.2.0", "1.3.0"]
    assert kept(finals, 4) == finals
    assert kept(finals, 10) == finals  # more than there are: all of them


def test_versions_are_ordered_as_versions_not_as_text_or_input_order() -> None:
    assert kept(["1.10.0", "1.9.0", "1.2.0"], 1) == ["1.10.0"]
    assert kept(["2.0.0", "1.0.0", "1.5.0"], 2) == ["1.5.0", "2.0.0"]


def test_the_newest_of_every_channel_is_kept_beyond_n() -> None:
    """keep 1 keeps the newest release (an alpha) and each channel's newest: the stable
    clients' 1.1.0 and the beta clients' 1.2.0b1, so no channel loses its update."""
    releases = ["1.0.0", "1.1.0", "1.2.0b1", "1.3.0a1"]
    assert kept(releases, 1) == ["1.1.0", "1.2.0b1", "1.3.0a1"]
    assert kept(releases, 2) == ["1.1.0", "1.2.0b1", "1.3.0a1"]
    assert kept(releases, 3) == ["1.1.0", "1.2.0b1", "1.3.0a1"]
    assert kept(releases, 4) == releases


def test_a_prerelease_superseded_by_a_newer_final_is_not_kept() -> None:
    """Beta and alpha clients see finals too: a final newer than every pre-release is the
    newest of all three channels, and older pre-releases go like older finals."""
    assert kept(["1.0.0", "1.1.0a1", "1.1.0rc1", "1.1.0"], 1) == ["1.1.0"]


def test_rc_counts_as_beta_and_dev_releases_as_alpha() -> None:
    releases = ["1.0.0", "1.1.0rc1", "1.2.0.dev3"]
    assert kept(releases, 1) == releases  # one head per channel: stable, beta (rc), alpha (dev)
    assert kept(["1.0.0", "1.1.0rc1", "1.1.0rc2"], 1) == ["1.0.0", "1.1.0rc2"]


def test_only_prereleases_means_no_stable_head() -> None:
    assert kept(["1.0.0a1", "1.0.0a2", "1.0.0b1"], 1) == ["1.0.0b1"]


def test_no_releases_keeps_nothing() -> None:
    assert releases_to_keep([], 1) == set()


def test_keep_zero_still_keeps_every_channel_head_and_prune_refuses_it(tmp_path: Path) -> None:
    """`prune` refuses --keep 0 before it reads anything; releases_to_keep never drops a
    channel's newest release, whatever N."""
    releases = ["1.0.0", "1.1.0", "1.2.0b1", "1.3.0a1"]
    assert {"1.1.0", "1.2.0b1", "1.3.0a1"} <= set(kept(releases, 0))
    with pytest.raises(PruneError, match="--keep must be at least 1, got 0"):
        prune(tmp_path / "no-repository", tmp_path / "no-keys", 0)
