"""Assembling the verified tar of a chosen release: a patch chain from the installed version's
tar, or the full archive when there is no chain or the chain fails.

Imported only when an update is downloaded (never at application start-up). Every byte that
arrives is verified by ngclient against signed length and hashes; the resulting tar is then
checked against the release's signed tar_size and tar_sha256, so a patch that applies to the
wrong base, or an archive that unpacks to something else, never reaches install.

The patch chain is an optimisation, never a requirement: any failure on its way (a patch
missing on the server, cut short, failing its hash, a codec error, a patched tar that is not
the signed one, the base tar unreadable) makes the same update download the full archive, and
the reason is returned for history and the `downloaded` event (`patch_fallback`). Only the
full archive failing is an error, and a download the user cancelled stops (no fallback).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client.archive import gunzip_file
from client.codec import PatchError, apply_patch
from client.errors import ErrorKind, UpdateError, describe
from client.files import file_digest
from client.formats import FormatError, check_target_name, target_sha256
from client.layout import Layout

Progress = Callable[[str, int, int], None]
_log = logging.getLogger(__name__)


def fetch_target(layout: Layout, ng: Any, transport: Any, name: str, progress: Progress) -> Path:
    """A verified copy of target `name` in cache/targets (downloaded unless cached)."""
    from tuf.api.exceptions import LengthOrHashMismatchError, RepositoryError

    info = ng.get_targetinfo(name)
    if info is None:
        raise RepositoryError(f"{name} is not in the signed targets metadata")
    try:  # checked by catalog already; checked again where the values become paths
        digest = target_sha256(check_target_name(name), info.hashes)
    except FormatError as error:
        raise UpdateError(
            ErrorKind.VERIFICATION, f"{error}: not downloaded; nothing was installed"
        ) from None
    destination = layout.targets_dir / name
    if ng.find_cached_target(info, str(destination)):
        return destination
    partial = layout.targets_dir / f".{digest}.{name}.part"
    resumed = partial.exists()
    try:
        with transport.target(name, partial, progress):
            ng.download_target(info, str(destination))
    except LengthOrHashMismatchError:
        if not resumed:
            raise
        # the kept prefix came from an earlier attempt (perhaps a hostile mirror, or a
        # damaged cache) and poisoned the whole: the transport deleted it, so download the
        # target once more from its first byte
        _log.warning("resumed download of %s failed verification: downloading it whole", name)
        partial.unlink(missing_ok=True)
        with transport.target(name, partial, progress):
            ng.download_target(info, str(destination))
    return destination


def build_tar(
    layout: Layout, ng: Any, transport: Any, app: str, plan: Any, progress: Progress
) -> tuple[Path, str, str | None]:
    """The verified uncompressed tar of the chosen release: patch chain, else full archive.

    Returns (tar path, method used, why a patch chain was abandoned or None)."""
    release, chain = plan
    out = layout.base_tar(app, release.info.version)
    temp = out.with_name(out.name + ".tmp")
    fallback_reason = None
    if chain:
        try:
            _apply_chain(layout, ng, transport, app, release, chain, temp, progress)
            os.replace(temp, out)
            return out, "patch", None
        except Exception as error:  # noqa: BLE001 - whatever broke, the full archive remains
            temp.unlink(missing_ok=True)
            if isinstance(error, UpdateError) and error.kind == ErrorKind.CANCELLED:
                raise  # the user stopped the download: no full archive instead
            fallback_reason = _why(error)
            _log.warning(
                "patch update failed (%s): downloading the full archive", fallback_reason,
                exc_info=not isinstance(error, (PatchError, UpdateError, OSError)),
            )  # fmt: skip
    archive = fetch_target(layout, ng, transport, release.name, progress)
    _write_or_clean(temp, lambda: gunzip_file(archive, temp))
    size, digest = file_digest(temp)
    if size != release.info.tar_size or digest != release.info.tar_sha256:
        temp.unlink(missing_ok=True)
        raise UpdateError(
            "verification",
            f"archive {release.name} does not unpack to its signed tar (size/sha256): "
            "the release metadata is inconsistent; nothing was installed",
        )
    os.replace(temp, out)
    archive.unlink(missing_ok=True)  # the tar is what we keep (patch base); bound the cache
    return out, "full", fallback_reason


def _apply_chain(
    layout: Layout,
    ng: Any,
    transport: Any,
    app: str,
    release: Any,
    chain: list[Any],
    temp: Path,
    progress: Progress,
) -> None:
    """Patch the installed version's tar along `chain` into `temp`, checked against the
    signed tar of `release`; PatchError when any step or the result is wrong."""
    data = layout.base_tar(app, layout.current_version() or "").read_bytes()
    for edge in chain:
        patch = fetch_target(layout, ng, transport, edge.name, progress).read_bytes()
        data = apply_patch(data, patch, edge.info.codec)
    if len(data) != release.info.tar_size or (
        hashlib.sha256(data).hexdigest() != release.info.tar_sha256
    ):
        raise PatchError(f"patched tar does not match the signed tar of {release.info.version}")
    _write_or_clean(temp, lambda: temp.write_bytes(data))


def _why(error: Exception) -> str:
    """Why the patch chain was abandoned, in the words an error would have used."""
    if isinstance(error, PatchError):
        return str(error)
    return describe(error).message


def _write_or_clean(temp: Path, write: Callable[[], object]) -> None:
    try:
        write()
    except OSError:
        temp.unlink(missing_ok=True)  # disk full: leave no half tar eating space
        raise
