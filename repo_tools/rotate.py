"""`repo-tools rotate-key ROLE`: a new key for an online role in one step.

A ceremony (repo_tools.ceremony) begun, signed with every root key found in
`<keys>/offline/`, and finished at once when those reach both root thresholds. With fewer
root keys at hand the draft stays for the other holders (`ceremony sign`, then `ceremony
finish`). A rotation that cannot even be signed is abandoned: no draft, no new key left.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from repo_tools import ceremony
from repo_tools.config import PublisherConfig, load_config
from repo_tools.errors import RepoError


class RotationAbandoned(ceremony.CeremonyError):
    """Signing the rotation failed; its ceremony was aborted, nothing changed."""


@dataclass(frozen=True)
class Rotation:
    role: str
    progress: ceremony.CeremonyStatus  # the draft's signatures from the local root keys
    root_version: int | None  # the root version published; None: signatures still missing

    @property
    def finished(self) -> bool:
        return self.root_version is not None


def rotate_key(
    repo: Path, keys: Path, role: str, config: PublisherConfig | None = None
) -> Rotation:
    config = config or load_config(repo)
    ceremony.begin(repo, keys, [role], [], [], None, config)
    try:
        signed = ceremony.sign_with_local_root_keys(repo, keys)
    except (RepoError, OSError) as error:
        ceremony.abort(repo, keys)  # leave no half-begun ceremony behind
        raise RotationAbandoned(f"{error}; the rotation was abandoned, nothing changed") from error
    if not signed.progress.complete:
        return Rotation(role, signed.progress, None)
    finished = ceremony.finish(repo, keys, config)
    return Rotation(role, signed.progress, finished.version)
