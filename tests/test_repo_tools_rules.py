"""repo_tools' rules with one home each: role orders, "enough keys for a role", the upload
order and destination kinds, which roles are due for re-signing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import Root

from repo_tools.config import DEFAULT_EXPIRY_DAYS, PublisherConfig
from repo_tools.destination import (
    IMMUTABLE,
    DestinationKind,
    cache_control,
    kind_of,
    upload_rank,
)
from repo_tools.init import init_repository
from repo_tools.keys import StoredKey, role_signers
from repo_tools.refresh import due_roles
from repo_tools.repository import load_roles
from repo_tools.roles import ONLINE_ROLES, ROLES, TOP_LEVEL_CHAIN, Role, chain_from
from repo_tools.versioning import BUMPS, Bump


def test_role_orders_and_values() -> None:
    assert ROLES == ("root", "targets", "snapshot", "timestamp")
    assert ONLINE_ROLES == ("targets", "snapshot", "timestamp")
    assert TOP_LEVEL_CHAIN == ("targets", "snapshot", "timestamp")
    assert chain_from("snapshot") == ("snapshot", "timestamp")
    assert chain_from(Role.TIMESTAMP) == ("timestamp",)
    assert chain_from("root") == ("root",)
    assert f"{Role.SNAPSHOT}.json" == "snapshot.json"
    assert set(DEFAULT_EXPIRY_DAYS) == set(ROLES)
    assert BUMPS == ("patch", "minor", "major") and Bump("minor") == "minor"
    with pytest.raises(ValueError):
        chain_from("mirrors")


def _key(tmp_path: Path, name: str) -> StoredKey:
    private = Ed25519PrivateKey.generate()
    public = SSlibKey.from_crypto(private.public_key(), scheme="ed25519")
    return StoredKey(tmp_path / name, CryptoSigner(private, public))


def test_enough_keys_is_a_threshold_of_the_role_keys_at_hand(tmp_path: Path) -> None:
    one, two, three, stranger = (_key(tmp_path, n) for n in ("1", "2", "3", "x"))
    root = Root(expires=datetime.now(UTC) + timedelta(days=1))
    for key in (one, two, three):
        root.add_key(key.signer.public_key, Role.ROOT)
    root.roles[Role.ROOT].threshold = 2
    root.add_key(one.signer.public_key, Role.TARGETS)
    assert not role_signers(root, Role.ROOT, [one, stranger]).enough
    found = role_signers(root, Role.ROOT, [stranger, three, one])
    assert found.enough and [k.keyid for k in found.found] == [three.keyid, one.keyid]
    assert found.threshold == 2 and len(found.keyids) == 3
    assert role_signers(root, Role.TARGETS, [one]).enough
    assert not role_signers(root, Role.SNAPSHOT, [one, two, three]).enough


def test_upload_order_and_destination_kinds() -> None:
    names = ["timestamp.json", "3.snapshot.json", "snapshot.json", "10.root.json", "2.root.json"]
    names += ["4.targets.json", "root.json", "targets.json"]
    ordered = [p.name for p in sorted(map(Path, names), key=upload_rank)]
    assert ordered == [  # by role, timestamp last; within a role by (zero-padded) name
        "root.json",
        "2.root.json",
        "10.root.json",
        "targets.json",
        "4.targets.json",
        "snapshot.json",
        "3.snapshot.json",
        "timestamp.json",
    ]
    assert kind_of("s3://bucket/prefix") is DestinationKind.BUCKET
    assert kind_of("/srv/www/updates") is DestinationKind.FOLDER
    assert [kind.value for kind in DestinationKind] == ["folder", "s3"]
    assert cache_control("metadata/3.snapshot.json") == IMMUTABLE
    assert cache_control("metadata/timestamp.json") == "no-cache"


def test_due_roles_follow_half_life_and_the_chain(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    init_repository(repo, tmp_path / "keys", PublisherConfig(app_name="bot"))
    roles = load_roles(repo)
    days, now = DEFAULT_EXPIRY_DAYS, datetime.now(UTC)
    assert due_roles(roles, days, now, force=False) == []
    assert due_roles(roles, days, now + timedelta(days=4), force=False) == ["timestamp"]
    assert due_roles(roles, days, now + timedelta(days=16), force=False) == [
        "snapshot",
        "timestamp",
    ]
    assert due_roles(roles, days, now + timedelta(days=46), force=False) == list(TOP_LEVEL_CHAIN)
    assert due_roles(roles, days, now + timedelta(days=183), force=False) == list(ROLES)
    assert due_roles(roles, days, now, force=True) == list(ROLES)
    roles.targets.signed.version += 1  # snapshot now points at an older targets
    assert due_roles(roles, days, now, force=False) == ["snapshot", "timestamp"]
