"""`repo-tools prune --keep N`: drop old releases while every client keeps an update path.

Kept: the N newest releases and the newest release of every channel. Removed: older full
archives with their format-2 targets (manifest, pack, deltas), and patches and deltas whose
base or result is removed. A client still running a removed
version has no patch any more, but always gets the full archive of the release it should
move to, so nobody is stranded. Root metadata versions are never removed (clients walk the
whole chain); old targets/snapshot versions beyond a small margin are deleted at every commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version
from tuf.api.metadata import Targets

from client.formats import CHANNELS, CUSTOM_KEY, ArchiveInfo, PatchInfo, TreeInfo, visible_on
from client.tree_format import delta_name, tree_targets
from repo_tools import keys as keystore
from repo_tools.catalog import parsed_targets
from repo_tools.config import PublisherConfig, load_config
from repo_tools.errors import RepoError
from repo_tools.repository import (
    commit_resigned,
    load_roles,
    locked,
    prefixed_target_name,
    targets_dir,
)
from repo_tools.roles import TOP_LEVEL_CHAIN


class PruneError(RepoError):
    pass


@dataclass(frozen=True)
class PruneResult:
    removed: list[str] = field(default_factory=list)  # target names, archives and patches


def releases_to_keep(versions: Iterable[Version], keep: int) -> set[Version]:
    """The N newest plus the newest of each channel (pure)."""
    ordered = sorted(versions)
    kept = set(ordered[-keep:])  # keep >= 1: prune refuses less
    for channel in CHANNELS:
        visible = [v for v in ordered if visible_on(v, channel)]
        if visible:
            kept.add(visible[-1])
    return kept


def _tree_targets_to_remove(
    targets: Targets, parsed: dict[str, ArchiveInfo | PatchInfo | None], kept: set[Version]
) -> list[str]:
    """Format-2 targets of removed releases, and deltas from removed releases to kept ones
    (whose records then name only the bases that remain)."""
    found: list[str] = []
    for name, p in parsed.items():
        if not isinstance(p, ArchiveInfo) or p.tree is None:
            continue
        if Version(p.version) not in kept:
            found += [n for n in tree_targets(p.app, p.version, p.tree) if n in targets.targets]
            continue
        remaining = [b for b in p.tree.bases if Version(b) in kept]
        if len(remaining) == len(p.tree.bases):
            continue
        for base in set(p.tree.bases) - set(remaining):
            if delta_name(p.app, base, p.version) in targets.targets:
                found.append(delta_name(p.app, base, p.version))
        custom = targets.targets[name].unrecognized_fields["custom"][CUSTOM_KEY]
        custom["tree"] = TreeInfo(p.tree.format, p.tree.entries, tuple(remaining)).to_custom()
    return found


def prune(repo: Path, keys: Path, keep: int, config: PublisherConfig | None = None) -> PruneResult:
    """Remove old releases (the removed target names are in the result)."""
    if keep < 1:
        raise PruneError(f"--keep must be at least 1, got {keep}")
    config = config or load_config(repo)
    with locked(repo):
        roles = load_roles(repo)
        targets = roles.targets.signed
        parsed = parsed_targets(targets)
        versions = {Version(p.version) for p in parsed.values() if isinstance(p, ArchiveInfo)}
        kept = releases_to_keep(versions, keep)
        removed = [
            name
            for name, p in parsed.items()
            if (isinstance(p, ArchiveInfo) and Version(p.version) not in kept)
            or (isinstance(p, PatchInfo) and not {Version(p.version), Version(p.base)} <= kept)
        ]
        removed += _tree_targets_to_remove(targets, parsed, kept)
        if not removed:
            return PruneResult()
        files = [prefixed_target_name(n, targets.targets[n].hashes["sha256"]) for n in removed]
        for name in removed:
            del targets.targets[name]
        stored_keys = keystore.load_all(keys)
        commit_resigned(repo, roles, stored_keys, config.expiry_days, TOP_LEVEL_CHAIN)
        for file_name in files:
            (targets_dir(repo) / file_name).unlink(missing_ok=True)
        return PruneResult(removed)
