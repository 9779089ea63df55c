"""What is released: the signed targets metadata read as archives and patches.

Every command that looks at releases (release, prune, rollout, yank, status) reads them
here, so custom metadata that breaks the format is reported the same way everywhere.
"""

from __future__ import annotations

from packaging.version import Version
from tuf.api.metadata import TargetFile, Targets

from client.formats import ArchiveInfo, FormatError, PatchInfo, parse_custom
from repo_tools.errors import RepoError, reported_as

Archives = dict[Version, tuple[TargetFile, ArchiveInfo]]


def parsed_targets(targets: Targets) -> dict[str, ArchiveInfo | PatchInfo | None]:
    """Each target's custom metadata, by target name (None: not one of ours)."""
    with reported_as(RepoError, FormatError):
        return {name: parse_custom(name, info.custom) for name, info in targets.targets.items()}


def released_archives(targets: Targets) -> Archives:
    """Full archives listed in targets metadata, by version."""
    found: Archives = {}
    for name, parsed in parsed_targets(targets).items():
        if isinstance(parsed, ArchiveInfo):
            found[Version(parsed.version)] = (targets.targets[name], parsed)
    return found
