"""`repo-tools refresh`: re-sign what is about to expire or out of date, nothing else.

Made for cron or CI: idempotent, quiet when nothing is due. A role is due when less than half
of its configured lifetime is left, or (snapshot, timestamp) when what it points at changed.
Re-signing one role forces the ones above it: targets -> snapshot -> timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tuf.api.metadata import Metadata

from repo_tools import keys as keystore
from repo_tools.config import PublisherConfig, load_config
from repo_tools.errors import RepoError
from repo_tools.repository import RoleSet, commit_resigned, load_roles, locked
from repo_tools.roles import ROLES, Role, chain_from


class RefreshError(RepoError):
    """Something is due that this machine cannot sign."""


@dataclass
class RefreshResult:
    """What was re-signed, and what is due but could not be (the caller fails on `blocked`,
    after publishing what was re-signed)."""

    resigned: list[str] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)  # role -> what must be done


def half_life_passed(md: Metadata, lifetime_days: int, now: datetime) -> bool:
    return md.signed.expires - now < timedelta(days=lifetime_days) / 2


def due_roles(roles: RoleSet, expiry_days: dict[str, int], now: datetime, force: bool) -> list[str]:
    """Which roles need a new signature now (pure: decided from metadata and the clock)."""
    due = {r for r in ROLES if force or half_life_passed(roles.by_name(r), expiry_days[r], now)}
    snapshot_meta = roles.snapshot.signed.meta.get("targets.json")
    if snapshot_meta is None or snapshot_meta.version != roles.targets.signed.version:
        due.add(Role.SNAPSHOT)  # it points at an older targets
    if roles.timestamp.signed.snapshot_meta.version != roles.snapshot.signed.version:
        due.add(Role.TIMESTAMP)  # it points at an older snapshot
    due = {pointing for role in due for pointing in chain_from(role)}
    return [r for r in ROLES if r in due]


def _missing_keys_message(roles: RoleSet, role: str, offline_targets: bool = False) -> str:
    role_keys = roles.root.signed.roles[role]
    expires = roles.by_name(role).signed.expires
    ids = ", ".join(k[:12] for k in role_keys.keyids)
    if role == Role.TARGETS and offline_targets:
        return (
            f"targets expires {expires:%Y-%m-%d %H:%M} UTC and must be re-signed before then by "
            f"{role_keys.threshold} of its offline holders [{ids}]: run `repo-tools targets "
            "renew` (or release), have the holders sign it, then `repo-tools targets publish`"
        )
    where = "offline/root-N.pem" if role == Role.ROOT else f"online/{role}.pem"
    return (
        f"{role} expires {expires:%Y-%m-%d %H:%M} UTC and must be re-signed before then by "
        f"{role_keys.threshold} of its key(s) [{ids}]: bring those keys ({where}) to this machine "
        "(or hold a signing ceremony) and run `repo-tools refresh` again"
    )


def refresh(
    repo: Path, keys: Path, force: bool = False, config: PublisherConfig | None = None
) -> RefreshResult:
    config = config or load_config(repo)
    result = RefreshResult()
    with locked(repo):
        roles = load_roles(repo)
        stored = keystore.load_all(keys)  # none found in a missing folder
        due = due_roles(roles, config.expiry_days, datetime.now(UTC), force)
        for role in due:
            if not keystore.role_signers(roles.root.signed, role, stored).enough:
                result.blocked[role] = _missing_keys_message(roles, role, config.offline_targets)
        if result.blocked.keys() & {Role.SNAPSHOT, Role.TIMESTAMP}:
            # the online roles carry every client's freshness: without them nothing is signed
            raise RefreshError("; ".join(result.blocked.values()))
        to_sign = [r for r in due if r not in result.blocked]
        if to_sign:
            commit_resigned(repo, roles, stored, config.expiry_days, to_sign)
            result.resigned = to_sign
    return result
