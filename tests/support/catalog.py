"""In-memory catalog entries for the pure selection tests (nothing signed or served)."""

from __future__ import annotations

from client.formats import ArchiveInfo, PatchInfo, archive_name, patch_name
from client.selection import PatchEdge, Release


def release(version: str, required: bool = False, length: int = 1000) -> Release:
    """The full archive of app `app` `version` on the stable channel, `length` bytes long."""
    info = ArchiveInfo(
        app="app",
        version=version,
        channel="stable",
        tar_size=1,
        tar_sha256="0" * 64,
        unpacked_size=1,
        published="2026-01-01T00:00:00Z",
        required=required,
    )
    return Release(archive_name("app", version), length, info)


def edge(base: str, version: str, length: int) -> PatchEdge:
    """The patch of app `app` from `base` to `version`, `length` bytes long."""
    info = PatchInfo(app="app", version=version, base=base, codec="hdiffpatch-lzma2")
    return PatchEdge(patch_name("app", base, version), length, info)
