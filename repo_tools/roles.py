"""The four top-level TUF roles, and the orders repo-tools signs and uploads them in."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ROOT = "root"
    TARGETS = "targets"
    SNAPSHOT = "snapshot"
    TIMESTAMP = "timestamp"


# dependency order: every role is verified against root, snapshot points at targets and
# timestamp at snapshot; roles are re-signed and uploaded in this order (timestamp last)
ROLES: tuple[Role, ...] = tuple(Role)
# the roles whose keys live in <keys>/online/ (release and refresh sign them; root is offline)
ONLINE_ROLES: tuple[Role, ...] = (Role.TARGETS, Role.SNAPSHOT, Role.TIMESTAMP)


def chain_from(role: str) -> tuple[Role, ...]:
    """A role and every role pointing at it, in order: re-signing targets means re-signing
    snapshot and timestamp too. Root points at nothing here (its keys sign only itself)."""
    if role == Role.ROOT:
        return (Role.ROOT,)
    return ROLES[ROLES.index(Role(role)) :]


# what every change of the released targets re-signs
TOP_LEVEL_CHAIN: tuple[Role, ...] = chain_from(Role.TARGETS)
