"""Which release to install and how to get there: pure functions on verified target data.

No I/O here (like ngclient's trusted_metadata_set, the decisions are apart from the network),
so every rule is tested with plain data; the one side effect is the warning `catalog` logs for
a target it ignores. Inputs come from targets metadata that ngclient has already verified;
`catalog` only reads it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.version import Version

from client.formats import (
    ArchiveInfo,
    FormatError,
    PatchInfo,
    check_target_name,
    parse_custom,
    target_sha256,
    visible_on,
)

# a patch chain is used only when clearly cheaper than the full archive
PATCH_RATIO = 0.8


@dataclass(frozen=True)
class Release:
    name: str  # target name of the full archive
    length: int  # signed length of the full archive
    info: ArchiveInfo

    @property
    def version(self) -> Version:
        return Version(self.info.version)


@dataclass(frozen=True)
class PatchEdge:
    name: str
    length: int
    info: PatchInfo


@dataclass(frozen=True)
class Catalog:
    releases: dict[str, Release]  # by normalised version string
    patches: tuple[PatchEdge, ...]
    problems: tuple[str, ...] = ()  # targets of ours with malformed metadata (ignored)
    tree_targets: Mapping[str, int] = field(default_factory=dict)  # format-2 name -> length
    # versions of full archives named like this app's (<app>-<version>.tar.gz) that carry none
    # of our metadata: another updater's releases, e.g. a tufup repository not adopted yet
    foreign: tuple[str, ...] = ()


@dataclass(frozen=True)
class TreeRoute:
    """How to get a release of the tree format: its manifest, then a delta or the pack."""

    manifest: str
    pack: str
    delta: str | None  # from the installed version; None: the pack
    download_bytes: int
    full_bytes: int


def foreign_version(app: str, name: str) -> str | None:
    """The version of a target named like `app`'s full archive in tufup's format, or None."""
    from packaging.version import InvalidVersion

    if not (name.startswith(f"{app}-") and name.endswith(".tar.gz")):
        return None
    try:
        return str(Version(name[len(app) + 1 : -len(".tar.gz")]))
    except InvalidVersion:
        return None


def unreadable_message(app: str, cat: Catalog) -> str | None:
    """What to say when `cat` has releases of `app` this client cannot read and none it can;
    None otherwise (a wrong "up to date" is the one answer it must never give)."""
    if cat.releases or not cat.foreign:
        return None
    shown = sorted(cat.foreign, key=Version)
    versions = ", ".join(shown[-5:]) + (f" and {len(shown) - 5} older" if len(shown) > 5 else "")
    return (
        f"this repository has releases of {app} ({versions}) but none this client can read; "
        "it may be a tufup repository: its publisher can adopt it with `repo-tools "
        "adopt-tufup` (docs/migrating-from-tufup.md), then this client updates from it"
    )


def catalog(app: str, targets: Mapping[str, Any]) -> Catalog:
    """Our app's releases and patches from a {name: TargetFile-like} mapping.

    Targets of other applications are ignored: a correctly signed archive of another app is
    never a candidate (wrong software installation). A target whose signed values do not
    follow the format (`parse_custom` checks every string that could reach a file name or a
    URL, its hashes included) is ignored too, named in `problems` and in a logged warning:
    a hostile or broken value never becomes a path.
    """
    from client.tree_format import DELTA_SUFFIX, MANIFEST_SUFFIX, PACK_SUFFIX

    releases: dict[str, Release] = {}
    patches: list[PatchEdge] = []
    problems: list[str] = []
    tree: dict[str, int] = {}
    tree_suffixes = (MANIFEST_SUFFIX, PACK_SUFFIX, DELTA_SUFFIX)
    foreign: list[str] = []
    for name, target in targets.items():
        if name.startswith(f"{app}-") and name.endswith(tree_suffixes):
            try:  # a format-2 target: named by a release record; its name and hashes checked
                target_sha256(check_target_name(name), getattr(target, "hashes", None))
                tree[name] = target.length
            except FormatError as error:
                text = (
                    str(error)
                    if str(error).startswith(f"target {name}")
                    else f"target {name}: {error}"
                )
                problems.append(f"{text}: ignored (the publisher must correct it)")
            continue
        try:
            info = parse_custom(
                name, getattr(target, "custom", None), getattr(target, "hashes", None)
            )
        except FormatError as error:
            problems.append(f"{error}: ignored (the publisher must correct this release)")
            continue
        if info is None:
            version = foreign_version(app, name)
            if version is not None:
                foreign.append(version)
            continue
        if info.app != app:
            continue
        if isinstance(info, ArchiveInfo):
            releases[str(Version(info.version))] = Release(name, target.length, info)
        else:
            patches.append(PatchEdge(name, target.length, info))
    if problems:
        import logging

        for problem in problems:
            logging.getLogger(__name__).warning("%s", problem)
    return Catalog(releases, tuple(patches), tuple(problems), tree, tuple(foreign))


def tree_route(cat: Catalog, release: Release, current: str, base_ready: bool) -> TreeRoute | None:
    """The tree-format route to `release`, or None when it has none (format 1: the archive).

    A release whose record names a tree but whose manifest or pack is not listed is served by
    its archive. The delta from `current` is used when the record lists `current` among its
    bases, the delta is listed, the installed version can serve as base (`base_ready`: its
    folder and integrity manifest are there) and it is clearly smaller than the pack."""
    from client.tree_format import delta_name, manifest_name, pack_name

    info = release.info
    if info.tree is None:
        return None
    manifest, pack = manifest_name(info.app, info.version), pack_name(info.app, info.version)
    if manifest not in cat.tree_targets or pack not in cat.tree_targets:
        return None
    full = cat.tree_targets[pack]
    delta = None
    try:
        base = str(Version(current))
    except ValueError:
        base = ""
    name = delta_name(info.app, base, info.version)
    if (
        base_ready
        and base in info.tree.bases
        and name in cat.tree_targets
        and cat.tree_targets[name] < PATCH_RATIO * full
    ):
        delta = name
    fetched = cat.tree_targets[delta] if delta is not None else full
    return TreeRoute(manifest, pack, delta, cat.tree_targets[manifest] + fetched, full)


def choose_update(
    releases: Iterable[Release],
    current: str,
    channel: str,
    skipped: Iterable[str] = (),
    pinned: str | None = None,
    bucket: int = 0,
) -> Release | None:
    """The release to move to from `current`, or None.

    - pinned: only that version (even lower than current: a pin is a decision to stay there)
    - otherwise the newest version above current visible on the channel, not skipped
      (skipped = versions the user rolled back from; a newer release is not skipped)
    - a required release between current and that newest one is installed first: the
      publisher marked it as a step every client must go through (e.g. a migration)
    - staged rollout: a release reaches the installations whose bucket (0-99, drawn once per
      install) is below its rollout percentage; 0 halts a release for everyone not on it yet
    - a release the publisher withdrew (yanked) is never a target, not even when pinned
    """
    current_v = Version(current)
    by_version = {r.version: r for r in releases if not r.info.yanked}
    if pinned is not None:
        release = by_version.get(Version(pinned))
        return release if release is not None and release.version != current_v else None
    skip = {Version(v) for v in skipped}
    candidates = sorted(
        v
        for v, r in by_version.items()
        if v > current_v
        and v not in skip
        and visible_on(v, channel)
        and bucket < by_version[v].info.rollout
    )
    if not candidates:
        return None
    for version in candidates:
        if by_version[version].info.required and version != candidates[-1]:
            return by_version[version]
    return by_version[candidates[-1]]


def release_notes(
    releases: Iterable[Release], current: str, offered: Release, channel: str
) -> list[dict[str, str]]:
    """What changed between `current` and `offered`: {"version", "notes", "published"} of
    every release the channel shows above `current` up to `offered`, newest first.

    Withdrawn releases are left out (what they brought is not offered); releases skipped by
    the user or not yet rolled out to this installation stay in (the offered version contains
    their changes too). `offered` itself always comes first, also when it is not above
    `current` (a pin or a withdrawal moving down), so the list is never empty."""
    current_v = Version(current)
    between = [
        r
        for r in releases
        if current_v < r.version < offered.version
        and visible_on(r.version, channel)
        and not r.info.yanked
    ]
    ordered = [offered, *sorted(between, key=lambda r: r.version, reverse=True)]
    return [
        {"version": r.info.version, "notes": r.info.notes, "published": r.info.published}
        for r in ordered
    ]


def choose_replacement(
    releases: Iterable[Release], current: str, channel: str, skipped: Iterable[str] = ()
) -> Release | None:
    """Where to go when the publisher withdrew the running version and nothing newer is
    offered: the newest release below it on the channel that is not withdrawn, preferring one
    the user has not rolled back from; None when there is none."""
    current_v = Version(current)
    lower = [
        r
        for r in releases
        if r.version < current_v and visible_on(r.version, channel) and not r.info.yanked
    ]
    skip = {Version(v) for v in skipped}
    preferred = [r for r in lower if r.version not in skip] or lower
    return max(preferred, key=lambda r: r.version, default=None)


def plan_patch_chain(
    patches: Iterable[PatchEdge],
    current: str,
    target: str,
    full_length: int,
    base_cached: bool,
) -> list[PatchEdge] | None:
    """The cheapest patch chain current -> target by bytes (Dijkstra), or None for full archive.

    None when the base tar of `current` is not cached, when no chain exists, or when the
    chain's bytes are not below PATCH_RATIO x the full archive (a patch chain also costs CPU).
    """
    if not base_cached:
        return None
    start, goal = str(Version(current)), str(Version(target))
    edges: dict[str, list[PatchEdge]] = {}
    for edge in patches:
        edges.setdefault(str(Version(edge.info.base)), []).append(edge)
    best: dict[str, int] = {start: 0}
    came_from: dict[str, PatchEdge] = {}
    queue: list[tuple[int, str]] = [(0, start)]
    while queue:
        cost, node = heapq.heappop(queue)
        if node == goal:
            break
        if cost > best.get(node, cost):
            continue
        for edge in edges.get(node, ()):
            nxt = str(Version(edge.info.version))
            new_cost = cost + edge.length
            if new_cost < best.get(nxt, new_cost + 1):
                best[nxt] = new_cost
                came_from[nxt] = edge
                heapq.heappush(queue, (new_cost, nxt))
    if goal not in came_from or best[goal] >= PATCH_RATIO * full_length:
        return None
    chain: list[PatchEdge] = []
    node = goal
    while node != start:
        edge = came_from[node]
        chain.append(edge)
        node = str(Version(edge.info.base))
    return chain[::-1]
