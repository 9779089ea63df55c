"""`repo-tools init`: keys for every role, the first root, empty targets, snapshot, timestamp.

Starting over (`--force`) is allowed only while no client can trust the repository yet: no
release, and root and every role still at version 1. A repository in use is replaced only
with NEW_TRUST_ROOT_FLAG, because every installed client trusts its root keys and refuses
every update signed by new ones, forever ("signature verification failed ... possibly an
attack"), until it is reinstalled by hand. In every case the old keys (and the old metadata,
which is public) are moved to `<keys>/retired/<time>/` (mode 0700), never deleted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tuf.api.metadata import Metadata, Root, Snapshot, Targets, Timestamp
from tuf.api.metadata import Role as TufRole

from repo_tools import keys as keystore
from repo_tools.ceremony import CEREMONY_DIR
from repo_tools.changes import HOLDER_FIELD
from repo_tools.config import CONFIG_NAME, PublisherConfig, TargetsSigning, save_config
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
NEW_TRUST_ROOT_FLAG = "--force-new-trust-root-breaking-every-installed-client"
RETIRED = "retired"
_VERSIONED = re.compile(r"^(\d+)\.(root|targets|snapshot)\.json$")
CLIENTS_AFTER_NEW_TRUST_ROOT = (
    "every installed client trusts the old root keys, so it refuses every update signed by "
    "the new ones ('signature verification failed ... not signed by enough trusted keys, "
    "possibly an attack'), forever, until each user reinstalls the application by hand from a "
    "bundle of the new repository"
)


class InitError(RepoError):
    """The repository cannot be created as asked."""


@dataclass(frozen=True)
class InitResult:
    roles: RoleSet
    retired: Path | None  # where the replaced keys and metadata were moved (None: nothing)
    replaced_in_use: list[str]  # why the replaced repository was in use ([]: it was not)


def in_use(repo: Path) -> list[str]:
    """Why installed clients may already trust this repository ([] when none can): releases,
    a root beyond version 1, or any role re-signed since `init` (read from the files, so a
    damaged repository still counts)."""
    reasons: list[str] = []
    targets = targets_dir(repo)
    published = [p for p in targets.iterdir() if p.is_file()] if targets.is_dir() else []
    if published:
        reasons.append(f"{len(published)} published release file(s) in {targets}")
    folder = metadata_dir(repo)
    versions: dict[str, int] = {}
    for path in folder.glob("*.json") if folder.is_dir() else []:
        match = _VERSIONED.match(path.name)
        if match:
            role, number = match.group(2), int(match.group(1))
            versions[role] = max(versions.get(role, 0), number)
    stamp = folder / "timestamp.json"
    if stamp.is_file():
        try:
            versions["timestamp"] = int(json.loads(stamp.read_bytes())["signed"]["version"])
        except (ValueError, KeyError, TypeError):
            reasons.append(f"{stamp} cannot be read (counted as in use)")
    for role, number in sorted(versions.items()):
        if number > 1:
            reasons.append(f"{role} metadata at version {number}")
    return reasons


def _retire(repo: Path, keys: Path, present: list[Path]) -> Path | None:
    """Move the old keys and metadata to <keys>/retired/<time>/ (0700); delete the rest."""
    if not present:
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = keys / RETIRED
    retired, number = base / stamp, 1
    while retired.exists():
        number += 1
        retired = base / f"{stamp}-{number}"
    for folder in (keys, base, retired):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    for path in present:
        if path.is_relative_to(keys):
            shutil.move(path, retired / path.name)
        elif path == targets_dir(repo):
            shutil.rmtree(path)  # release archives: large, and rebuilt from the bundles
        else:
            (retired / "repository").mkdir(mode=0o700, exist_ok=True)
            shutil.move(path, retired / "repository" / path.name)
    return retired


def _refusal(present: list[Path], reasons: list[str], force: bool) -> str | None:
    """Why init must not replace what is there, and what to do (None: it may)."""
    listed = ", ".join(map(str, present))
    if reasons:
        return (
            f"refusing to replace a repository in use ({'; '.join(reasons)}): "
            f"{CLIENTS_AFTER_NEW_TRUST_ROOT}. To change keys keep this repository and use "
            "`repo-tools rotate-key ROLE` or `repo-tools ceremony begin` (root keys). Only if "
            f"you really mean to abandon every installed client, run init again with "
            f"{NEW_TRUST_ROOT_FLAG} (the old keys are kept in <keys>/{RETIRED}/<time>/)"
        )
    if present and not force:
        return (
            f"refusing to overwrite an existing repository or keys: {listed}. Use --force to "
            f"start over (no release exists yet; the old keys are kept in "
            f"<keys>/{RETIRED}/<time>/)"
        )
    return None


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
    new_trust_root: bool = False,
    targets_keys: tuple[int, int] | None = None,
) -> InitResult:
    """`force` replaces a repository no client can trust yet; `new_trust_root` (the loud
    flag) also one in use. Old keys are moved to <keys>/retired/<time>/ in both cases.
    `targets_keys` (N, T): N offline targets keys, T of them sign each release
    (offline/targets-K.pem; repo_tools.offline_targets)."""
    config.validate()
    if not 1 <= root_threshold <= root_keys:
        raise InitError(
            f"root threshold {root_threshold} must be between 1 and the number of root keys "
            f"({root_keys})"
        )
    if targets_keys is not None:
        if not 1 <= targets_keys[1] <= targets_keys[0]:
            raise InitError(
                f"targets threshold {targets_keys[1]} must be between 1 and the number of "
                f"targets keys ({targets_keys[0]})"
            )
        config.targets_signing = TargetsSigning.OFFLINE
    with locked(repo):
        present = _existing(repo, keys)
        reasons = in_use(repo)
        refusal = None if new_trust_root else _refusal(present, reasons, force)
        if refusal:
            raise InitError(refusal)
        # key location is checked before anything is moved or written
        for path in [keystore.online_key_path(keys, Role.TARGETS), keystore.root_key_path(keys, 1)]:
            keystore.check_key_location(path, repo)
        retired = _retire(repo, keys, present)

        online_roles = ONLINE_ROLES if targets_keys is None else ONLINE_ROLES[1:]
        online: dict[str, keystore.StoredKey] = {
            r: keystore.generate(keystore.online_key_path(keys, r), repo) for r in online_roles
        }
        offline = [
            keystore.generate(keystore.root_key_path(keys, n), repo)
            for n in range(1, root_keys + 1)
        ]
        offline_targets = [
            keystore.generate(keys / "offline" / f"targets-{n}.pem", repo)
            for n in range(1, (targets_keys or (0, 0))[0] + 1)
        ]
        targets_threshold = (targets_keys or (0, 1))[1]
        roles = _initial_roles(
            config, online, offline, root_threshold, offline_targets, targets_threshold
        )
        transaction = Transaction(repo)
        transaction.write_roles(roles, ROLES)  # root as 1.root.json and root.json
        transaction.commit()
        save_config(repo, config)
        return InitResult(roles, retired, reasons if present else [])


def init_demo_repository(repo: Path, keys: Path) -> InitResult:
    """A repository for the demonstration app, with keys made for trying things out only."""
    return init_repository(
        repo, keys, PublisherConfig(app_name=DEMO_APP_NAME, bundle=str(DEMO_APP))
    )


def _initial_roles(
    config: PublisherConfig,
    online: dict[str, keystore.StoredKey],
    offline: list[keystore.StoredKey],
    root_threshold: int,
    targets_holders: list[keystore.StoredKey] | None = None,
    targets_threshold: int = 1,
) -> RoleSet:
    """The first version of every role; targets keys held offline when `targets_holders`."""
    expiry = datetime.now(UTC) + timedelta(days=1)  # replaced when signing
    root = Root(expires=expiry, consistent_snapshot=True)
    root.roles[Role.ROOT] = TufRole([], root_threshold)
    for number, key in enumerate(offline, 1):  # the holder names every signer is shown
        key.signer.public_key.unrecognized_fields[HOLDER_FIELD] = f"root-{number}"
        root.add_key(key.signer.public_key, Role.ROOT)
    for role, key in online.items():
        key.signer.public_key.unrecognized_fields[HOLDER_FIELD] = f"online {role} key"
        root.add_key(key.signer.public_key, role)
    for number, key in enumerate(targets_holders or [], 1):
        key.signer.public_key.unrecognized_fields[HOLDER_FIELD] = f"targets-{number}"
        root.add_key(key.signer.public_key, Role.TARGETS)
    root.roles[Role.TARGETS].threshold = targets_threshold
    all_keys = [*offline, *online.values(), *(targets_holders or [])]
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
