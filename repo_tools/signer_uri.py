"""`repo-tools use-signer ROLE --uri URI`: an online role's key held elsewhere.

Writes `<keys>/online/<role>.signer.json` (repo_tools.keys: a signer reference, no secret)
naming the key root already lists for the role and the securesystemslib signer URI that holds
it: `hsm:...` for a PKCS#11 token, `file2:PATH` for a key file kept outside the keys folder
(e.g. a CI secret mounted as a file), or a key service's URI (awskms:, gcpkms:, azurekms:,
hv:, each needing securesystemslib's extra for it). Before writing, the signer signs a test
message that must verify with the role's key: a URI naming another key is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from securesystemslib.exceptions import UnverifiedSignatureError
from tuf.api.metadata import Key

from repo_tools import keys as keystore
from repo_tools.errors import RepoError
from repo_tools.repository import load_roles
from repo_tools.roles import ONLINE_ROLES


class SignerUriError(RepoError):
    """The URI cannot sign for the role: nothing was written."""


@dataclass(frozen=True)
class SignerConfigured:
    role: str
    keyid: str
    path: Path


def use_signer(repo: Path, keys: Path, role: str, uri: str, keyid: str | None) -> SignerConfigured:
    if role not in ONLINE_ROLES:
        raise SignerUriError(f"{role} is not an online role: use one of {', '.join(ONLINE_ROLES)}")
    root = load_roles(repo).root.signed
    ids = [k for k in root.roles[role].keyids if keyid is None or k.startswith(keyid)]
    if len(ids) != 1:
        raise SignerUriError(
            f"root names {len(ids)} {role} key(s) matching {keyid or 'any id'}: give --key-id"
        )
    public = root.keys[ids[0]]
    path = keys / "online" / f"{role}{keystore.SIGNER_SUFFIX}"
    if path.exists():
        raise SignerUriError(f"{path} exists: remove it first to name another signer")
    staged = path.with_name(f".new-{path.name}")  # not loaded by load_all (a hidden name)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    keystore.write_signer_reference(staged, uri, public)  # type: ignore[arg-type]
    try:
        _check_signs_as(staged, public, uri, f"the {role} key {ids[0][:12]} root names")
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    staged.replace(path)
    return SignerConfigured(role, ids[0], path)


def _check_signs_as(reference: Path, public: Key, uri: str, what: str) -> None:
    try:
        signer = keystore.load(reference).signer
        message = secrets.token_bytes(32)
        public.verify_signature(signer.sign(message), message)
    except UnverifiedSignatureError as error:
        raise SignerUriError(
            f"the signer {uri!r} does not sign as {what}: nothing was written"
        ) from error
    except (RepoError, ValueError, OSError) as error:
        raise SignerUriError(
            f"the signer {uri!r} cannot sign: {error}; nothing was written"
        ) from error
