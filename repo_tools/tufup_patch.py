"""tufup-format patches for stock tufup clients (repo-tools.json ``"tufup_patches": true``).

A stock tufup client applies every ``<app>-<V>.patch`` above its version, in version order,
to the uncompressed tar of the archive it has cached, and checks the result against the
``tar_size``/``tar_hash`` of the last one. So each release's patch is made as tufup makes
it: bsdiff4 from the uncompressed tar of the newest full archive listed below it (whatever
its channel: tufup chains pre-releases too) to the new one, with tufup's own custom form
``{"user": None, "tufup": {tar_size, tar_hash, tar_hash_algorithm}}``. The patch is checked
by applying it before it is listed. A release with no archive below it gets none.

bsdiff4 needs about 17 times the tar's size in memory (docs/performance.md); it is an
optional dependency, imported only here.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from packaging.version import Version
from tuf.api.metadata import TargetFile, Targets

from client.formats import archive_name
from repo_tools.config import PublisherConfig
from repo_tools.errors import RepoError
from repo_tools.repository import Transaction, find_target_file, prefixed_target_name
from repo_tools.tufup_compat import TUFUP_PATCH, tufup_reading


class TufupPatchError(RepoError):
    """The tufup-format patch cannot be made."""


def tufup_patch_name(app: str, version: Version | str) -> str:
    return f"{app}-{version}{TUFUP_PATCH}"


def _newest_archive_below(targets: Targets, app: str, new: Version) -> str | None:
    below = {
        r.version: name
        for name in targets.targets
        if (r := tufup_reading(name))
        and r.app == app
        and r.is_archive
        and r.version
        and r.version < new
    }
    return below[max(below)] if below else None


def _tar_of(path: Path) -> bytes:
    with gzip.open(path, "rb") as handle:  # several gzip members read as one stream
        return handle.read()


def add_tufup_patch(
    repo: Path, transaction: Transaction, targets: Targets, app: str, new: Version
) -> str | None:
    """List ``<app>-<new>.patch`` for stock tufup clients (call after the new archive is
    added to `targets` and staged, before signing); its name, or None without a base."""
    base_name = _newest_archive_below(targets, app, new)
    if base_name is None:
        return None
    try:
        import bsdiff4
    except ImportError:
        raise TufupPatchError(
            "tufup_patches is on in repo-tools.json but bsdiff4 is not installed: "
            "pip install 'secure-updater[tufup]', or set tufup_patches to false"
        ) from None
    new_info = targets.targets[archive_name(app, new)]
    staged = transaction.staged_targets / prefixed_target_name(
        new_info.path, new_info.hashes["sha256"]
    )
    base_info = targets.targets[base_name]
    base_tar = _tar_of(find_target_file(repo, base_name, base_info.hashes["sha256"]))
    if not staged.is_file():  # published already (the step run after a release)
        staged = find_target_file(repo, new_info.path, new_info.hashes["sha256"])
    new_tar = _tar_of(staged)
    patch = bsdiff4.diff(base_tar, new_tar)
    if bsdiff4.patch(base_tar, patch) != new_tar:
        raise TufupPatchError(f"the tufup patch {base_name} -> {new} does not rebuild {new}")
    name = tufup_patch_name(app, new)
    local = transaction.scratch / name
    local.write_bytes(patch)
    info = TargetFile.from_file(name, str(local), ["sha256"])
    info.unrecognized_fields["custom"] = {
        "user": None,
        "tufup": {
            "tar_size": len(new_tar),
            "tar_hash": hashlib.sha256(new_tar).hexdigest(),
            "tar_hash_algorithm": "sha256",
        },
    }
    targets.targets[name] = info
    transaction.add_target(local, prefixed_target_name(name, info.hashes["sha256"]))
    return name


def tufup_patch_step(
    repo: Path,
    transaction: Transaction,
    targets: Targets,
    config: PublisherConfig,
    new: Version,
) -> list[str]:
    """The one call `release` makes: a tufup patch when the publisher asked for them."""
    if not config.tufup_patches:
        return []
    made = add_tufup_patch(repo, transaction, targets, config.app_name, new)
    return [made] if made else []
