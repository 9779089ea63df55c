"""`repo-tools rollout VERSION PERCENT`: widen, narrow or halt a staged rollout.

Each installation draws a bucket 0-99 once; it is offered a release when its bucket is below
the release's signed rollout percentage. Raising the percentage reaches more installations;
0 halts a bad release for everyone who has not installed it yet (they stay where they are
or move to another release), without deleting anything.
"""

from __future__ import annotations

from pathlib import Path

from client.formats import CUSTOM_KEY, archive_name, parse_version
from repo_tools import keys as keystore
from repo_tools.config import load_config
from repo_tools.repository import TOP_LEVEL_CHAIN, RepoError, commit_resigned, load_roles, locked


def set_rollout(repo: Path, keys: Path, version: str, percent: int) -> int:
    """Set the rollout percentage of a released version; returns the previous percentage."""
    if not 0 <= percent <= 100:
        raise RepoError(f"rollout {percent} is not a percentage: give 0 (halt) to 100 (everyone)")
    config = load_config(repo)
    with locked(repo):
        roles = load_roles(repo)
        name = archive_name(config.app_name, parse_version(version))
        target = roles.targets.signed.targets.get(name)
        if target is None:
            raise RepoError(f"{version} is not released (no {name}): see `repo-tools status`")
        custom = target.unrecognized_fields["custom"][CUSTOM_KEY]
        previous = int(custom.get("rollout", 100))
        custom["rollout"] = percent
        stored = keystore.load_all(keys)
        commit_resigned(repo, roles, stored, config.expiry_days, TOP_LEVEL_CHAIN)
        return previous
