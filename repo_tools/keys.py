"""Signing keys on disk: generation, safe storage, loading signers for a role.

Layout (see keys.example/README.md):
    <keys>/online/targets.pem, snapshot.pem, timestamp.pem   used by release and refresh
    <keys>/offline/root-1.pem ... root-N.pem                 one per root key holder

Private keys are PKCS#8 PEM files, mode 0600, optionally encrypted with a passphrase
(repo_tools.passphrase says where it comes from). They are never written inside the
repository folder nor anywhere git would track them.

A key can also live elsewhere, named by a signer reference file `NAME.signer.json` in place of
a PEM file: `{"uri": ..., "public_key": {...}}` with a securesystemslib signer URI, e.g.
`hsm:2?label=holder-a` for a PKCS#11 token (YubiKey, HSM, SoftHSM2; the library is named by
the PYKCS11LIB environment variable, the PIN comes from repo_tools.passphrase). The file holds
no secret; the signer it names is used wherever a key file would be.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, Signer, SSlibKey

from repo_tools.errors import RepoError
from repo_tools.passphrase import Secret, SecretError, new_passphrase, obtain

if TYPE_CHECKING:
    from tuf.api.metadata import Root


class KeyFileError(RepoError, ValueError):
    """A key is missing, unreadable, misplaced or does not fit the role."""


@dataclass(frozen=True)
class StoredKey:
    path: Path
    signer: Signer

    @property
    def keyid(self) -> str:
        return self.signer.public_key.keyid


def online_key_path(keys: Path, role: str) -> Path:
    return keys / "online" / f"{role}.pem"


def root_key_path(keys: Path, number: int) -> Path:
    return keys / "offline" / f"root-{number}.pem"


SIGNER_SUFFIX = ".signer.json"  # a signer reference file (a key held by a token or a service)


def _git_tracks_or_could_track(path: Path) -> bool:
    """True when path lies in a git work tree and is not ignored (or is already tracked)."""
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    try:
        inside = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False  # no git here: nothing can track the file
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return False
    ignored = subprocess.run(
        ["git", "-C", str(folder), "check-ignore", "-q", "--no-index", str(path.resolve())],
        capture_output=True,
        timeout=10,
    )
    return ignored.returncode != 0


def check_key_location(path: Path, repo: Path) -> None:
    """Refuse a private key path inside the published repository or a git-tracked place."""
    resolved = path.resolve()
    if resolved.is_relative_to(repo.resolve()):
        raise KeyFileError(
            f"refusing to write private key {path} inside the repository folder {repo}: "
            "use a keys folder outside it (default keys/)"
        )
    if _git_tracks_or_could_track(path):
        raise KeyFileError(
            f"refusing to write private key {path}: git could track it. Add its folder to "
            ".gitignore or choose a keys folder outside the work tree"
        )


def generate(path: Path, repo: Path, passphrase: str | None = None) -> StoredKey:
    """Create a new ed25519 key at path (which must not exist yet), encrypted with
    `passphrase` when one is given."""
    check_key_location(path, repo)
    private_key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_new(path, _pem(private_key, passphrase))
    public = SSlibKey.from_crypto(private_key.public_key(), scheme="ed25519")
    return StoredKey(path, CryptoSigner(private_key, public))


def _pem(private_key: Ed25519PrivateKey, passphrase: str | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
    if passphrase is not None:
        encryption = serialization.BestAvailableEncryption(passphrase.encode())
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _write_new(path: Path, data: bytes) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(data)


def load(path: Path) -> StoredKey:
    """The key of a PEM file (a passphrase is asked for when it is encrypted) or of a signer
    reference file."""
    if path.name.endswith(SIGNER_SUFFIX):
        return _load_reference(path)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise KeyFileError(
            f"private key {path} can be read by other users (mode "
            f"{oct(path.stat().st_mode & 0o777)}): run `chmod 600 {path}` and try again"
        )
    data = path.read_bytes()
    sidecar = public_part_path(path)
    if is_encrypted(data) and sidecar.exists():
        # the passphrase is asked for only when this key signs: commands load every key
        # of the folder, most of which they never use
        return StoredKey(path, _DeferredSigner(path, read_public_part(sidecar)))
    private_key = _decode(path, data)
    public = SSlibKey.from_crypto(private_key.public_key(), scheme="ed25519")
    return StoredKey(path, CryptoSigner(private_key, public))


def public_part_path(path: Path) -> Path:
    """Where a key file's public part is kept (`keygen`, `encrypt-key`): NAME.pem.pub.json."""
    return path.with_name(path.name + ".pub.json")


def write_public_part(path: Path, key: SSlibKey) -> None:
    path.write_text(json.dumps({"keyid": key.keyid, **key.to_dict()}, indent=2) + "\n")


def read_public_part(path: Path) -> SSlibKey:
    try:
        data = json.loads(path.read_text())
        return SSlibKey.from_dict(data.pop("keyid"), data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise KeyFileError(f"{path} is not a public key file from `repo-tools keygen`") from error


class _DeferredSigner(Signer):
    """An encrypted key file whose public part is known: decrypted when it first signs, and
    refused if the decrypted key is not the one its public part names."""

    def __init__(self, path: Path, public: SSlibKey) -> None:
        self._path, self._public = path, public
        self._signer: CryptoSigner | None = None

    @property
    def public_key(self) -> SSlibKey:
        return self._public

    @classmethod
    def from_priv_key_uri(cls, priv_key_uri, public_key, secrets_handler=None):  # noqa: ANN001, ANN206
        raise ValueError("a deferred key file has no URI")

    def sign(self, payload: bytes):  # noqa: ANN201
        if self._signer is None:
            private_key = _decode(self._path, self._path.read_bytes())
            actual = SSlibKey.from_crypto(private_key.public_key(), scheme="ed25519")
            if actual.keyval != self._public.keyval:
                raise KeyFileError(
                    f"{self._path} does not hold the key its public part "
                    f"{public_part_path(self._path).name} names: restore the right pair"
                )
            self._signer = CryptoSigner(private_key, self._public)
        return self._signer.sign(payload)


def is_encrypted(data: bytes) -> bool:
    try:
        serialization.load_pem_private_key(data, password=None)
    except TypeError:
        return True  # "password was not given but private key is encrypted"
    except ValueError:
        return False
    return False


def _decode(path: Path, data: bytes) -> Ed25519PrivateKey:
    password = None
    if is_encrypted(data):
        password = obtain(Secret.PASSPHRASE, f"private key {path}").encode()
    try:
        private_key = serialization.load_pem_private_key(data, password=password)
    except ValueError as error:
        if password is not None:
            raise SecretError(
                f"wrong passphrase for private key {path}: nothing was signed or written. "
                "Type it again, or fix REPO_TOOLS_PASSPHRASE_FILE / REPO_TOOLS_PASSPHRASE"
            ) from error
        raise KeyFileError(f"cannot read private key {path}: {error}") from error
    except TypeError as error:
        raise KeyFileError(f"cannot read private key {path}: {error}") from error
    if not isinstance(private_key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an ed25519 private key")
    return private_key


def protect(path: Path) -> StoredKey:
    """Encrypt an existing plain key file in place with a new passphrase (atomic: the file is
    either the old plain key or the new encrypted one)."""
    if path.name.endswith(SIGNER_SUFFIX):
        raise KeyFileError(f"{path} names a key held elsewhere: its token protects it")
    data = path.read_bytes()
    if is_encrypted(data):
        raise KeyFileError(f"{path} is already encrypted: nothing changed")
    private_key = _decode(path, data)
    public = SSlibKey.from_crypto(private_key.public_key(), scheme="ed25519")
    staged = path.with_name(f".{path.name}.new")
    staged.unlink(missing_ok=True)
    _write_new(staged, _pem(private_key, new_passphrase(f"private key {path}")))
    os.replace(staged, path)
    if not public_part_path(path).exists():
        write_public_part(public_part_path(path), public)
    return StoredKey(path, CryptoSigner(private_key, public))


def write_signer_reference(path: Path, uri: str, public_key: SSlibKey) -> None:
    """Name a key held by a token or a service (no secret in the file)."""
    if not path.name.endswith(SIGNER_SUFFIX):
        raise KeyFileError(f"{path}: a signer reference file name ends with {SIGNER_SUFFIX}")
    document = {"uri": uri, "public_key": {"keyid": public_key.keyid, **public_key.to_dict()}}
    path.write_text(json.dumps(document, indent=2) + "\n")


def _load_reference(path: Path) -> StoredKey:
    try:
        document = json.loads(path.read_text())
        uri = document["uri"]
        key_data = dict(document["public_key"])
        public = SSlibKey.from_dict(key_data.pop("keyid"), key_data)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise KeyFileError(
            f"{path} is not a signer reference file ({{uri, public_key}}): {error}"
        ) from error

    def secrets(_: str) -> str:
        return obtain(Secret.PIN, f"the token holding {path.name}")

    try:
        signer = Signer.from_priv_key_uri(uri, public, secrets)
    except (ValueError, OSError) as error:
        raise KeyFileError(f"cannot use the signer {uri!r} named by {path}: {error}") from error
    except Exception as error:  # securesystemslib reports a missing library this way
        raise KeyFileError(
            f"cannot use the signer {uri!r} named by {path}: {error}. For hsm: URIs install "
            "secure-updater[hsm] and set PYKCS11LIB to the token's PKCS#11 library"
        ) from error
    return StoredKey(path, signer)


def load_all(keys: Path) -> list[StoredKey]:
    """Every private key found in the keys folder (online and offline)."""
    found = [*keys.glob("*/*.pem"), *keys.glob(f"*/*{SIGNER_SUFFIX}")]
    return [load(p) for p in sorted(found) if p.parent.name != "retired"]


def signers_for(keyids: list[str], stored: list[StoredKey]) -> list[StoredKey]:
    return [k for k in stored if k.keyid in keyids]


@dataclass(frozen=True)
class RoleSigners:
    """The keys root names for a role, its threshold, and which of them are at hand."""

    role: str
    keyids: list[str]
    threshold: int
    found: list[StoredKey]

    @property
    def enough(self) -> bool:
        """True when the keys at hand can sign the role (the one rule for "enough keys")."""
        return len(self.found) >= self.threshold


def role_signers(root: Root, role: str, stored: list[StoredKey]) -> RoleSigners:
    role_keys = root.roles[role]
    keyids = list(role_keys.keyids)
    return RoleSigners(role, keyids, role_keys.threshold, signers_for(keyids, stored))
