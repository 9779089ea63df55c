"""Signing keys on disk: generation, safe storage, loading signers for a role.

Layout (see keys.example/README.md):
    <keys>/online/targets.pem, snapshot.pem, timestamp.pem   used by release and refresh
    <keys>/offline/root-1.pem ... root-N.pem                 one per root key holder

Private keys are PKCS#8 PEM files, mode 0600. They are never written inside the repository
folder nor anywhere git would track them.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, SSlibKey

from repo_tools.errors import RepoError

if TYPE_CHECKING:
    from tuf.api.metadata import Root


class KeyFileError(RepoError, ValueError):
    """A key is missing, unreadable, misplaced or does not fit the role."""


@dataclass(frozen=True)
class StoredKey:
    path: Path
    signer: CryptoSigner

    @property
    def keyid(self) -> str:
        return self.signer.public_key.keyid


def online_key_path(keys: Path, role: str) -> Path:
    return keys / "online" / f"{role}.pem"


def root_key_path(keys: Path, number: int) -> Path:
    return keys / "offline" / f"root-{number}.pem"


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


def generate(path: Path, repo: Path) -> StoredKey:
    """Create a new ed25519 key at path (which must not exist yet)."""
    check_key_location(path, repo)
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(pem)
    public = SSlibKey.from_crypto(private_key.public_key(), scheme="ed25519")
    return StoredKey(path, CryptoSigner(private_key, public))


def load(path: Path) -> StoredKey:
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise KeyFileError(
            f"private key {path} can be read by other users (mode "
            f"{oct(path.stat().st_mode & 0o777)}): run `chmod 600 {path}` and try again"
        )
    try:
        private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise KeyFileError(f"cannot read private key {path}: {error}") from error
    if not isinstance(private_key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an ed25519 private key")
    public = SSlibKey.from_crypto(private_key.public_key(), scheme="ed25519")
    return StoredKey(path, CryptoSigner(private_key, public))


def load_all(keys: Path) -> list[StoredKey]:
    """Every private key found in the keys folder (online and offline)."""
    return [load(p) for p in sorted(keys.glob("*/*.pem"))]


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
