"""Offline root signing ceremonies: key rotation and root changes with a threshold of holders.

A ceremony is a draft of the next root version in `<repo>/ceremony/` (never published):
1. `begin` writes the draft: rotated online keys (a new key is generated next to the old one
   as `online/<role>.next.pem`), root keys added or removed, a new threshold.
2. each holder runs `sign --key their-root-key.pem` on the draft, which first shows what
   changes against the published root (repo_tools.changes) and asks for confirmation; a
   draft that does not follow from the published root, or that `finish` would refuse, is
   never signed. An air-gapped holder gets a signing request (`export`) instead, signs it
   with `sign --request` where there is no repository, and the signature file comes back
   (`collect`; repo_tools.signing_request).
3. `finish` checks the draft carries a threshold of signatures from the current root keys
   *and* from the new root keys (what every client checks), then verifies the staged result
   as a brand-new client would (root chain from `1.root.json`, every role), publishes it,
   puts rotated online keys in place (old ones kept in `retired/`) and re-signs the roles
   they sign. A new root signed by the new holders alone is refused: clients installed
   before the ceremony would reject it and never update again.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tuf.api.metadata import Metadata, Root

from repo_tools import keys as keystore
from repo_tools.changes import FOLLOWS_FIELD, HOLDER_FIELD, Changes, fingerprint, holder_of
from repo_tools.config import PublisherConfig, load_config
from repo_tools.errors import RepoError
from repo_tools.holder_keys import read_public_key
from repo_tools.repository import (
    SERIALIZER,
    Transaction,
    commit_resigned,
    load_roles,
    locked,
    read_metadata,
    sign_with_key,
)
from repo_tools.roles import ONLINE_ROLES, Role, chain_from
from repo_tools.signing_request import SigningRequest, add_signature, check_signable, sign_with

CEREMONY_DIR = "ceremony"
DRAFT_NAME = "root.draft.json"
SET_KEYS_NAME = "keys-set.json"


class CeremonyError(RepoError):
    pass


@dataclass(frozen=True)
class Draft:
    version: int  # the root version the ceremony will publish
    path: Path


@dataclass
class CeremonyStatus:
    version: int
    old_signed: int
    old_threshold: int
    new_signed: int
    new_threshold: int

    @property
    def complete(self) -> bool:
        return self.old_signed >= self.old_threshold and self.new_signed >= self.new_threshold

    def describe(self) -> str:
        return (
            f"root version {self.version}: {self.old_signed}/{self.old_threshold} signatures from "
            f"the current root keys, {self.new_signed}/{self.new_threshold} from the new root keys"
        )


@dataclass(frozen=True)
class DraftSigned:
    keyids: list[str]  # the keys that signed now
    progress: CeremonyStatus  # the draft's signatures after signing


@dataclass(frozen=True)
class RootPublished:
    version: int  # the root version published
    rotated: list[str]  # online roles whose new keys are now in place


def draft_path(repo: Path) -> Path:
    return repo / CEREMONY_DIR / DRAFT_NAME


def next_key_path(keys: Path, role: str) -> Path:
    return keys / "online" / f"{role}.next.pem"


def begin(
    repo: Path,
    keys: Path,
    rotate: list[str],
    add_root_keys: list[Path],
    remove_root_keys: list[str],
    threshold: int | None,
    config: PublisherConfig | None = None,
    *,
    targets_keys: tuple[list[Path], int] | None = None,
) -> Draft:
    """`targets_keys` (public key files, threshold): targets gets exactly these keys, e.g.
    a token's or offline holders'; `finish` signs targets with them (bring them, or the
    token's .signer.json, into the keys folder for it)."""
    config = config or load_config(repo)
    with locked(repo):
        if draft_path(repo).exists():
            raise CeremonyError(
                f"a ceremony is already in progress ({draft_path(repo)}): finish it or "
                "run `repo-tools ceremony abort`"
            )
        roles = load_roles(repo)
        draft = Metadata.from_bytes(roles.root.to_bytes(SERIALIZER))
        try:
            _change_root(
                draft.signed, keys, repo, rotate, add_root_keys, remove_root_keys, threshold
            )
            if targets_keys is not None:
                _set_targets_keys(draft.signed, rotate, *targets_keys)
        except BaseException:
            for role in rotate:  # a failed begin leaves no half-rotated key behind
                next_key_path(keys, role).unlink(missing_ok=True)
            raise
        draft.signed.version += 1
        draft.signed.unrecognized_fields[FOLLOWS_FIELD] = fingerprint(roles.root)
        draft.signed.expires = datetime.now(UTC).replace(microsecond=0) + timedelta(
            days=config.expiry_days[Role.ROOT]
        )
        draft.signatures.clear()
        draft_path(repo).parent.mkdir(exist_ok=True)
        draft.to_file(str(draft_path(repo)), SERIALIZER)
        if targets_keys is not None:
            (repo / CEREMONY_DIR / SET_KEYS_NAME).write_text(json.dumps([str(Role.TARGETS)]))
        return Draft(draft.signed.version, draft_path(repo))


def _set_targets_keys(root: Root, rotate: list[str], public: list[Path], threshold: int) -> None:
    if Role.TARGETS in rotate:
        raise CeremonyError("give either --rotate targets or --targets-key, not both")
    if not 1 <= threshold <= len(public):
        raise CeremonyError(
            f"targets threshold {threshold} needs between 1 and {len(public)} targets keys"
        )
    new_keys = [read_public_key(path) for path in public]
    for keyid in list(root.roles[Role.TARGETS].keyids):
        root.revoke_key(keyid, Role.TARGETS)
    for key in new_keys:
        root.add_key(key, Role.TARGETS)
    root.roles[Role.TARGETS].threshold = threshold


def _keys_set(repo: Path) -> list[str]:
    """Roles whose keys this ceremony set from public key files (`--targets-key`)."""
    path = repo / CEREMONY_DIR / SET_KEYS_NAME
    return list(json.loads(path.read_text())) if path.exists() else []


def _change_root(
    root: Root,
    keys: Path,
    repo: Path,
    rotate: list[str],
    add_root_keys: list[Path],
    remove_root_keys: list[str],
    threshold: int | None,
) -> None:
    """Apply the requested key changes to the draft's signed root (validated first)."""
    for role in rotate:
        if role not in ONLINE_ROLES:
            raise CeremonyError(
                f"cannot rotate {role!r} here: rotate one of {', '.join(ONLINE_ROLES)}"
                "; root keys change with --add-root-key/--remove-root-key"
            )
        if next_key_path(keys, role).exists():
            raise CeremonyError(f"{next_key_path(keys, role)} exists: abort the old ceremony")
    new_root_keys = [read_public_key(p) for p in add_root_keys]
    for key in new_root_keys:
        root.add_key(key, Role.ROOT)
    for prefix in remove_root_keys:
        matches = [k for k in root.roles[Role.ROOT].keyids if k.startswith(prefix)]
        if len(matches) != 1:
            raise CeremonyError(f"root key id {prefix!r} matches {len(matches)} keys")
        root.revoke_key(matches[0], Role.ROOT)
    if threshold is not None:
        root.roles[Role.ROOT].threshold = threshold
    if not 1 <= root.roles[Role.ROOT].threshold <= len(root.roles[Role.ROOT].keyids):
        raise CeremonyError(
            f"root threshold {root.roles[Role.ROOT].threshold} needs between 1 and "
            f"{len(root.roles[Role.ROOT].keyids)} root keys"
        )
    for role in rotate:
        new_key = keystore.generate(next_key_path(keys, role), repo).signer.public_key
        new_key.unrecognized_fields[HOLDER_FIELD] = f"online {role} key"
        for keyid in list(root.roles[role].keyids):
            root.revoke_key(keyid, role)
        root.add_key(new_key, role)


def _load_draft(repo: Path) -> Metadata[Root]:
    if not draft_path(repo).exists():
        raise CeremonyError("no ceremony in progress: start one with `repo-tools ceremony begin`")
    return read_metadata(draft_path(repo), Root)


def _root_keyids(current: Root, draft: Metadata[Root]) -> set[str]:
    """Keys whose signature counts: root keys of the current or of the new root."""
    return set(current.roles[Role.ROOT].keyids) | set(draft.signed.roles[Role.ROOT].keyids)


@dataclass(frozen=True)
class Review:
    """What a holder is shown: the changes, the signatures so far and whose they are."""

    changes: Changes
    progress: CeremonyStatus
    signed_by: list[str]  # "keyid (holder)" of every valid signature on the draft

    def text(self) -> str:
        who = ", ".join(self.signed_by) or "nobody yet"
        return f"{self.changes.text()}\nsigned by: {who}\n{self.progress.describe()}"


def _request(repo: Path, draft: Metadata[Root]) -> SigningRequest:
    current = load_roles(repo).root
    return SigningRequest(Role.ROOT, current, current, draft)


def _review(repo: Path, keys: Path, request: SigningRequest) -> Review:
    changes = request.changes()
    old, new = request.root.signed, request.draft.signed
    set_here = _keys_set(repo)
    for role in ONLINE_ROLES:  # finish puts <role>.next.pem in place of a changed online key
        changed = set(old.roles[role].keyids) != set(new.roles[role].keyids)
        if changed and role not in set_here and not next_key_path(keys, role).exists():
            changes.problems.append(
                f"the draft changes the {role} keys, but this ceremony made no new {role} key "
                f"({next_key_path(keys, role)}): finish could not sign {role}"
            )
    valid = request.signing_keys()
    signed_by = []
    for keyid, signature in request.draft.signatures.items():
        try:
            valid[keyid].verify_signature(signature, request.draft.signed_bytes)
        except Exception:  # not a key of the ceremony, or a signature over other bytes
            continue
        signed_by.append(f"{keyid[:16]} ({holder_of(valid[keyid])})")
    return Review(changes, _progress(request.draft, old), signed_by)


def review(repo: Path, keys: Path) -> Review:
    """`ceremony status`: the draft's changes against the published root, its signatures."""
    return _review(repo, keys, _request(repo, _load_draft(repo)))


def sign_draft(
    repo: Path, key_file: Path, keys: Path, confirm: Callable[[Review], bool]
) -> DraftSigned:
    """Add one holder's signature after they confirmed the review; the progress is counted
    on the same reading of the draft and the current root."""
    with locked(repo):
        request = _request(repo, _load_draft(repo))
        shown = _review(repo, keys, request)
        check_signable(request, shown.changes)
        signature = sign_with(request, key_file, lambda _: confirm(shown))
        request.draft.to_file(str(draft_path(repo)), SERIALIZER)
        return DraftSigned([signature.keyid], _progress(request.draft, request.root.signed))


def export_request(repo: Path, keys: Path, out: Path) -> Review:
    """A signing request for air-gapped holders (refused when the draft has a problem)."""
    from repo_tools.signing_request import write_request

    request = _request(repo, _load_draft(repo))
    shown = _review(repo, keys, request)
    check_signable(request, shown.changes)
    write_request(out, request)
    return shown


def collect(repo: Path, signature_files: list[Path]) -> DraftSigned:
    """Add signature files made from a signing request to the draft (each one checked)."""
    with locked(repo):
        request = _request(repo, _load_draft(repo))
        allowed = request.signing_keys()
        added = [add_signature(p, Role.ROOT, request.draft, allowed) for p in signature_files]
        request.draft.to_file(str(draft_path(repo)), SERIALIZER)
        return DraftSigned(added, _progress(request.draft, request.root.signed))


def sign_with_local_root_keys(repo: Path, keys: Path) -> DraftSigned:
    """Sign the draft with every root key found in `<keys>/offline/`."""
    draft = _load_draft(repo)
    current = load_roles(repo).root.signed
    allowed = _root_keyids(current, draft)
    signed = []
    for path in sorted((keys / "offline").glob("*.pem")):
        stored = keystore.load(path)
        if stored.keyid in allowed:
            sign_with_key(draft, stored)
            signed.append(stored.keyid)
    draft.to_file(str(draft_path(repo)), SERIALIZER)
    return DraftSigned(signed, _progress(draft, current))


def status(repo: Path) -> CeremonyStatus:
    return _progress(_load_draft(repo), load_roles(repo).root.signed)


def _progress(draft: Metadata[Root], old: Root) -> CeremonyStatus:
    """Signatures on the draft counted against both thresholds (what every client checks)."""
    old_result = old.get_verification_result(Role.ROOT, draft.signed_bytes, draft.signatures)
    new_result = draft.signed.get_verification_result(
        Role.ROOT, draft.signed_bytes, draft.signatures
    )
    return CeremonyStatus(
        draft.signed.version,
        len(old_result.signed),
        old_result.threshold,
        len(new_result.signed),
        new_result.threshold,
    )


def finish(repo: Path, keys: Path, config: PublisherConfig | None = None) -> RootPublished:
    config = config or load_config(repo)
    with locked(repo):
        draft = _load_draft(repo)
        roles = load_roles(repo)
        if draft.signed.version != roles.root.signed.version + 1:
            raise CeremonyError(
                f"root changed since this ceremony began (now version {roles.root.signed.version},"
                f" the draft is {draft.signed.version}): run `repo-tools ceremony abort` and "
                "begin again"
            )
        request = SigningRequest(Role.ROOT, roles.root, roles.root, draft)
        check_signable(request, _review(repo, keys, request).changes)
        progress = _progress(draft, roles.root.signed)
        if not progress.complete:
            missing = _missing(progress)
            raise CeremonyError(f"not enough signatures yet: {progress.describe()}{missing}")
        rotated: list[str] = [r for r in ONLINE_ROLES if next_key_path(keys, r).exists()]
        set_here = _keys_set(repo)
        roles_to_sign = {r for role in [*rotated, *set_here] for r in chain_from(role)}
        roles.root = draft
        stored = keystore.load_all(keys)
        commit_resigned(
            repo,
            roles,
            stored,
            config.expiry_days,
            roles_to_sign,
            also=frozenset({Role.ROOT}),
            check=_verify_as_installed_clients,
        )
        _retire_rotated_keys(keys, rotated)
        for role in set_here:  # an online key the new root no longer names is retired
            _retire_unnamed(keys, role, stored, draft.signed)
        shutil.rmtree(repo / CEREMONY_DIR)
        return RootPublished(draft.signed.version, rotated)


def _missing(progress: CeremonyStatus) -> str:
    """What the holders still have to do, and why (installed clients check both thresholds)."""
    hints = []
    if progress.old_signed < progress.old_threshold:
        hints.append(
            f"{progress.old_threshold - progress.old_signed} more holder(s) of the CURRENT root "
            "keys must sign: every client installed today accepts the new root only when a "
            "threshold of the keys it already trusts signed it, and would otherwise refuse "
            "every update from now on"
        )
    if progress.new_signed < progress.new_threshold:
        hints.append(
            f"{progress.new_threshold - progress.new_signed} more holder(s) of the new root "
            "keys must sign (the new root must meet its own threshold)"
        )
    return ". " + "; ".join(hints) + ": each runs `repo-tools ceremony sign --key FILE`"


def _verify_as_installed_clients(transaction: Transaction) -> None:
    """The staged root (and re-signed roles) as a new client walks them from 1.root.json,
    which is also what every installed client does from the root it trusts."""
    from repo_tools.verify import repair_hint, verify_repository

    report = verify_repository(
        transaction.repo, 0, transaction.staged_metadata, transaction.staged_targets, set()
    )
    if not report.ok:
        raise CeremonyError(
            "the new root does not verify as installed clients would check it, so nothing "
            f"was published: {'; '.join(report.problems)}. {repair_hint(report.problems)}; "
            "then `repo-tools ceremony abort` and begin again"
        )


def _retire_rotated_keys(keys: Path, rotated: list[str]) -> None:
    retired = keys / "retired"
    retired.mkdir(exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for role in rotated:
        current = keystore.online_key_path(keys, role)
        if current.exists():
            current.rename(retired / f"{role}-{stamp}.pem")
        next_key_path(keys, role).rename(current)


def _retire_unnamed(keys: Path, role: str, stored: list[keystore.StoredKey], root: Root) -> None:
    current = keystore.online_key_path(keys, role)
    for key in stored:
        if key.path == current and key.keyid not in root.roles[role].keyids:
            retired = keys / "retired"
            retired.mkdir(exist_ok=True, mode=0o700)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            current.rename(retired / f"{role}-{stamp}.pem")


def abort(repo: Path, keys: Path) -> None:
    pending = [next_key_path(keys, role) for role in ONLINE_ROLES]
    if not draft_path(repo).exists() and not any(p.exists() for p in pending):
        raise CeremonyError("no ceremony in progress: nothing to abort")
    with locked(repo):
        for role in ONLINE_ROLES:
            next_key_path(keys, role).unlink(missing_ok=True)
        shutil.rmtree(repo / CEREMONY_DIR, ignore_errors=True)
