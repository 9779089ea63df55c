"""`repo-tools release`: bundle -> archive + patches -> signed targets, snapshot, timestamp.

Everything is built in the staging folder and verified as a new client would see it before
a single published file changes (see repository.Transaction).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from packaging.version import Version
from tuf.api.metadata import TargetFile, Targets

from client.archive import BundleError, bundle_entries
from client.formats import TREE_FORMAT, ArchiveInfo, FormatError, TreeInfo, archive_name, channel_of
from client.layout import BUNDLED_CONFIG, RELEASE_FILE, ROOT_FILE
from client.tree_format import Manifest, decode_manifest, delta_name, manifest_name, pack_name
from repo_tools import keys as keystore
from repo_tools import offline_targets
from repo_tools.build_cache import BuildCache
from repo_tools.bundle_entry import check_entry_point
from repo_tools.bundle_rules import BundleInspection, inspect_bundle
from repo_tools.catalog import Archives, released_archives
from repo_tools.config import PublisherConfig, load_config
from repo_tools.delta import build_delta
from repo_tools.errors import RepoError, reported_as
from repo_tools.git_tag import tag_name
from repo_tools.repository import (
    SERIALIZER,
    RoleSet,
    Transaction,
    find_target_file,
    load_roles,
    locked,
    prefixed_target_name,
    resign,
)
from repo_tools.roles import TOP_LEVEL_CHAIN, Role
from repo_tools.tree_build import BuiltTree, build_tree
from repo_tools.tufup_compat import for_tufup
from repo_tools.tufup_patch import tufup_patch_step
from repo_tools.verify import repair_hint, verify_repository
from repo_tools.versioning import next_version, patch_bases


class ReleaseError(RepoError):
    """The release cannot be built as asked (bundle, build command, verification, keys)."""


@dataclass(frozen=True)
class ReleaseRequest:
    bump: str | None
    channel: str = "stable"
    bundle: Path | None = None
    notes: str = ""
    required: bool = False
    version: str | None = None
    rollout: int = 100


@dataclass(frozen=True)
class ReleaseResult:
    version: Version
    archive: str
    patches: list[str]
    inspection: BundleInspection  # what bundle_exclude left out; the secret scan that passed
    frames_compressed: int = 0  # frames of the pack and archive compressed by this release
    frames_reused: int = 0  # copied from earlier releases (repo_tools.build_cache)
    pending: Path | None = None  # offline targets: held here for the holders, not published


@dataclass(frozen=True)
class ReleasePlan:
    """What `release` would do, decided without building or signing anything."""

    version: Version
    archive: str
    patch_bases: list[Version]
    bundle: Path | None  # None: the configured build command would make it
    build_command: str
    publish_to: str  # where it would be uploaded ("" for nowhere)
    tag: str  # the git tag it would get ("" for none)
    inspection: BundleInspection | None  # None: the bundle is built by the build command
    exclude: list[str]  # the bundle_exclude patterns


def _patch_bases(archives: Archives, new: Version) -> list[Version]:
    """Patches from the newest release below on each channel, and also from the newest one
    not withdrawn: after a yank, clients on the good version get a patch to the fix too."""
    good = [v for v, (_, info) in archives.items() if not info.yanked]
    return sorted(set(patch_bases(archives, new)) | set(patch_bases(good, new)))


def _resolve_bundle(config: PublisherConfig, request: ReleaseRequest) -> Path:
    if request.bundle is not None:
        return request.bundle
    if config.build_command:
        result = subprocess.run(config.build_command, shell=True)
        if result.returncode != 0:
            raise ReleaseError(
                f"build command {config.build_command!r} failed with exit code "
                f"{result.returncode}: fix the build and release again"
            )
    if not config.bundle:
        raise ReleaseError("no bundle given: pass --bundle DIR or set 'bundle' in repo-tools.json")
    return Path(config.bundle)


def bundle_info_files(
    roles: RoleSet, app: str, version: Version, client_settings: dict
) -> dict[str, bytes]:
    """What an installed copy needs inside its bundle: the trusted root, its own version and
    (if the publisher set any) initial client settings such as the update servers."""
    release = {"app": app, "version": str(version), "channel": channel_of(version)}
    files = {
        ROOT_FILE.as_posix(): roles.root.to_bytes(SERIALIZER),
        RELEASE_FILE.as_posix(): (json.dumps(release, indent=2) + "\n").encode(),
    }
    if client_settings:
        text = json.dumps(client_settings, indent=2, sort_keys=True) + "\n"
        files[BUNDLED_CONFIG.as_posix()] = text.encode()
    return files


def _add_target(
    transaction: Transaction,
    targets: Targets,
    local: Path,
    name: str,
    custom: dict | None = None,
    written: tuple[int, str] | None = None,
) -> TargetFile:
    """Add `local` as target `name`; `written`: its length and sha256, hashed as it was
    written (the release's verification reads it back as a client would, after signing)."""
    if written is None:
        info = TargetFile.from_file(name, str(local), ["sha256"])
    else:
        info = TargetFile(written[0], {"sha256": written[1]}, name)
    if custom is not None:
        info.unrecognized_fields["custom"] = for_tufup(custom)  # what stock tufup reads too
    targets.targets[name] = info
    transaction.add_target(local, prefixed_target_name(name, info.hashes["sha256"]))
    return info


def _published(repo: Path, targets: Targets, name: str) -> Path | None:
    info = targets.targets.get(name)
    if info is None:
        return None
    path = find_target_file(repo, name, info.hashes["sha256"])
    return path if path.is_file() else None


def _make_deltas(
    repo: Path,
    transaction: Transaction,
    targets: Targets,
    new: Manifest,
    sources: dict[str, Path | bytes],
    cache: BuildCache,
    archives: Archives,
) -> list[str]:
    """Deltas to `new` from each patch base that has a tree (format 2); returns the bases."""
    app, bases = new.app, []
    for base in _patch_bases(archives, Version(new.version)):
        tree = archives[base][1].tree
        manifest_file = _published(repo, targets, manifest_name(app, base))
        pack_file = _published(repo, targets, pack_name(app, base))
        if tree is None or manifest_file is None or pack_file is None:
            continue  # a release of format 1: its clients take the full download
        with reported_as(ReleaseError, FormatError):
            base_manifest = decode_manifest(
                manifest_file.read_bytes(), app, str(base), tree.entries
            )
        out = transaction.scratch / delta_name(app, base, new.version)
        build_delta(
            base_manifest, new, sources,
            lambda wanted, into, b=str(base), p=pack_file: cache.base_files(b, p, wanted, into),
            out,
        )  # fmt: skip
        _add_target(transaction, targets, out, out.name)
        bases.append(str(base))
    return bases


@dataclass(frozen=True)
class _Checked:
    roles: RoleSet
    version: Version
    bundle: Path | None
    stored_keys: list[keystore.StoredKey]
    inspection: BundleInspection | None  # set when bundle is


def _check_request(
    repo: Path, keys: Path, config: PublisherConfig, request: ReleaseRequest, build: bool
) -> _Checked:
    """Version, bundle and keys, checked before anything slow (call under the lock)."""
    roles = load_roles(repo)
    archives = released_archives(roles.targets.signed)
    new = next_version(archives, request.bump, request.channel, request.version)
    bundle = inspection = None
    if build or request.bundle is not None or not config.build_command:
        bundle = _resolve_bundle(config, request)
        # bundle_exclude applied; links out, unreadable files, an empty folder, the keys or
        # repository folder and private key material refused, each with a clear error
        cache = BuildCache(repo, config.app_name)
        inspection = inspect_bundle(
            bundle, config.exclusion, keys, repo, lambda path: cache.known_hash(path) is not None
        )
        # the client's entry point must be in the archive and runnable, or setup refuses it
        check_entry_point(bundle, inspection, config.client_settings)
    stored_keys = keystore.load_all(keys)
    if config.offline_targets:
        offline_targets.check_none_pending(repo)
    for role in TOP_LEVEL_CHAIN:
        if not (role == Role.TARGETS and config.offline_targets):  # its holders sign later
            _require_keys(roles, role, stored_keys)
    return _Checked(roles, new, bundle, stored_keys, inspection)


def plan_release(
    repo: Path, keys: Path, request: ReleaseRequest, config: PublisherConfig | None = None
) -> ReleasePlan:
    """`release --dry-run`: the version, archive and patches, after the same checks of the
    bundle and keys a release makes first; nothing is built, signed or written."""
    config = config or load_config(repo)
    with locked(repo):
        checked = _check_request(repo, keys, config, request, build=False)
    archives = released_archives(checked.roles.targets.signed)
    return ReleasePlan(
        checked.version,
        archive_name(config.app_name, checked.version),
        _patch_bases(archives, checked.version),
        checked.bundle,
        config.build_command if checked.bundle is None else "",
        config.publish_to,
        tag_name(config.git_tag, str(checked.version)) if config.git_tag else "",
        checked.inspection,
        list(config.bundle_exclude),
    )


def release(
    repo: Path, keys: Path, request: ReleaseRequest, config: PublisherConfig | None = None
) -> ReleaseResult:
    config = config or load_config(repo)
    with locked(repo):
        checked = _check_request(repo, keys, config, request, build=True)
        roles, new, bundle = checked.roles, checked.version, checked.bundle
        stored_keys, inspection = checked.stored_keys, checked.inspection
        assert bundle is not None and inspection is not None  # build=True always resolves it
        transaction = Transaction(repo)
        try:
            built = _build(
                repo, transaction, roles, stored_keys, config, request, bundle, new, inspection
            )
            tree = built.remember.tree
            result = ReleaseResult(
                new, built.archive, built.patches, inspection, tree.compressed, tree.reused
            )
            if config.offline_targets:  # kept for the targets holders, published by them
                held = (str(new), built.archive, built.patches)
                pending = offline_targets.hold(repo, transaction, roles, config, held)
                transaction.abort()
                return replace(result, pending=pending.folder)
            transaction.commit()
            with contextlib.suppress(OSError):  # a cache that cannot be written costs time only
                built.remember.save()
        except BaseException:
            transaction.abort()
            raise
    if config.keep_releases:
        from repo_tools.prune import prune

        prune(repo, keys, config.keep_releases, config)
    return result


@dataclass(frozen=True)
class _Remember:
    """What the build cache keeps of a release once it is published."""

    cache: BuildCache
    version: str
    pack_file: str
    archive_file: str
    tree: BuiltTree

    def save(self) -> None:
        self.cache.save_index(self.version, self.pack_file, self.archive_file, self.tree.frames)
        self.cache.save_files()


@dataclass(frozen=True)
class _Built:
    archive: str
    patches: list[str]  # the deltas made
    remember: _Remember


def _build(
    repo: Path,
    transaction: Transaction,
    roles: RoleSet,
    stored_keys: list[keystore.StoredKey],
    config: PublisherConfig,
    request: ReleaseRequest,
    bundle: Path,
    new: Version,
    inspection: BundleInspection,
) -> _Built:
    app = config.app_name
    targets = roles.targets.signed
    archives = released_archives(targets)

    with reported_as(ReleaseError, BundleError):
        extra = bundle_info_files(roles, app, new, config.client_settings)
        entries = bundle_entries(bundle, extra, config.exclusion, inspection.entries)
    cache = BuildCache(repo, app)
    archive_path = transaction.scratch / archive_name(app, new)
    pack_path = transaction.scratch / pack_name(app, new)
    manifest_path = transaction.scratch / manifest_name(app, new)
    tree = build_tree(app, str(new), entries, cache, archive_path, pack_path, manifest_path)
    sources = {info.name: source for info, source in entries if source is not None}
    bases = _make_deltas(repo, transaction, targets, tree.manifest, sources, cache, archives)
    info = ArchiveInfo(
        app=app,
        version=str(new),
        channel=channel_of(new),
        tar_size=tree.digest.tar_size,
        tar_sha256=tree.digest.tar_sha256,
        unpacked_size=tree.digest.unpacked_size,
        published=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        notes=request.notes,
        required=request.required,
        rollout=request.rollout,
        tree=TreeInfo(TREE_FORMAT, len(tree.manifest.entries), tuple(bases)),
    )
    archive = _add_target(
        transaction, targets, archive_path, archive_path.name, info.to_custom(), tree.archive_file
    )
    pack = _add_target(transaction, targets, pack_path, pack_path.name, None, tree.pack_file)
    _add_target(transaction, targets, manifest_path, manifest_path.name)
    patches = [delta_name(app, base, new) for base in bases]
    patches += tufup_patch_step(repo, transaction, targets, config, new)  # tufup_patches: on

    if not config.offline_targets:  # else the holders sign; `targets publish` verifies
        new_targets = {manifest_path.name, *patches}
        hashed = {archive_path.name, pack_path.name}  # hashed as written (tree_build)
        _sign_and_verify(repo, transaction, roles, stored_keys, config, new_targets, hashed)
    remember = _Remember(
        cache, str(new), prefixed_target_name(pack.path, pack.hashes["sha256"]),
        prefixed_target_name(archive.path, archive.hashes["sha256"]), tree,
    )  # fmt: skip
    return _Built(archive_path.name, patches, remember)


def _sign_and_verify(
    repo: Path,
    transaction: Transaction,
    roles: RoleSet,
    stored_keys: list[keystore.StoredKey],
    config: PublisherConfig,
    new_targets: set[str],
    hashed: set[str],
) -> None:
    """Sign the release and verify it as a client would; `hashed` (the pack and the archive)
    are checked against the metadata by name only: their hashes were taken as they were
    written, and reading 300 MB back would only repeat that."""
    resign(roles, stored_keys, config.expiry_days, TOP_LEVEL_CHAIN)
    transaction.write_roles(roles, set(TOP_LEVEL_CHAIN))

    report = verify_repository(
        repo, 0, transaction.staged_metadata, transaction.staged_targets,
        new_targets | hashed, hashed,
    )  # fmt: skip
    if not report.ok:
        raise ReleaseError(
            "the new release does not verify as clients would see it, so nothing was "
            f"published: {'; '.join(report.problems)}. {repair_hint(report.problems)}"
        )


def _require_keys(roles: RoleSet, role: str, stored: list[keystore.StoredKey]) -> None:
    signers = keystore.role_signers(roles.root.signed, role, stored)
    if not signers.enough:
        raise ReleaseError(
            f"no usable key for the {role} role: expected its private key (key id "
            f"{signers.keyids[0][:12]}...) in the keys folder, e.g. online/{role}.pem. "
            "Copy the right key there, or run `repo-tools init` for a new repository"
        )
