"""Air-gapped signing: a signing request goes to a holder, a signature file comes back.

A signing request is one small JSON file holding everything a holder's machine needs, and
nothing secret: the published root (whose keys may sign), the published version of the role
(what the draft replaces) and the draft. On a machine with neither the repository nor a
network, `ceremony sign --request FILE --key KEY` (or `targets sign --request ...`) shows the
changes (repo_tools.changes), refuses a draft with a problem, asks for confirmation, and
writes a signature file: the key id, the signature, and the role, version and sha256 of the
signed bytes it belongs to. The repository machine collects it (`ceremony collect`, `targets
collect`) after checking the signature against the draft it holds, so a signature made over
an altered request counts for nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import Signature
from tuf.api.metadata import Key, Metadata, Root, Signed, Targets

from repo_tools import keys as keystore
from repo_tools.changes import Changes, compare_roots, compare_targets
from repo_tools.errors import RepoError
from repo_tools.repository import sign_with_key
from repo_tools.roles import Role

REQUEST_KIND = "repo-tools signing request"
SIGNATURE_KIND = "repo-tools signature"
FORMAT = 1


class SigningError(RepoError):
    """A request, a signature file or a key cannot be used for signing: nothing was signed."""


class NotConfirmed(SigningError):
    """The holder did not confirm what they were shown: nothing was signed."""


@dataclass(frozen=True)
class SigningRequest:
    role: Role  # Role.ROOT or Role.TARGETS
    root: Metadata[Root]  # the published root: whose keys may sign
    base: Metadata  # the published version of the role (the root itself for root)
    draft: Metadata  # what is signed

    def changes(self, now: datetime | None = None) -> Changes:
        now = now or datetime.now(UTC)
        if self.role == Role.ROOT:
            return compare_roots(self.base, self.draft, now)
        return compare_targets(self.base, self.draft, now)

    def signing_keys(self) -> dict[str, Key]:
        """The keys whose signature counts: root keys of the published or the draft root,
        or the published root's targets keys."""
        if self.role == Role.ROOT:
            found = {k: self.root.signed.keys[k] for k in self.root.signed.roles[Role.ROOT].keyids}
            draft_root: Root = self.draft.signed
            found.update({k: draft_root.keys[k] for k in draft_root.roles[Role.ROOT].keyids})
            return found
        role = self.root.signed.roles[Role.TARGETS]
        return {k: self.root.signed.keys[k] for k in role.keyids}

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": REQUEST_KIND,
            "format": FORMAT,
            "role": str(self.role),
            "root": self.root.to_dict(),
            "base": self.base.to_dict() if self.role != Role.ROOT else None,
            "draft": self.draft.to_dict(),
        }


def write_request(path: Path, request: SigningRequest) -> None:
    path.write_text(json.dumps(request.to_json(), indent=1, sort_keys=True) + "\n")


def _metadata(data: Any, kind: type[Signed]) -> Metadata:
    md = Metadata.from_dict(dict(data))
    if not isinstance(md.signed, kind):
        raise TypeError(f"expected {kind.type} metadata, found {md.signed.type}")
    return md


def read_request(path: Path) -> SigningRequest:
    try:
        data = json.loads(path.read_text())
        if data.get("kind") != REQUEST_KIND or data.get("format") != FORMAT:
            raise ValueError("not a repo-tools signing request (format 1)")
        role = Role(data["role"])
        if role not in (Role.ROOT, Role.TARGETS):
            raise ValueError(f"role {role} is never signed offline")
        root = _metadata(data["root"], Root)
        kind = Root if role == Role.ROOT else Targets
        base = root if role == Role.ROOT else _metadata(data["base"], Targets)
        return SigningRequest(role, root, base, _metadata(data["draft"], kind))
    except OSError as error:
        raise SigningError(f"cannot read the signing request {path}: {error}") from error
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise SigningError(
            f"{path} is not a usable signing request ({error}): export a new one with "
            "`repo-tools ceremony export` (or `targets export`) on the repository machine"
        ) from error


def check_signable(request: SigningRequest, changes: Changes) -> None:
    if changes.problems:
        raise SigningError(
            f"refusing to sign this {request.role} draft: {'; '.join(changes.problems)}. "
            "Nothing was signed: ask for a new draft (abort and begin again)"
        )


def sign_with(
    request: SigningRequest, key_file: Path, confirm: Callable[[Changes], bool]
) -> Signature:
    """Check the draft, let the holder confirm the changes, then sign with one key."""
    changes = request.changes()
    check_signable(request, changes)
    if not confirm(changes):
        raise NotConfirmed(f"not confirmed: the {request.role} draft was not signed")
    stored = keystore.load(key_file)
    if stored.keyid not in request.signing_keys():
        whose = "the current or the new root" if request.role == Role.ROOT else "the root"
        raise SigningError(
            f"{key_file} (key id {stored.keyid[:12]}) is not a {request.role} key of {whose}: "
            "nothing was signed"
        )
    return sign_with_key(request.draft, stored, SigningError, "Nothing was signed")


def signature_path(folder: Path, request: SigningRequest, keyid: str) -> Path:
    return folder / f"{request.role}-v{request.draft.signed.version}-{keyid[:12]}.sig.json"


def write_signature(path: Path, request: SigningRequest, signature: Signature) -> None:
    document = {
        "kind": SIGNATURE_KIND,
        "format": FORMAT,
        "role": str(request.role),
        "version": request.draft.signed.version,
        "signed_sha256": hashlib.sha256(request.draft.signed_bytes).hexdigest(),
        "signature": signature.to_dict(),
    }
    if path.exists():
        raise SigningError(f"{path} exists: move it away or give another --out")
    path.write_text(json.dumps(document, indent=2) + "\n")


def add_signature(path: Path, role: Role, draft: Metadata, keys: dict[str, Key]) -> str:
    """Check one signature file against the draft and the allowed keys, then add it to the
    draft (in memory); its key id."""
    try:
        data = json.loads(path.read_text())
        if data.get("kind") != SIGNATURE_KIND or data.get("format") != FORMAT:
            raise ValueError("not a repo-tools signature file (format 1)")
        signature = Signature.from_dict(dict(data["signature"]))
        claimed = (data["role"], data["version"], data["signed_sha256"])
    except OSError as error:
        raise SigningError(f"cannot read the signature file {path}: {error}") from error
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise SigningError(f"{path} is not a usable signature file: {error}") from error
    digest = hashlib.sha256(draft.signed_bytes).hexdigest()
    if claimed != (str(role), draft.signed.version, digest):
        raise SigningError(
            f"{path} signs {claimed[0]} version {claimed[1]} with content {str(claimed[2])[:16]}, "
            f"not the {role} draft here (version {draft.signed.version}, {digest[:16]}): it was "
            "made from another or an altered request. Nothing was added"
        )
    key = keys.get(signature.keyid)
    if key is None:
        raise SigningError(
            f"{path} is signed by key {signature.keyid}, which may not sign this {role} "
            "draft. Nothing was added"
        )
    try:
        key.verify_signature(signature, draft.signed_bytes)
    except UnverifiedSignatureError as error:
        raise SigningError(
            f"{path}: the signature of key {signature.keyid} does not verify over the draft. "
            "Nothing was added"
        ) from error
    draft.signatures[signature.keyid] = signature
    return signature.keyid
