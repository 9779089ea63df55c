"""Releases signed offline: the targets key(s) stay with their holders, not on the machine.

With `targets_signing: "offline"` in repo-tools.json (`init --targets-keys N
--targets-threshold T` sets it), `repo-tools release` builds as usual but, instead of signing,
holds the release in `<repo>/pending-release/`: the unsigned next targets version
(`targets.draft.json`) and the new archive and patches. Nothing is published. Then:
1. the targets holders sign it: `targets sign --key K` on this machine, or `targets export`,
   `targets sign --request` where there is no repository, `targets collect` (the same
   signing requests and signature files as a root ceremony: repo_tools.signing_request);
   each holder is first shown what the release adds and changes (repo_tools.changes);
2. `targets publish` checks the draft carries a threshold of valid signatures from the
   targets keys of the published root and still follows the published targets, signs
   snapshot and timestamp with the online keys, verifies the staged result as a new client
   would, and publishes it all-or-nothing;
3. `targets abort` drops a pending release; `targets renew` holds the published targets with
   a new version and expiry only, for the holders to re-sign before it expires.
Snapshot and timestamp stay online: `refresh` keeps re-signing them; targets itself is
re-signed only by its holders (refresh reports when it is due).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tuf.api.metadata import Targets

from repo_tools import keys as keystore
from repo_tools.changes import Changes, holder_of
from repo_tools.config import PublisherConfig, load_config
from repo_tools.errors import RepoError
from repo_tools.repository import (
    SERIALIZER,
    RoleSet,
    Transaction,
    load_roles,
    locked,
    read_metadata,
    resign,
)
from repo_tools.roles import Role
from repo_tools.signing_request import (
    SigningRequest,
    add_signature,
    check_signable,
    sign_with,
    write_request,
)

PENDING_DIR = "pending-release"
DRAFT_NAME = "targets.draft.json"
FILES = "targets"  # the new target files, under their published (hash-prefixed) names
INFO_NAME = "release.json"


class OfflineTargetsError(RepoError):
    """A pending release cannot be prepared, signed or published as asked."""


@dataclass(frozen=True)
class Held:
    version: str
    archive: str
    patches: list[str]
    folder: Path


@dataclass(frozen=True)
class TargetsReview:
    changes: Changes
    signed_by: list[str]  # "keyid (holder)" of every valid targets signature
    signed: int
    threshold: int

    @property
    def complete(self) -> bool:
        return self.signed >= self.threshold

    def describe(self) -> str:
        return f"{self.signed}/{self.threshold} signatures from the targets keys"

    def text(self) -> str:
        who = ", ".join(self.signed_by) or "nobody yet"
        return f"{self.changes.text()}\nsigned by: {who}\n{self.describe()}"


@dataclass(frozen=True)
class TargetsPublished:
    version: str  # the application version published
    targets_version: int


def pending_dir(repo: Path) -> Path:
    return repo / PENDING_DIR


def check_none_pending(repo: Path) -> None:
    if pending_dir(repo).exists():
        raise OfflineTargetsError(
            f"a release is waiting for the targets holders ({pending_dir(repo)}): publish it "
            "with `repo-tools targets publish` or drop it with `repo-tools targets abort`"
        )


def hold(
    repo: Path,
    transaction: Transaction,
    roles: RoleSet,
    config: PublisherConfig,
    held: tuple[str, str, list[str]],
) -> Held:
    """Keep a built release (staged target files, targets changed in memory) for offline
    signing instead of publishing it; `held` is (version, archive, patches)."""
    check_none_pending(repo)
    draft = roles.targets
    draft.signed.version += 1
    days = config.expiry_days[Role.TARGETS]
    draft.signed.expires = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    draft.signatures.clear()
    staging = repo / f".{PENDING_DIR}.new"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / FILES).mkdir(parents=True)
    for path in transaction.staged_targets.iterdir():
        os.replace(path, staging / FILES / path.name)
    draft.to_file(str(staging / DRAFT_NAME), SERIALIZER)
    version, archive, patches = held
    info = {"version": version, "archive": archive, "patches": patches}
    (staging / INFO_NAME).write_text(json.dumps(info, indent=2) + "\n")
    os.replace(staging, pending_dir(repo))
    return Held(version, archive, patches, pending_dir(repo))


def renew(repo: Path, config: PublisherConfig | None = None) -> Held:
    """Hold the published targets, unchanged but for a new version and expiry, for its
    holders to re-sign (what refresh cannot do without them)."""
    config = config or load_config(repo)
    with locked(repo):
        check_none_pending(repo)
        roles = load_roles(repo)
        transaction = Transaction(repo)
        try:
            return hold(repo, transaction, roles, config, ("", "", []))
        finally:
            transaction.abort()


def _load(repo: Path) -> tuple[SigningRequest, dict]:
    folder = pending_dir(repo)
    if not folder.exists():
        raise OfflineTargetsError(
            "no release is waiting for the targets holders: make one with `repo-tools release`"
        )
    roles = load_roles(repo)
    draft = read_metadata(folder / DRAFT_NAME, Targets)
    info = json.loads((folder / INFO_NAME).read_text())
    return SigningRequest(Role.TARGETS, roles.root, roles.targets, draft), info


def _review(request: SigningRequest) -> TargetsReview:
    role = request.root.signed.roles[Role.TARGETS]
    keys = request.signing_keys()
    result = request.root.signed.get_verification_result(
        Role.TARGETS, request.draft.signed_bytes, request.draft.signatures
    )
    signed_by = [f"{k[:16]} ({holder_of(keys[k])})" for k in sorted(result.signed)]
    return TargetsReview(request.changes(), signed_by, len(result.signed), role.threshold)


def review(repo: Path) -> TargetsReview:
    return _review(_load(repo)[0])


def sign_pending(
    repo: Path, key_file: Path, confirm: Callable[[TargetsReview], bool]
) -> TargetsReview:
    """One targets holder signs the pending release on this machine, after confirming."""
    with locked(repo):
        request, _ = _load(repo)
        shown = _review(request)
        check_signable(request, shown.changes)
        sign_with(request, key_file, lambda _: confirm(shown))
        request.draft.to_file(str(pending_dir(repo) / DRAFT_NAME), SERIALIZER)
        return _review(request)


def export_request(repo: Path, out: Path) -> TargetsReview:
    request, _ = _load(repo)
    shown = _review(request)
    check_signable(request, shown.changes)
    write_request(out, request)
    return shown


def collect(repo: Path, signature_files: list[Path]) -> TargetsReview:
    with locked(repo):
        request, _ = _load(repo)
        keys = request.signing_keys()
        for path in signature_files:
            add_signature(path, Role.TARGETS, request.draft, keys)
        request.draft.to_file(str(pending_dir(repo) / DRAFT_NAME), SERIALIZER)
        return _review(request)


def publish(repo: Path, keys: Path, config: PublisherConfig | None = None) -> TargetsPublished:
    """Publish the pending release once a threshold of targets holders signed it."""
    from repo_tools.verify import repair_hint, verify_repository

    config = config or load_config(repo)
    with locked(repo):
        request, info = _load(repo)
        shown = _review(request)
        check_signable(request, shown.changes)
        if not shown.complete:
            raise OfflineTargetsError(
                f"not enough signatures yet: {shown.describe()}. Each targets holder runs "
                "`repo-tools targets sign --key FILE` (or signs an exported request); nothing "
                "was published"
            )
        roles = load_roles(repo)
        roles.targets = request.draft
        online = keystore.load_all(keys)
        transaction = Transaction(repo)
        try:
            for path in (pending_dir(repo) / FILES).iterdir():
                shutil.copyfile(path, transaction.staged_targets / path.name)
            resign(roles, online, config.expiry_days, (Role.SNAPSHOT, Role.TIMESTAMP))
            transaction.write_roles(roles, {Role.TARGETS, Role.SNAPSHOT, Role.TIMESTAMP})
            # every file the release adds is checked against the signed hashes: they sat in
            # pending-release/ while the holders signed
            base, signed = request.base.signed.targets, request.draft.signed.targets
            new = {name for name, target in signed.items() if base.get(name) != target}
            report = verify_repository(
                repo, 0, transaction.staged_metadata, transaction.staged_targets, new
            )
            if not report.ok:
                raise OfflineTargetsError(
                    "the signed release does not verify as clients would see it, so nothing "
                    f"was published: {'; '.join(report.problems)}. {repair_hint(report.problems)}"
                )
            transaction.commit()
        except BaseException:
            transaction.abort()
            raise
        shutil.rmtree(pending_dir(repo))
        return TargetsPublished(info["version"], request.draft.signed.version)


def abort(repo: Path) -> None:
    with locked(repo):
        if not pending_dir(repo).exists():
            raise OfflineTargetsError("no release is waiting: nothing to abort")
        shutil.rmtree(pending_dir(repo))
