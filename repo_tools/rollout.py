"""Controls on a published release: staged rollout (`repo-tools rollout VERSION PERCENT`) and
withdrawal (`repo-tools yank VERSION --reason TEXT`).

Rollout: each installation draws a bucket 0-99 once; it is offered a release when its bucket
is below the release's signed rollout percentage. Raising the percentage reaches more
installations; 0 halts a bad release for everyone who has not installed it yet.

Yank: a withdrawn release is offered to no one, and installations running it move off it:
to a newer release when one is offered to them, otherwise down to the newest good release of
their channel (a switch back when that version is still on disk). Both are signed changes to
the release's custom metadata, so no mirror can add or remove them; nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from client.formats import CUSTOM_KEY, archive_name
from repo_tools import keys as keystore
from repo_tools.catalog import released_archives
from repo_tools.config import PublisherConfig, load_config
from repo_tools.errors import RepoError
from repo_tools.repository import commit_resigned, load_roles, locked
from repo_tools.roles import TOP_LEVEL_CHAIN
from repo_tools.versioning import parse_release_version

T = TypeVar("T")


@dataclass(frozen=True)
class ReleaseChange(Generic[T]):
    """A release control before and after; `signed` is False when nothing changed."""

    version: str
    previous: T
    now: T
    signed: bool


def _change_release(
    repo: Path,
    keys: Path,
    version: str,
    key: str,
    change: Callable[[dict[str, Any]], T],
    config: PublisherConfig | None,
) -> ReleaseChange[T]:
    """Set `key` of a release's signed custom metadata (`change` returns it as it
    was and sets it) and re-sign."""
    config = config or load_config(repo)
    with locked(repo):
        roles = load_roles(repo)
        parsed = parse_release_version(version)
        found = released_archives(roles.targets.signed).get(parsed)
        if found is None:
            name = archive_name(config.app_name, parsed)
            raise RepoError(f"{version} is not released (no {name}): see `repo-tools status`")
        custom = found[0].unrecognized_fields["custom"][CUSTOM_KEY]
        before = dict(custom)
        previous = change(custom)
        signed = custom != before
        if signed:  # nothing to sign (and publish) when nothing changed
            stored = keystore.load_all(keys)
            commit_resigned(repo, roles, stored, config.expiry_days, TOP_LEVEL_CHAIN)
        return ReleaseChange(version, previous, custom[key], signed)


def set_rollout(
    repo: Path, keys: Path, version: str, percent: int, config: PublisherConfig | None = None
) -> ReleaseChange[int]:
    """Set the rollout percentage of a released version."""
    if not 0 <= percent <= 100:
        raise RepoError(f"rollout {percent} is not a percentage: give 0 (halt) to 100 (everyone)")

    def change(custom: dict[str, Any]) -> int:
        previous = int(custom.get("rollout", 100))
        custom["rollout"] = percent
        return previous

    return _change_release(repo, keys, version, "rollout", change, config)


def set_yanked(
    repo: Path,
    keys: Path,
    version: str,
    reason: str | None,
    config: PublisherConfig | None = None,
) -> ReleaseChange[str]:
    """Withdraw a release with a reason shown to users, or restore it (reason None); the
    previous reason is "" if it was not withdrawn."""
    if reason is not None and not reason.strip():
        raise RepoError("give a --reason users will see, e.g. --reason 'orders sent twice'")

    def change(custom: dict[str, Any]) -> str:
        previous = str(custom.get("yanked") or "")
        custom["yanked"] = "" if reason is None else reason.strip()
        return previous

    return _change_release(repo, keys, version, "yanked", change, config)
