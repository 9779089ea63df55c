"""Errors the updater reports, and the translation of low-level failures into clear messages.

An `UpdateError` has a stable `kind` (for programs: exit codes, event handlers) and a
message for people that says what happened and what to do. tuf/requests exceptions are
inspected lazily so importing this module stays cheap.
"""

from __future__ import annotations

import errno
import json
from enum import StrEnum

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class ErrorKind(StrEnum):
    """The stable kinds of failure (the JSON `kind` of `--json` output, history and events)."""

    CONFIG = "config"
    NOT_SET_UP = "not_set_up"
    BUSY = "busy"
    UNREACHABLE = "unreachable"
    EXPIRED = "expired"
    SIGNATURE = "signature"
    ROLLBACK_ATTACK = "rollback_attack"
    VERIFICATION = "verification"
    SLOW = "slow"
    TOO_LARGE = "too_large"
    HTTP = "http"
    DISK_FULL = "disk_full"
    IO = "io"
    UNSAFE_ARCHIVE = "unsafe_archive"
    INSTALL = "install"
    ROLLBACK = "rollback"
    DISABLED = "disabled"
    INVALID_INPUT = "invalid_input"
    USAGE = "usage"
    INTERNAL = "internal"


class UpdateError(Exception):
    """The client's one error base: every failure it reports carries a stable `kind` (an
    ErrorKind, for programs: exit codes, event handlers) and a `message` for people that says
    what happened and what to do."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.message = message


class BusyError(UpdateError):
    """Another updater works on this install root."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorKind.BUSY, message)


def _chain(error: BaseException) -> str:
    """The error and its causes, innermost detail last, without repeating the same text."""
    parts: list[str] = []
    current: BaseException | None = error
    while current is not None and len(parts) < 4:
        text = str(current).strip()
        if text and text not in parts:
            parts.append(text)
        # explicit causes only: an implicit __context__ is whatever failed before (e.g. the
        # missing local copy ngclient tried first) and would make the message misleading
        current = current.__cause__
    return ": ".join(parts) or type(error).__name__


def _expiry_date(
    error: BaseException, last_metadata: dict[str, bytes], root_file: Any
) -> tuple[str, str]:
    """(role, expiry date) for an ExpiredMetadataError, from the bytes that were refused."""
    text = str(error)
    role = next((r for r in ("timestamp", "snapshot", "targets", "root") if r in text), "metadata")
    candidates = [
        data
        for url, data in last_metadata.items()
        if url.rsplit("/", 1)[-1].endswith(f"{role}.json")
    ]
    if role == "root" and not candidates:
        try:
            candidates = [root_file.read_bytes()]
        except (OSError, AttributeError):
            candidates = []
    for data in reversed(candidates):
        try:
            return role, json.loads(data)["signed"]["expires"]
        except (ValueError, KeyError, TypeError):
            continue
    return role, "an unknown date"


def describe(
    error: BaseException, *, last_metadata: dict[str, bytes] | None = None, root_file: Any = None
) -> UpdateError:
    """A clear UpdateError for any failure during check/download/install."""
    if isinstance(error, UpdateError):
        return error
    from tuf.api import exceptions as tuf_errors

    detail = _chain(error)
    # EFBIG: a file-size limit (ulimit -f, quota) stops a write just as a full disk does
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return UpdateError(
            "disk_full",
            f"disk full ({error.strerror}, {error.filename or 'writing update files'}): free "
            "some disk space and try again; the running version is untouched",
        )
    if isinstance(error, tuf_errors.ExpiredMetadataError):
        role, date = _expiry_date(error, last_metadata or {}, root_file)
        return UpdateError(
            "expired",
            f"the update server's {role} metadata expired on {date}: the publisher must run "
            "`repo-tools refresh` (and publish it); nothing was installed",
        )
    if isinstance(error, tuf_errors.UnsignedMetadataError):
        return UpdateError(
            "signature",
            f"signature verification failed ({detail}): the metadata is not signed by enough "
            "trusted keys, possibly an attack; nothing was installed",
        )
    if isinstance(error, tuf_errors.BadVersionNumberError):
        return UpdateError(
            "rollback_attack",
            f"the server offered older metadata than this client already trusts ({detail}): "
            "possible rollback or freeze attack; nothing was installed",
        )
    if isinstance(error, tuf_errors.LengthOrHashMismatchError):
        return UpdateError(
            "verification",
            f"a downloaded file does not match its signed length or hash ({detail}): possibly "
            "tampered with; nothing was installed",
        )
    if isinstance(error, tuf_errors.RepositoryError):
        return UpdateError(
            "verification", f"update metadata failed verification ({detail}); nothing was installed"
        )
    if isinstance(error, tuf_errors.DownloadLengthMismatchError):
        return UpdateError("too_large", f"download refused: {detail}")
    if isinstance(error, tuf_errors.SlowRetrievalError):
        return UpdateError("slow", f"update server too slow or stalled: {detail}")
    if isinstance(error, tuf_errors.DownloadHTTPError):
        return UpdateError("http", f"update server error: {detail}")
    if isinstance(error, tuf_errors.DownloadError):
        return UpdateError("unreachable", f"update server unreachable: {detail}")
    from client.extract import UnsafeArchiveError

    if isinstance(error, UnsafeArchiveError):
        return UpdateError("unsafe_archive", f"archive refused: {detail}; nothing was installed")
    from client.install import InstallError

    if isinstance(error, InstallError):
        return UpdateError("install", f"install refused: {detail}; nothing was installed")
    if isinstance(error, OSError):
        return UpdateError("io", f"file system error: {detail}")
    return UpdateError("internal", f"unexpected error ({type(error).__name__}): {detail}")
