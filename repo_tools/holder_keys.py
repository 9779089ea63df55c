"""Keys of the people who sign offline: a new key for a holder, a token's key, public parts.

A holder's public part is a `.pub.json` file (key id, key, the holder's name) that travels to
the repository machine for `ceremony begin --add-root-key`; the private key never does. A new
key file is encrypted with a passphrase unless the holder explicitly asks for a plain one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from securesystemslib.signer import SSlibKey

from repo_tools import keys as keystore
from repo_tools.changes import HOLDER_FIELD
from repo_tools.errors import RepoError


class HolderKeyError(RepoError):
    """A holder's key cannot be made or read."""


@dataclass(frozen=True)
class NewKey:
    private: Path  # keep it offline
    public: Path  # share this one (.pub.json)


def write_public_key(path: Path, key: SSlibKey) -> None:
    keystore.write_public_part(path, key)


def read_public_key(path: Path) -> SSlibKey:
    try:
        return keystore.read_public_part(path)
    except keystore.KeyFileError as error:
        raise HolderKeyError(str(error)) from error


def keygen(path: Path, repo: Path, holder: str, passphrase: str | None) -> NewKey:
    """A new root key for a holder: private key at path (encrypted with `passphrase` when
    given), public part, with the holder's name, at path + .pub.json."""
    if path.exists():
        raise HolderKeyError(f"{path} exists: choose a new file name")
    stored = keystore.generate(path, repo, passphrase)
    public = path.with_name(path.name + ".pub.json")
    key = stored.signer.public_key
    key.unrecognized_fields[HOLDER_FIELD] = holder
    write_public_key(public, key)
    return NewKey(path, public)


def import_token_key(path: Path, hsm_keyid: int, token_label: str | None, holder: str) -> NewKey:
    """A root (or targets) key held by a PKCS#11 token: its signer reference at path (a
    NAME.signer.json) and its public part at path + .pub.json."""
    from securesystemslib.signer import HSMSigner

    from repo_tools.passphrase import Secret, obtain

    if path.exists():
        raise HolderKeyError(f"{path} exists: choose a new file name")
    try:
        uri, key = HSMSigner.import_(
            hsm_keyid, token_label, lambda _: obtain(Secret.PIN, "the token")
        )
    except Exception as error:  # a missing library, token or key: securesystemslib's words
        raise HolderKeyError(
            f"cannot read key {hsm_keyid} from the PKCS#11 token: {error}. Set PYKCS11LIB to "
            "the token's library, create an ECDSA P-256 key with that id on it first"
        ) from error
    key.unrecognized_fields[HOLDER_FIELD] = holder
    keystore.write_signer_reference(path, uri, key)
    public = path.with_name(path.name + ".pub.json")
    write_public_key(public, key)
    return NewKey(path, public)
