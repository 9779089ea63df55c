"""`repo-tools init`: keys for every role, the first root, empty targets, snapshot, timestamp."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tuf.api.metadata import Metadata, Root, Snapshot, Targets, Timestamp
from tuf.api.metadata import Role as TufRole

from repo_tools import keys as keystore
from repo_tools.ceremony import CEREMONY_DIR
from repo_tools.config import CONFIG_NAME, PublisherConfig, save_config
from repo_tools.errors import RepoError
from repo_tools.repository import (
    RoleSet,
    Transaction,
    locked,
    metadata_dir,
    sign,
    snapshot_entry,
    targets_dir,
    timestamp_entry,
)
from repo_tools.roles import ONLINE_ROLES, ROLES, Role

DEMO_APP = Path("examples/demo_app")
DEMO_APP_NAME = "demo-app"


class InitError(RepoError):
    """The repository cannot be created as asked."""


def _existing(repo: Path, keys: Path) -> list[Path]:
    candidates = [metadata_dir(repo), targets_dir(repo), repo / CONFIG_NAME, keys / "online"]
    candidates += [keys / "offline", repo / CEREMONY_DIR]
    return [p for p in candidates if p.exists() and (p.is_file() or any(p.iterdir()))]


def init_repository(
    repo: Path,
    keys: Path,
    config: PublisherConfig,
    root_keys: int = 1,
    root_threshold: int = 1,
    force: bool = False,
) -> RoleSet:
    config.validate()
    if not 1 <= root_threshold <= root_keys:
        raise InitError(
            f"root threshold {root_threshold} must be between 1 and the number of root keys "
            f"({root_keys})"
        )
    with locked(repo):
        present = _existing(repo, keys)
        if present and not force:
            raise InitError(
                "refusing to overwrite an existing repository or keys: "
                f"{', '.join(map(str, present))}. Use --force to start over (old keys and "
                "releases are deleted; installed clients will no longer trust new releases)"
            )
        # key location is checked before anything is deleted or written
        for path in [keystore.online_key_path(keys, Role.TARGETS), keystore.root_key_path(keys, 1)]:
            keystore.check_key_location(path, repo)
        for path in present:
            shutil.rmtree(path) if path.is_dir() else path.unlink()

        online: dict[str, keystore.StoredKey] = {
            r: keystore.generate(keystore.online_key_path(keys, r), repo) for r in ONLINE_ROLES
        }
        offline = [
            keystore.generate(keystore.root_key_path(keys, n), repo)
            for n in range(1, root_keys + 1)
        ]
        roles = _initial_roles(config, online, offline, root_threshold)
        transaction = Transaction(repo)
        transaction.write_roles(roles, ROLES)  # root as 1.root.json and root.json
        transaction.commit()
        save_config(repo, config)
        return roles


def init_demo_repository(repo: Path, keys: Path) -> RoleSet:
    """A repository for the demonstration app, with keys made for trying things out only."""
    return init_repository(
        repo, keys, PublisherConfig(app_name=DEMO_APP_NAME, bundle=str(DEMO_APP))
    )


def _initial_roles(
    config: PublisherConfig,
    online: dict[str, keystore.StoredKey],
    offline: list[keystore.StoredKey],
    root_threshold: int,
) -> RoleSet:
    expiry = datetime.now(UTC) + timedelta(days=1)  # replaced when signing
    root = Root(expires=expiry, consistent_snapshot=True)
    root.roles[Role.ROOT] = TufRole([], root_threshold)
    for key in offline:
        root.add_key(key.signer.public_key, Role.ROOT)
    for role, key in online.items():
        root.add_key(key.signer.public_key, role)
    all_keys = [*offline, *online.values()]
    days = config.expiry_days
    root_md = Metadata(root)
    sign(root_md, root, all_keys, days[Role.ROOT], bump=False)
    targets = Metadata(Targets(expires=expiry))
    sign(targets, root, all_keys, days[Role.TARGETS], bump=False)
    snapshot = Metadata(Snapshot(expires=expiry))
    snapshot.signed.meta["targets.json"] = snapshot_entry(targets)
    sign(snapshot, root, all_keys, days[Role.SNAPSHOT], bump=False)
    timestamp = Metadata(Timestamp(expires=expiry))
    timestamp.signed.snapshot_meta = timestamp_entry(snapshot)
    sign(timestamp, root, all_keys, days[Role.TIMESTAMP], bump=False)
    return RoleSet(root_md, targets, snapshot, timestamp)
