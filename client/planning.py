"""What an update check decides, as pure functions on plain data (beside `selection.py`).

Given the verified release catalog and what this install root knows (current version, channel,
skipped versions, pin, rollout bucket, kept versions, whether the patch base is cached),
`plan_update` says which release to move to, how (patch chain, full archive, or a switch back
to a kept version), why the running version was withdrawn, and the release notes of every
version between the running and the offered one. No I/O and no clock: the callers
in `client.operations` read the inputs and act on the `Plan`. `client.selection` (and with
it `packaging`) loads when a plan is made, not when the schedule imports this module.
"""

from __future__ import annotations

from client.events import Method, UpdateInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from client.selection import Catalog, PatchEdge, Release, TreeRoute


class Plan:
    """The decision of one check: `release` to move to (None: stay) and how to get it."""

    __slots__ = ("release", "chain", "info", "withdrawn", "tree")

    def __init__(
        self,
        release: Release | None,
        chain: list[PatchEdge],
        info: UpdateInfo | None,
        withdrawn: str,
        tree: TreeRoute | None = None,
    ) -> None:
        self.release = release
        self.chain = chain  # patch edges in order; empty for a full archive or a switch back
        self.info = info  # what the user is told; None when there is nothing to do
        self.withdrawn = withdrawn  # why the publisher withdrew the running version, or ""
        self.tree = tree  # the tree-format route (format 2), or None: the archive (format 1)

    @property
    def method(self) -> Method | None:
        return self.info.method if self.info is not None else None


def normalized(version: str) -> str:
    """PEP 440 normal form of `version`, or the text itself when it is not a version."""
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def plan_update(
    cat: Catalog,
    *,
    current: str,
    channel: str,
    skipped: list[str],
    pinned: str | None,
    rollout_bucket: int,
    kept_versions: list[str],
    rollback_enabled: bool,
    base_cached: bool,
    tree_base: bool = False,
) -> Plan:
    """The release to move to and how, from the verified catalog and local facts.

    A release of the tree format (format 2) is fetched by a delta from the installed version
    when there is one and `tree_base` (its folder and integrity manifest are kept), else by
    its pack; a release without one by the patch chain of format 1 (`base_cached`: the legacy
    tar of the installed version is cached), else its full archive."""
    from client.selection import (
        choose_replacement,
        choose_update,
        plan_patch_chain,
        release_notes,
        tree_route,
    )

    release = choose_update(
        cat.releases.values(), current, channel, skipped, pinned, rollout_bucket
    )
    running = cat.releases.get(normalized(current))
    withdrawn = running.info.yanked if running is not None else ""
    if release is None and withdrawn and pinned is None:
        release = choose_replacement(cat.releases.values(), current, channel, skipped)
    if release is None:
        return Plan(None, [], None, withdrawn)
    # stepping down from a withdrawn version to one still on disk is a switch, not a download
    kept = bool(withdrawn) and rollback_enabled and release.info.version in kept_versions
    tree = None if kept else tree_route(cat, release, current, tree_base)
    chain = (
        []
        if kept or tree is not None
        else plan_patch_chain(
            cat.patches, current, release.info.version, release.length, base_cached
        )
        or []
    )
    if tree is not None:
        method = Method.PATCH if tree.delta else Method.FULL
        download_bytes, full_bytes = tree.download_bytes, tree.full_bytes
    else:
        method = Method.KEPT if kept else Method.PATCH if chain else Method.FULL
        download_bytes = {
            Method.KEPT: 0,
            Method.PATCH: sum(edge.length for edge in chain),
            Method.FULL: release.length,
        }[method]
        full_bytes = release.length
    info = UpdateInfo(
        from_version=current,
        version=release.info.version,
        channel=release.info.channel,
        notes=release.info.notes,
        required=release.info.required,
        published=release.info.published,
        method=method,
        download_bytes=download_bytes,
        full_bytes=full_bytes,
        withdrawn=withdrawn,
        release_notes=release_notes(cat.releases.values(), current, release, channel),
    )
    return Plan(release, chain, info, withdrawn, tree)


def up_to_date_key(
    snapshot_version: int,
    current: str | None,
    channel: str,
    skipped: list[str],
    pinned: str | None,
    rollout_bucket: int | None,
) -> list[Any]:
    """Everything an "up to date" answer depends on: while it is unchanged, so is the answer."""
    return [snapshot_version, current, channel, sorted(skipped), pinned, rollout_bucket]


def next_check_time(
    last_check: float | None, interval_hours: float, jitter: float, now: float
) -> float:
    """When the next background check is due: remembered across restarts."""
    if last_check is None or last_check > now:  # never checked, or the clock went back
        return now
    return last_check + interval_hours * 3600 + jitter


def no_update_message(app: str, current: str | None, withdrawn: str) -> str:
    """The sentence for "nothing to install": up to date, or withdrawn with nowhere to go."""
    if withdrawn:
        return (
            f"{app} {current} was withdrawn by the publisher ({withdrawn}) and no other "
            "release is available to move to: keep using it until a fix is published"
        )
    return f"{app} {current} is up to date"
