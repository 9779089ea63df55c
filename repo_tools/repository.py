"""The TUF repository on disk: loading, signing, and changing it all-or-nothing.

Published layout (consistent snapshots, so a client polling during an upload only ever sees
complete states):
    metadata/  N.root.json (every version, forever), root.json, N.targets.json,
               N.snapshot.json, targets.json, snapshot.json, timestamp.json
    targets/   <sha256>.<target name>

Every change is prepared in `<repo>/.repo-tools-staging/`, verified, then moved into place in
upload order: target files, root versions, targets, snapshot, timestamp last. A marker file
written just before the first move lets the next run finish an interrupted move; without the
marker, a leftover staging folder is simply removed and the repository is as it was.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from filelock import FileLock, Timeout
from securesystemslib.exceptions import StorageError
from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Signature,
    Signed,
    Snapshot,
    Targets,
    Timestamp,
)
from tuf.api.serialization import DeserializationError
from tuf.api.serialization.json import JSONSerializer

from repo_tools.destination import upload_rank
from repo_tools.errors import RepoError
from repo_tools.keys import StoredKey, role_signers
from repo_tools.roles import ROLES, Role

STAGING = ".repo-tools-staging"
COMMIT_MARKER = "COMMIT"
LOCK_NAME = ".repo-tools.lock"
SERIALIZER = JSONSerializer(compact=True)
KEEP_METADATA_VERSIONS = 3  # old targets/snapshot versions kept for clients mid-update
_ROOT_FILE = re.compile(r"^(\d+)\.root\.json$")


@dataclass
class RoleSet:
    """The current version of each top-level role, as loaded from disk."""

    root: Metadata[Root]
    targets: Metadata[Targets]
    snapshot: Metadata[Snapshot]
    timestamp: Metadata[Timestamp]

    def by_name(self, role: str) -> Metadata:
        return getattr(self, role)


def metadata_dir(repo: Path) -> Path:
    return repo / "metadata"


def targets_dir(repo: Path) -> Path:
    return repo / "targets"


def root_versions(repo: Path) -> list[int]:
    found = (_ROOT_FILE.match(p.name) for p in metadata_dir(repo).glob("*.root.json"))
    return sorted(int(m.group(1)) for m in found if m)


def missing_metadata_error(path: Path) -> RepoError:
    """A metadata file that is not there; a repository with unversioned targets/snapshot
    files only (what tufup writes) is told how to adopt it."""
    folder = path.parent
    plain = (folder / "snapshot.json").is_file() and (folder / "targets.json").is_file()
    versioned = any(folder.glob("*.snapshot.json"))
    if plain and not versioned:
        return RepoError(
            f"{path} is missing: this repository has no versioned snapshot and targets "
            "metadata, as a tufup repository has. Adopt it first: `repo-tools --repo "
            f"{folder.parent} --keys KEYS adopt-tufup --tufup-keys KEYSTORE --dry-run` "
            "(see docs/migrating-from-tufup.md)"
        )
    return RepoError(f"{path} is missing: the repository is incomplete")


def read_metadata(path: Path, kind: type[Signed]) -> Metadata:
    if not path.is_file():
        raise missing_metadata_error(path)
    try:
        md = Metadata.from_file(str(path))
    except (FileNotFoundError, StorageError):
        raise missing_metadata_error(path) from None
    except (DeserializationError, ValueError, KeyError, TypeError) as error:
        raise RepoError(
            f"{path} is corrupted ({error}): restore it from your backup or upload copy"
        ) from error
    if not isinstance(md.signed, kind):
        raise RepoError(f"{path} holds {md.signed.type} metadata, expected {kind.type}")
    return md


def load_roles(repo: Path) -> RoleSet:
    """Load the newest version of every role; clear errors when files are missing or damaged."""
    folder = metadata_dir(repo)
    versions = root_versions(repo)
    if not versions:
        raise RepoError(f"no root metadata in {folder}: run `repo-tools --repo {repo} init` first")
    root = read_metadata(folder / f"{versions[-1]}.root.json", Root)
    timestamp = read_metadata(folder / "timestamp.json", Timestamp)
    snapshot = read_metadata(
        folder / f"{timestamp.signed.snapshot_meta.version}.snapshot.json", Snapshot
    )
    targets_meta = snapshot.signed.meta.get("targets.json")
    if targets_meta is None:
        raise RepoError(f"snapshot in {folder} does not list targets.json: repository is damaged")
    targets = read_metadata(folder / f"{targets_meta.version}.targets.json", Targets)
    roles = RoleSet(root, targets, snapshot, timestamp)
    for role in ROLES:
        try:
            root.verify_delegate(role, roles.by_name(role))
        except Exception as error:
            raise RepoError(
                f"{role} metadata in {folder} is not validly signed ({error}): "
                "it was changed outside repo-tools or signed with a wrong key"
            ) from error
    return roles


def sign(
    md: Metadata, root: Root, stored_keys: list[StoredKey], expiry_days: int, bump: bool = True
) -> None:
    """New version (optional), new expiry, signatures from every available key of the role."""
    role = md.signed.type
    signers = role_signers(root, role, stored_keys)
    if not signers.enough:
        raise RepoError(
            f"cannot sign {role}: {signers.threshold} key(s) needed, {len(signers.found)} found. "
            f"Expected key ids: {', '.join(k[:12] for k in signers.keyids)}; put the private "
            "key files in the keys folder (online/ or offline/)"
        )
    if bump:
        md.signed.version += 1
    md.signed.expires = (datetime.now(UTC) + timedelta(days=expiry_days)).replace(microsecond=0)
    md.signatures.clear()
    for key in signers.found:
        sign_with_key(md, key)


def sign_with_key(
    md: Metadata,
    key: StoredKey,
    error_class: type[RepoError] = RepoError,
    outcome: str = "Nothing was published",
) -> Signature:
    """One signature; a signer that fails (a token unplugged, a wrong PIN, a key service
    unreachable) is one clear `error_class` ending in `outcome`, never a traceback."""
    try:
        return md.sign(key.signer, append=True)
    except UnsignedMetadataError as error:
        if isinstance(error.__cause__, RepoError):  # e.g. a wrong passphrase: its own words
            raise error.__cause__ from None
        raise error_class(
            f"the key {key.path} (key id {key.keyid[:12]}) could not sign {md.signed.type}: "
            f"{error.__cause__ or error}. {outcome}: check the token or service "
            "(PIN, PYKCS11LIB, the token plugged in) and try again"
        ) from error


def resign(
    roles: RoleSet,
    stored_keys: list[StoredKey],
    expiry_days: dict[str, int],
    role_names: Collection[str],
) -> None:
    """Re-sign roles in dependency order, pointing snapshot and timestamp at what is new."""
    for role in ROLES:
        if role not in role_names:
            continue
        md = roles.by_name(role)
        if role == Role.SNAPSHOT:
            md.signed.meta["targets.json"] = snapshot_entry(roles.targets)
        if role == Role.TIMESTAMP:
            md.signed.snapshot_meta = timestamp_entry(roles.snapshot)
        sign(md, roles.root.signed, stored_keys, expiry_days[role])


def commit_resigned(
    repo: Path,
    roles: RoleSet,
    stored_keys: list[StoredKey],
    expiry_days: dict[str, int],
    role_names: Collection[str],
    also: frozenset[str] = frozenset(),
    check: Callable[[Transaction], None] | None = None,
) -> None:
    """Re-sign roles whose content was changed in memory and publish them all-or-nothing,
    together with `also` (roles already signed, e.g. a root from a ceremony). `check` sees
    the staged result before anything is published; raising stops the change."""
    transaction = Transaction(repo)
    try:
        resign(roles, stored_keys, expiry_days, role_names)
        transaction.write_roles(roles, {*role_names, *also})
        if check is not None:
            check(transaction)
        transaction.commit()
    except BaseException:
        transaction.abort()
        raise


def snapshot_entry(targets: Metadata[Targets]) -> MetaFile:
    return MetaFile.from_data(targets.signed.version, targets.to_bytes(SERIALIZER), ["sha256"])


def timestamp_entry(snapshot: Metadata[Snapshot]) -> MetaFile:
    return MetaFile.from_data(snapshot.signed.version, snapshot.to_bytes(SERIALIZER), ["sha256"])


@contextmanager
def locked(repo: Path, timeout: float = 30) -> Iterator[None]:
    """One repo-tools command at a time per repository; finishes or clears interrupted ones."""
    repo.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(repo / LOCK_NAME), timeout=timeout):
            recover(repo)
            yield
    except Timeout:
        raise RepoError(
            f"another repo-tools command is working on {repo}: wait for it and try again"
        ) from None


def recover(repo: Path) -> None:
    staging = repo / STAGING
    if not staging.exists():
        return
    if (staging / COMMIT_MARKER).exists():
        Transaction(repo, staging)._move_all()
    shutil.rmtree(staging, ignore_errors=True)


class Transaction:
    """New files gathered in staging, then moved into the published folders in a safe order."""

    def __init__(self, repo: Path, staging: Path | None = None) -> None:
        self.repo = repo
        self.staging = staging or repo / STAGING
        if staging is None:
            shutil.rmtree(self.staging, ignore_errors=True)
            (self.staging / "metadata").mkdir(parents=True)
            (self.staging / "targets").mkdir(parents=True)
        self.scratch = self.staging / "scratch"
        self.scratch.mkdir(exist_ok=True)

    @property
    def staged_metadata(self) -> Path:
        return self.staging / "metadata"

    @property
    def staged_targets(self) -> Path:
        return self.staging / "targets"

    def add_target(self, local: Path, prefixed_name: str) -> None:
        os.replace(local, self.staged_targets / prefixed_name)

    def write_metadata(self, md: Metadata, *names: str) -> None:
        data = md.to_bytes(SERIALIZER)
        for name in names:
            path = self.staged_metadata / name
            path.write_bytes(data)

    def write_roles(self, roles: RoleSet, changed: Collection[str]) -> None:
        """Stage changed roles under their published names (versioned and plain; timestamp
        has only its plain name)."""
        for role in ROLES:
            if role not in changed:
                continue
            md = roles.by_name(role)
            if role == Role.TIMESTAMP:
                self.write_metadata(md, "timestamp.json")
            else:
                self.write_metadata(md, f"{md.signed.version}.{role}.json", f"{role}.json")

    def commit(self) -> None:
        for folder in (self.staged_metadata, self.staged_targets):
            for path in folder.iterdir():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        (self.staging / COMMIT_MARKER).touch()
        self._move_all()
        shutil.rmtree(self.staging, ignore_errors=True)
        drop_old_metadata(self.repo)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def _move_all(self) -> None:
        metadata_dir(self.repo).mkdir(parents=True, exist_ok=True)
        targets_dir(self.repo).mkdir(parents=True, exist_ok=True)
        for path in sorted(self.staged_targets.iterdir()):
            os.replace(path, targets_dir(self.repo) / path.name)
        for path in sorted(self.staged_metadata.iterdir(), key=upload_rank):
            os.replace(path, metadata_dir(self.repo) / path.name)


def drop_old_metadata(repo: Path) -> None:
    """Delete targets/snapshot versions older than the newest KEEP_METADATA_VERSIONS.

    Clients only ever fetch the versions the current timestamp leads to; a few older ones stay
    for clients that read the previous timestamp just before an upload. Root versions are
    never deleted: clients walk the whole chain.
    """
    for role in (Role.TARGETS, Role.SNAPSHOT):
        versioned: dict[int, Path] = {}
        for path in metadata_dir(repo).glob(f"*.{role}.json"):
            prefix = path.name.split(".", 1)[0]
            if prefix.isdigit():
                versioned[int(prefix)] = path
        for number in sorted(versioned)[:-KEEP_METADATA_VERSIONS]:
            versioned[number].unlink(missing_ok=True)


def prefixed_target_name(name: str, sha256: str) -> str:
    return f"{sha256}.{name}"


def find_target_file(repo: Path, name: str, sha256: str) -> Path:
    """Where the bytes of a published target live."""
    prefixed = prefixed_target_name(name, sha256)
    candidate = targets_dir(repo) / prefixed
    if candidate.exists():
        return candidate
    raise RepoError(f"target file {prefixed} is missing from {targets_dir(repo)}")
