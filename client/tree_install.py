"""Download and install a release of the tree format (format 2): delta, else the full pack.

Imported only when an update is downloaded or installed. `download_tree` ends with the new
version's folder built and verified in ``ready/<version>`` (same file system as versions/):

1. the signed manifest (``<app>-<V>.manifest.zst``, TUF-verified, decoded and checked for
   the right app and version, at most TreeInfo.entries entries);
2. a delta from the installed version when the plan chose one (`client.tree_delta`: unchanged
   files hard-linked to the installed version, each verified first);
3. else, or when anything in the delta fails (missing target, bad hash, bad patch, damaged
   base), the pack ``<app>-<V>.tar.zst`` through `fetch_target`, streamed through zstd into
   `client.extract.extract_tar` against the manifest, then deleted: no uncompressed tar is
   ever kept, nothing is held in memory whole. The reason a delta was abandoned is returned
   (`patch_fallback`); a cancelled download stops instead.

The bundle's own release.json must name the same app and version. What `install` needs is
recorded in state.downloaded: the ready folder's name and a fingerprint of its entries
(`fingerprint`: kind, mode, size, inode and mtime of each, and the integrity manifest), so
`install_ready` can check cheaply that nothing changed since it was verified before it renames
the folder into versions/ and writes cache/manifests/<v>.json from the signed manifest.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client.assemble import fetch_target
from client.errors import ErrorKind, UpdateError, describe
from client.install import InstallError, manifest_file, read_manifest, read_release
from client.layout import Layout

Progress = Callable[[str, int, int], None]
_log = logging.getLogger(__name__)
READY_DIR = "ready"
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def ready_dir(layout: Layout) -> Path:
    return layout.root / READY_DIR


def fetch_manifest(
    layout: Layout,
    ng: Any,
    transport: Any,
    app: str,
    version: str,
    entries: int,
    progress: Progress,
) -> Any:
    """The signed manifest of `app` `version` (TUF-verified, decoded, checked)."""
    from client.formats import FormatError
    from client.tree_format import decode_manifest, manifest_name

    path = fetch_target(layout, ng, transport, manifest_name(app, version), progress)
    try:
        return decode_manifest(path.read_bytes(), app, version, entries)
    except FormatError as error:
        raise UpdateError(
            ErrorKind.VERIFICATION, f"{error}: nothing was installed; tell the publisher"
        ) from None
    finally:
        path.unlink(missing_ok=True)


def stream_pack(pack: Path, destination: Path, manifest: Any, max_unpacked: int) -> None:
    """Extract a zstd-compressed pack (one or more frames) as a stream into `destination`,
    every member checked against `manifest` (client.extract)."""
    import zstandard

    expected = {e.path: e for e in manifest.entries}
    with open(pack, "rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        try:
            from client.extract import extract_tar

            extract_tar(reader, destination, max_unpacked, len(expected), expected=expected)
        except zstandard.ZstdError as error:
            raise UpdateError(
                ErrorKind.VERIFICATION, f"pack {pack.name} is not valid zstd data: {error}"
            ) from None
        finally:
            reader.close()


def download_tree(
    layout: Layout,
    ng: Any,
    transport: Any,
    app: str,
    release: Any,
    delta: str | None,
    progress: Progress,
) -> tuple[dict[str, Any], str, str | None]:
    """Build `release` in ready/<version>: by `delta` (a target name) from the installed
    version, else from the pack. Returns (the state.downloaded record, method, why the delta
    was abandoned or None)."""
    from client.install import clean_staging
    from client.tree_format import pack_name

    info = release.info
    version = info.version
    manifest = fetch_manifest(layout, ng, transport, app, version, info.tree.entries, progress)
    if manifest.unpacked_size > info.unpacked_size:
        raise UpdateError(
            ErrorKind.VERIFICATION,
            f"the manifest of {app} {version} lists more bytes than its signed size: "
            "nothing was installed",
        )
    clean_staging(layout)
    staged = layout.staging / version
    reason = None
    current = layout.current_version() or ""
    if delta is not None:
        try:
            _from_delta(layout, ng, transport, delta, staged, manifest, current, progress)
            _check_release(staged, app, version)
            return _make_ready(layout, staged, manifest, info), "patch", None
        except Exception as error:  # noqa: BLE001 - whatever broke, the pack remains
            clean_staging(layout)
            if isinstance(error, UpdateError) and error.kind == ErrorKind.CANCELLED:
                raise
            if isinstance(error, OSError) and error.errno in _NO_SPACE:
                raise  # the pack needs more room still: say "disk full" now
            reason = _why(error)
            _log.warning("delta update failed (%s): downloading the full pack", reason)
    pack = fetch_target(layout, ng, transport, pack_name(app, version), progress)
    try:
        stream_pack(pack, staged, manifest, info.unpacked_size)
        _check_release(staged, app, version)
    except BaseException:
        clean_staging(layout)  # refused (UnsafeArchiveError, InstallError) or disk trouble
        raise
    finally:
        pack.unlink(missing_ok=True)  # no uncompressed or compressed copy is kept
    return _make_ready(layout, staged, manifest, info), "full", reason


def _from_delta(
    layout: Layout,
    ng: Any,
    transport: Any,
    delta: str,
    staged: Path,
    manifest: Any,
    current: str,
    progress: Progress,
) -> None:
    from client.tree_delta import DeltaError, apply_delta

    base = read_manifest(layout, current)
    if base is None:
        raise DeltaError(f"the installed {current} has no integrity manifest to build from")
    import lzma
    import tarfile

    path = fetch_target(layout, ng, transport, delta, progress)
    try:
        apply_delta(path, staged, layout.version_dir(current), base, manifest, current)
    except (tarfile.TarError, lzma.LZMAError, EOFError) as error:
        raise DeltaError(f"delta {delta} is not a valid xz tar: {error}") from None
    finally:
        path.unlink(missing_ok=True)


def _check_release(staged: Path, app: str, version: str) -> None:
    release = read_release(staged)
    if release["app"] != app or release["version"] != version:
        raise InstallError(
            f"the release contains {release['app']} {release['version']}, expected {app} "
            f"{version}: refused (wrong software)"
        )


def _why(error: Exception) -> str:
    from client.extract import UnsafeArchiveError
    from client.tree_delta import DeltaError

    if isinstance(error, (DeltaError, UnsafeArchiveError, InstallError)):
        return str(error)
    return describe(error).message


# -- ready: verified, waiting for install --------------------------------------------------------


def fingerprint(folder: Path, integrity_file: Path) -> str:
    """A digest of every entry under `folder` (path, mode, size, inode, mtime; link targets)
    and of the integrity file's bytes: cheap (no file is read) and changed by any write,
    replacement, addition or removal since it was taken."""
    digest = hashlib.sha256(integrity_file.read_bytes())
    pending = [("", str(folder))]
    while pending:
        prefix, path = pending.pop()
        with os.scandir(path) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        lines = []
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            name = prefix + entry.name
            link = os.readlink(entry.path) if entry.is_symlink() else ""
            lines.append(
                f"{name}\0{info.st_mode}\0{info.st_size}\0{info.st_ino}\0{info.st_mtime_ns}"
                f"\0{link}\n"
            )
            if entry.is_dir(follow_symlinks=False):
                pending.append((name + "/", entry.path))
        digest.update("".join(lines).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _make_ready(layout: Layout, staged: Path, manifest: Any, info: Any) -> dict[str, Any]:
    """Move the verified staged folder to ready/<version> beside its integrity manifest."""
    from client.files import atomic_write_text, fsync_dir

    ready = ready_dir(layout)
    shutil.rmtree(ready, ignore_errors=True)  # an earlier download that was never installed
    ready.mkdir(parents=True)
    folder = ready / info.version
    integrity = ready / f"{info.version}.json"
    atomic_write_text(integrity, json.dumps(manifest.integrity(), sort_keys=True))
    os.rename(staged, folder)
    fsync_dir(ready)
    return {
        "version": info.version,
        "ready": info.version,
        "fingerprint": fingerprint(folder, integrity),
        "unpacked_size": info.unpacked_size,
    }


def check_ready(layout: Layout, record: dict[str, Any], app: str) -> None:
    """UpdateError unless ready/<version> is still exactly as it was verified (cheap)."""
    folder = ready_dir(layout) / record["ready"]
    integrity = ready_dir(layout) / f"{record['ready']}.json"
    try:
        unchanged = folder.is_dir() and fingerprint(folder, integrity) == record["fingerprint"]
        if unchanged:
            _check_release(folder, app, record["version"])
    except (OSError, InstallError):
        unchanged = False
    if not unchanged:
        raise UpdateError(
            ErrorKind.VERIFICATION,
            f"the downloaded {app} {record['version']} changed on disk since it was verified: "
            "download again",
        )


def install_ready(layout: Layout, record: dict[str, Any], running: str | None) -> Path:
    """Rename ready/<version> (checked by `check_ready`) into versions/<version> and write
    its integrity manifest. The current and the running version are never replaced."""
    from client.files import atomic_write_text, fsync_dir

    version = record["version"]
    folder = ready_dir(layout) / record["ready"]
    integrity = ready_dir(layout) / f"{record['ready']}.json"
    os.sync()  # file data on disk before the rename makes it visible
    final = layout.version_dir(version)
    if final.exists():
        if version in (layout.current_version(), running):
            raise InstallError(f"version {version} is the running version: not replaced")
        old = layout.staging / f".old-{version}"  # a kept copy: the verified one replaces it
        shutil.rmtree(old, ignore_errors=True)
        os.rename(final, old)
        shutil.rmtree(old, ignore_errors=True)
    layout.versions.mkdir(parents=True, exist_ok=True)
    os.rename(folder, final)
    fsync_dir(layout.versions)
    atomic_write_text(manifest_file(layout, version), integrity.read_text(encoding="utf-8"))
    shutil.rmtree(ready_dir(layout), ignore_errors=True)
    return final
