"""`repo-tools adopt-tufup`: take over a repository made by tufup without stranding its clients.

What tufup leaves and what changes (docs/migrating-from-tufup.md tells publishers):

* keys: tufup's securesystemslib JSON key files (unencrypted ed25519) become PKCS#8 PEM files of
  our layout (online/<role>.pem, offline/root-<n>.pem, mode 0600, folders 0700). tufup's key
  IDs were computed with ``keyid_hash_algorithms``; the new root lists the same keys under the
  IDs repo-tools computes, so every later command finds them. The new root is signed twice
  per key: under the old IDs (what installed clients verify it with) and the new ones.
* root: version N+1, the same keys and thresholds, consistent snapshots switched on, signed
  by the threshold of root keys of version N: installed clients (stock tufup ones included)
  walk to it as to any root rotation.
* before the new root is published, every listed target gets its hash-prefixed name (a hard
  link) and the current targets and snapshot get versioned copies, so a client that reads
  the new root and the previous timestamp finds what that timestamp names.
* releases: every ``<app>-<version>.tar.gz`` gets our signed custom metadata (tar size and
  sha256, unpacked size), withdrawn for our client with a reason that says why: tufup-made
  bundles carry neither our client nor its release file, so our client must never install
  one; they stay offered to stock tufup clients and serve as patch bases. tufup's own
  ``.patch`` targets are no longer listed: stock clients apply every patch above their version
  and check the result against the last one, so a release of ours without a tufup patch
  above them would make them install old content under the new name (issue 12). Stock
  clients take full archives from then on; the files stay on disk.

Everything is checked and built in memory first (``--dry-run`` stops there and says what
would change); the result is verified as a new client sees it before the new root and
metadata are published. Nothing of tufup's keystore is changed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from packaging.version import Version
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import Metadata, Root, Snapshot, Targets, Timestamp

from client.formats import ArchiveInfo, FormatError, archive_name, channel_of, check_app_name
from repo_tools import keys as keystore
from repo_tools.config import CONFIG_NAME, PublisherConfig, save_config
from repo_tools.errors import RepoError
from repo_tools.repository import (
    SERIALIZER,
    RoleSet,
    Transaction,
    locked,
    metadata_dir,
    prefixed_target_name,
    read_metadata,
    resign,
    root_versions,
    targets_dir,
)
from repo_tools.roles import ONLINE_ROLES, TOP_LEVEL_CHAIN, Role
from repo_tools.tufup_compat import for_tufup, tufup_internal, tufup_reading
from repo_tools.verify import verify_repository

IMPORTED_REASON = (
    "made by tufup before this repository was adopted: it does not contain this updater, "
    "so only stock tufup clients install it"
)


class AdoptError(RepoError):
    """The repository or the keys cannot be adopted as asked."""


@dataclass(frozen=True)
class TufupKey:
    """A private key of tufup's keystore, with the key ID tufup's root lists it under."""

    source: Path
    private: Ed25519PrivateKey
    old_keyid: str
    new_keyid: str

    def signer(self, keyid: str) -> CryptoSigner:
        public = SSlibKey.from_crypto(self.private.public_key(), keyid, "ed25519")
        return CryptoSigner(self.private, public)


@dataclass
class AdoptPlan:
    app: str
    old_root: int
    new_root: int
    keys: list[tuple[str, Path, str, str]] = field(default_factory=list)  # role, file, old, new
    imported: list[str] = field(default_factory=list)  # versions
    delisted: list[str] = field(default_factory=list)  # tufup patch targets no longer listed
    versioned_copies: list[str] = field(default_factory=list)
    linked_targets: int = 0


@dataclass(frozen=True)
class AdoptResult:
    plan: AdoptPlan
    dry_run: bool


def _public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def canonical_keyid(public_hex: str) -> str:
    """The key ID repo-tools (securesystemslib 1) computes for an ed25519 public key."""
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
    return SSlibKey.from_crypto(public, scheme="ed25519").keyid


def read_tufup_key(path: Path) -> Ed25519PrivateKey:
    """A private key file of tufup's keystore (securesystemslib's unencrypted JSON format)."""
    try:
        data = json.loads(path.read_text())
        private = bytes.fromhex(data["keyval"]["private"])
        if data.get("keytype") != "ed25519" or len(private) != 32:
            raise ValueError("not an ed25519 key")
        return Ed25519PrivateKey.from_private_bytes(private)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise AdoptError(
            f"{path} is not an unencrypted tufup (securesystemslib) ed25519 private key "
            f"({error}); an encrypted key must be decrypted first, in tufup's environment, "
            "with securesystemslib's import_ed25519_privatekey_from_file and written back "
            "unencrypted, then kept as safely as the PEM file this command makes of it"
        ) from None


def _tufup_keys(folders: list[Path], root: Root) -> dict[str, TufupKey]:
    """tufup's private keys that root lists, by the key ID root lists them under."""
    by_public = {}
    for keyid, key in root.keys.items():
        if key.keytype != "ed25519" or key.scheme != "ed25519":
            raise AdoptError(
                f"root key {keyid[:12]}... is {key.keytype}/{key.scheme}: only "
                "ed25519 keys (what tufup makes) can be adopted"
            )
        by_public[key.keyval["public"]] = keyid
    found: dict[str, TufupKey] = {}
    for folder in folders:
        if not folder.is_dir():
            raise AdoptError(f"tufup key folder {folder} does not exist (tufup's keystore/)")
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.suffix in (".pub", ".json"):
                continue
            private = read_tufup_key(path)
            keyid = by_public.get(_public_hex(private))
            if keyid is not None and keyid not in found:
                found[keyid] = TufupKey(path, private, keyid, canonical_keyid(_public_hex(private)))
    return found


def _load_tufup(repo: Path) -> RoleSet:
    folder = metadata_dir(repo)
    if (repo / CONFIG_NAME).exists():
        raise AdoptError(f"{repo / CONFIG_NAME} exists: {repo} is already a repo-tools repository")
    versions = root_versions(repo)
    if not versions:
        raise AdoptError(f"no N.root.json in {folder}: {repo} is not a tufup repository")
    root = read_metadata(folder / f"{versions[-1]}.root.json", Root)
    roles = RoleSet(
        root,
        read_metadata(folder / "targets.json", Targets),
        read_metadata(folder / "snapshot.json", Snapshot),
        read_metadata(folder / "timestamp.json", Timestamp),
    )
    if root.signed.consistent_snapshot:
        raise AdoptError(f"{repo} already uses consistent snapshots: it is not a tufup repository")
    listed = roles.snapshot.signed.meta.get("targets.json")
    if roles.timestamp.signed.snapshot_meta.version != roles.snapshot.signed.version or (
        listed is None or listed.version != roles.targets.signed.version
    ):
        raise AdoptError(
            f"timestamp, snapshot and targets in {folder} do not name each other's versions "
            "(an unfinished tufup publish?): run tufup's publish_changes first"
        )
    for role in (Role.ROOT, Role.TARGETS, Role.SNAPSHOT, Role.TIMESTAMP):
        try:
            root.verify_delegate(role, roles.by_name(role))
        except Exception as error:
            raise AdoptError(
                f"{role} metadata in {folder} is not validly signed ({error})"
            ) from None
    return roles


def _app_name(targets: Targets, app: str | None) -> str:
    names = {r.app for n in targets.targets if (r := tufup_reading(n)) and r.is_archive}
    if app is None:
        if len(names) != 1:
            raise AdoptError(
                f"cannot tell the app name from the archives ({', '.join(sorted(names)) or 'none'}"
                "): pass --app-name"
            )
        app = names.pop()
    try:
        return check_app_name(app)
    except FormatError as error:
        raise AdoptError(str(error)) from None


def _archive_info(app: str, version: str, path: Path, required: bool) -> ArchiveInfo:
    digest, size = hashlib.sha256(), 0
    with gzip.open(path, "rb") as tar:
        while chunk := tar.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    with tarfile.open(path, "r:gz") as tar:
        unpacked = sum(m.size for m in tar.getmembers() if m.isfile())
    return ArchiveInfo(
        app=app,
        version=version,
        channel=channel_of(Version(version)),
        tar_size=size,
        tar_sha256=digest.hexdigest(),
        unpacked_size=unpacked,
        published=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        required=required,
        yanked=IMPORTED_REASON,
    )


def _import_targets(repo: Path, app: str, targets: Targets, plan: AdoptPlan) -> None:
    """Our metadata on tufup's archives of `app`; tufup's patches of it no longer listed."""
    for name in sorted(targets.targets):
        reading = tufup_reading(name)
        if reading is None or reading.app != app:
            continue
        if reading.version is None or (
            reading.is_archive and name != archive_name(app, reading.version)
        ):
            raise AdoptError(
                f"target {name}: its version is not one in normal form (PEP 440), so it cannot "
                "be imported; remove that release with tufup first"
            )
        if reading.is_patch:
            del targets.targets[name]
            plan.delisted.append(name)
            continue
        info = targets.targets[name]
        version = str(reading.version)
        custom = info.unrecognized_fields.get("custom")
        required = bool(tufup_internal(custom).get("required"))
        path = _target_path(repo, name, info.hashes)
        ours = _archive_info(app, version, path, required).to_custom()
        user = custom.get("user") if isinstance(custom, dict) else None
        info.unrecognized_fields["custom"] = for_tufup({**ours, **({"user": user} if user else {})})
        plan.imported.append(version)


def _target_path(repo: Path, name: str, hashes: dict[str, str]) -> Path:
    """The published file of a tufup target (plain name), checked against its signed sha256."""
    path = targets_dir(repo) / name
    if "/" in name or not path.is_file():
        raise AdoptError(f"target {name} is listed but {path} is missing: restore it first")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    if hashes.get("sha256") != digest.hexdigest():
        raise AdoptError(f"{path} does not match its signed sha256: restore it first")
    return path


def _link_or_copy(source: Path, target: Path) -> None:
    """A second name for a published file: a hard link, a copy where links are not possible."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _new_root(root: Metadata[Root], keys: dict[str, TufupKey], days: int) -> Metadata[Root]:
    """Version N+1: same keys under repo-tools' key IDs, consistent snapshots on, signed by the
    threshold of version N's root keys (old IDs) and of its own (new IDs)."""
    new = Metadata.from_bytes(root.to_bytes(SERIALIZER))
    signed = new.signed
    renamed = {old: canonical_keyid(key.keyval["public"]) for old, key in signed.keys.items()}
    signed.keys = {
        renamed[old]: SSlibKey(renamed[old], key.keytype, key.scheme, dict(key.keyval))
        for old, key in signed.keys.items()
    }
    for role in signed.roles.values():
        role.keyids = [renamed[k] for k in role.keyids]
    signed.version += 1
    signed.consistent_snapshot = True
    signed.expires = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    new.signatures.clear()
    holders = [keys[k] for k in root.signed.roles[Role.ROOT].keyids if k in keys]
    threshold = root.signed.roles[Role.ROOT].threshold
    if len(holders) < threshold:
        raise AdoptError(
            f"the new root needs {threshold} signature(s) of the root keys, and tufup's key "
            f"folder holds {len(holders)} of them: add the folders holding the others "
            "(--tufup-keys again)"
        )
    for holder in holders:
        new.sign(holder.signer(holder.old_keyid), append=True)
        new.sign(holder.signer(holder.new_keyid), append=True)
    return new


def _key_files(keys_folder: Path, root: Root, held: dict[str, TufupKey]) -> dict[Path, TufupKey]:
    """Where each held key goes in our layout (a key of several roles: one file per role)."""
    files: dict[Path, TufupKey] = {}
    for role in ONLINE_ROLES:
        keyids = root.roles[role].keyids
        found = [held[k] for k in keyids if k in held]
        if len(found) < root.roles[role].threshold:
            raise AdoptError(
                f"no private key for the {role} role in tufup's key folder (key id "
                f"{keyids[0][:12]}...): repo-tools signs {role} at every release, so it needs "
                "it; add the folder that holds it (--tufup-keys again)"
            )
        for number, key in enumerate(found, start=1):
            path = keystore.online_key_path(keys_folder, role)
            files[path if number == 1 else path.with_name(f"{role}-{number}.pem")] = key
    root_holders = [held[k] for k in root.roles[Role.ROOT].keyids if k in held]
    for number, key in enumerate(root_holders, start=1):
        files[keystore.root_key_path(keys_folder, number)] = key
    return files


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_key(path: Path, key: Ed25519PrivateKey, repo: Path) -> None:
    """A PEM file of our layout (0600 in a 0700 folder); one holding this key already is kept."""
    keystore.check_key_location(path, repo)
    if path.exists():
        if keystore.load(path).keyid == canonical_keyid(_public_hex(key)):
            return
        raise AdoptError(f"{path} exists and holds another key: use an empty keys folder")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(_pem(key))


def _stored(files: dict[Path, TufupKey]) -> list[keystore.StoredKey]:
    """Signers of the new metadata: each key under its new ID."""
    return [keystore.StoredKey(p, k.signer(k.new_keyid)) for p, k in files.items()]


def adopt_tufup(
    repo: Path,
    keys: Path,
    tufup_keys: list[Path],
    app: str | None = None,
    dry_run: bool = False,
    config: PublisherConfig | None = None,
) -> AdoptResult:
    """Adopt the tufup repository `repo`; with `dry_run`, only say what would change."""
    with locked(repo):
        roles = _load_tufup(repo)
        app = _app_name(roles.targets.signed, app)
        config = config or PublisherConfig(app_name=app)
        held = _tufup_keys(tufup_keys, roles.root.signed)
        files = _key_files(keys, roles.root.signed, held)
        for path in files:
            keystore.check_key_location(path, repo)
        old = roles.root.signed.version
        plan = AdoptPlan(app, old, old + 1)
        for path, key in files.items():
            plan.keys.append((path.stem, path, key.old_keyid, key.new_keyid))
        current = {
            f"{roles.targets.signed.version}.targets.json": metadata_dir(repo) / "targets.json",
            f"{roles.snapshot.signed.version}.snapshot.json": metadata_dir(repo) / "snapshot.json",
        }
        plan.versioned_copies = sorted(current)
        new_root = _new_root(roles.root, held, config.expiry_days[Role.ROOT])
        _import_targets(repo, app, roles.targets.signed, plan)
        listed = dict(roles.targets.signed.targets)
        plan.linked_targets = len(listed)
        if dry_run:
            return AdoptResult(plan, True)
        # 1: what clients that read the new root next to the previous timestamp fetch
        first = Transaction(repo)
        try:
            for name, info in listed.items():
                prefixed = prefixed_target_name(name, info.hashes["sha256"])
                if not (targets_dir(repo) / prefixed).exists():
                    _link_or_copy(
                        _target_path(repo, name, info.hashes), first.staged_targets / prefixed
                    )
            for name, source in current.items():
                (first.staged_metadata / name).write_bytes(source.read_bytes())
            first.commit()
        except BaseException:
            first.abort()
            raise
        for path, key in files.items():
            _write_key(path, key.private, repo)
        # 2: the new root, the imported releases, snapshot and timestamp, verified first
        adopted = RoleSet(new_root, roles.targets, roles.snapshot, roles.timestamp)
        second = Transaction(repo)
        try:
            resign(adopted, _stored(files), config.expiry_days, TOP_LEVEL_CHAIN)
            second.write_roles(adopted, {Role.ROOT, *TOP_LEVEL_CHAIN})
            report = verify_repository(repo, 0, second.staged_metadata, second.staged_targets)
            if not report.ok:
                raise AdoptError(
                    "the adopted repository does not verify as clients would see it, so its "
                    f"new root was not published: {'; '.join(report.problems)}"
                )
            second.commit()
        except BaseException:
            second.abort()
            raise
        save_config(repo, config)
    return AdoptResult(plan, False)
