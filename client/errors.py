"""Errors the updater reports, and the translation of low-level failures into clear messages.

An `UpdateError` has a stable `kind` (for programs: exit codes, event handlers), a
`message` for people that says what happened and what to do (one sentence first: what
failed, where, what to do), and a `detail` with the technical text behind it (URL, the
urllib3/ssl/socket chain) for `--json`, the log and a details view. tuf/requests exceptions
are inspected lazily so importing this module stays cheap.
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
    # the repository lists releases of this app in a format this client cannot read (e.g. a
    # tufup repository not adopted yet): never reported as "up to date"
    FOREIGN_REPOSITORY = "foreign_repository"
    CANCELLED = "cancelled"  # the user cancelled a download (`Updater.cancel()`): no failure


class UpdateError(Exception):
    """The client's one error base: every failure it reports carries a stable `kind` (an
    ErrorKind, for programs: exit codes, event handlers), a `message` for people that says
    what happened and what to do, and a `detail`: the technical text behind the message (the
    message itself when there is nothing more to say)."""

    def __init__(self, kind: str, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.message = message
        self.detail = detail or message


class CutShort(Exception):
    """Mixin of a download the server ended before its end (client.transport raises it)."""


# -- the words of network failures (used by client.transport) -----------------------------------


def server_name(url: str) -> str:
    """The server as a person reads it: host, and the port when it is not the default."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{host} (port {parts.port})" if parts.port else host


def file_name(url: str) -> str:
    """The file a URL asks for, without the sha256 prefix of consistent snapshots."""
    name = url.split("?", 1)[0].rsplit("/", 1)[-1]
    prefix, dot, rest = name.partition(".")
    return rest if dot and rest and len(prefix) == 64 else name


def error_causes(error: BaseException) -> list[BaseException]:
    """The error, its explicit causes and the reasons urllib3 and requests wrap them in (at
    most 12); never `__context__`, whatever failed before and was handled."""
    found: list[BaseException] = []
    pending = [error]
    while pending and len(found) < 12:
        current = pending.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        nested = [getattr(current, "reason", None), current.__cause__]
        pending += [e for e in [*nested, *current.args] if isinstance(e, BaseException)]
    return found


def why_no_connection(error: BaseException) -> str:
    """Why a connection failed, in words: name lookup, refused, no route, or just failed."""
    import errno

    from urllib3.exceptions import NameResolutionError

    for cause in error_causes(error):
        if isinstance(cause, NameResolutionError):
            return "its name could not be looked up"
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "there is no network route to it"
    return "the connection failed"


def ca_bundle_error(path: str, error: BaseException) -> UpdateError:
    """The `ca_bundle` setting names a file that cannot serve as a trust store."""
    if isinstance(error, FileNotFoundError):
        problem = "does not exist"
    elif isinstance(error, OSError) and not type(error).__module__.startswith("ssl"):
        problem = f"cannot be read ({error.strerror or error})"
    else:
        problem = "holds no PEM certificates this client can read"
    return UpdateError(
        ErrorKind.CONFIG,
        f"the ca_bundle setting names {path}, which {problem}: point it at a PEM file of "
        "trusted certificate authorities (update-client config set ca_bundle PATH), or set it "
        "to null to trust the built-in authorities (update-client config set ca_bundle null)",
        detail=f"ca_bundle {path}: {type(error).__name__}: {error}",
    )


class BusyError(UpdateError):
    """Another updater works on this install root."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorKind.BUSY, message)


def cancelled(name: str, done: int, total: int) -> UpdateError:
    """The error a download the user cancelled stops with (its partial file is kept)."""
    return UpdateError(
        ErrorKind.CANCELLED,
        "the download was cancelled: the next download continues where it stopped",
        detail=f"cancelled by the user after {done} of {total} bytes of {name}",
    )


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


def _signed(data: bytes) -> dict[str, Any] | None:
    try:
        signed = json.loads(data)["signed"]
    except (ValueError, KeyError, TypeError):
        return None
    return signed if isinstance(signed, dict) else None


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
        signed = _signed(data)
        if signed is not None and isinstance(signed.get("expires"), str):
            return role, signed["expires"]
    return role, "an unknown date"


CLOCK_TOLERANCE = 600.0  # seconds our clock may differ from a server's before it counts


def _epoch(text: str) -> float | None:
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _newest_expiries(last_metadata: dict[str, bytes], root_file: Any) -> dict[str, float]:
    """Expiry of the newest copy of each role known here: refused bytes and the cache."""
    blobs = list(last_metadata.values())
    folder = getattr(root_file, "parent", None)
    for name in ("root.json", "timestamp.json", "snapshot.json", "targets.json"):
        try:
            blobs.append((folder / name).read_bytes())  # type: ignore[operator]
        except (OSError, TypeError):
            continue
    newest: dict[str, tuple[int, float]] = {}
    for data in blobs:
        signed = _signed(data)
        if signed is None or not isinstance(signed.get("expires"), str):
            continue
        when, version = _epoch(signed["expires"]), signed.get("version")
        role = signed.get("_type")
        if when is None or not isinstance(version, int) or not isinstance(role, str):
            continue
        if role not in newest or version >= newest[role][0]:
            newest[role] = (version, when)
    return {role: when for role, (_, when) in newest.items()}


def _clock_suspect(
    date: str, last_metadata: dict[str, bytes], root_file: Any, clock_offset: float | None
) -> bool:
    """Does an expiry point at this computer's clock rather than at the publisher?

    With a server `Date` header: when our clock is ahead of the server's and, by the server's
    clock, the refused metadata is still valid (it was signed recently for its lifetime).
    Without one: when every role known here appears expired, root included (root lives a
    year or so: all of them at once is more likely a clock far ahead than a publisher asleep).
    """
    import time

    now = time.time()
    if clock_offset is not None:
        expires = _epoch(date)
        return (
            clock_offset > CLOCK_TOLERANCE and expires is not None and expires > now - clock_offset
        )
    known = _newest_expiries(last_metadata, root_file)
    return "root" in known and len(known) >= 2 and all(when < now for when in known.values())


def _expired(
    error: BaseException,
    last_metadata: dict[str, bytes],
    root_file: Any,
    clock_offset: float | None,
) -> str:
    role, date = _expiry_date(error, last_metadata, root_file)
    said = f"the update server's {role} metadata expired on {date}"
    fix = "the publisher must run `repo-tools refresh` (and publish it); nothing was installed"
    if not _clock_suspect(date, last_metadata, root_file, clock_offset):
        return f"{said}: {fix}"
    import time

    here = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    there = ""
    if clock_offset is not None:
        server = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(time.time() - clock_offset))
        there = f"; the update server says {server}"
    return (
        f"{said} by this computer's clock, and this computer's clock may be wrong (it says "
        f"{here}{there}): check it; if it is right, {fix}"
    )


def _technical(error: BaseException) -> str:
    """The detail behind a message: the URL and the whole chain of causes, with their types."""
    parts: list[str] = []
    url = getattr(error, "url", None)
    if isinstance(url, str):
        parts.append(f"GET {url}")
    for cause in error_causes(error)[:6]:
        said = str(cause).strip()
        if not any(said and said in part for part in parts):  # urllib3 repeats its causes
            parts.append(f"{type(cause).__name__}: {said}")
    return " <- ".join(parts)


def describe(
    error: BaseException,
    *,
    last_metadata: dict[str, bytes] | None = None,
    root_file: Any = None,
    clock_offset: float | None = None,
) -> UpdateError:
    """A clear UpdateError for any failure during check/download/install.

    `last_metadata` (bytes by URL) and `root_file` let an expiry name its date; `clock_offset`
    (seconds this computer's clock is ahead of the server's Date header) lets it say when the
    clock, not the publisher, is the likely cause. Network failures lead with the sentence
    the transport wrote, plus what to do; the URL and the low-level chain go to `detail`."""
    if isinstance(error, UpdateError):
        return error
    from tuf.api import exceptions as tuf_errors

    chain, detail = _chain(error), _technical(error)
    said = str(error).strip() or chain  # the transport's sentence, without its causes
    advice = getattr(error, "advice", None)

    def problem(kind: str, message: str) -> UpdateError:
        return UpdateError(kind, message, detail)

    # EFBIG: a file-size limit (ulimit -f, quota) stops a write just as a full disk does
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return problem(
            "disk_full",
            f"disk full ({error.strerror}, {error.filename or 'writing update files'}): free "
            "some disk space and try again; the running version is untouched",
        )
    if isinstance(error, tuf_errors.ExpiredMetadataError):
        return problem("expired", _expired(error, last_metadata or {}, root_file, clock_offset))
    if isinstance(error, tuf_errors.UnsignedMetadataError):
        return problem(
            "signature",
            f"signature verification failed ({chain}): the metadata is not signed by enough "
            "trusted keys, possibly an attack; nothing was installed",
        )
    if isinstance(error, tuf_errors.BadVersionNumberError):
        return problem(
            "rollback_attack",
            f"the server offered older metadata than this client already trusts ({chain}): "
            "possible rollback or freeze attack; nothing was installed",
        )
    if isinstance(error, tuf_errors.LengthOrHashMismatchError):
        return problem(
            "verification",
            f"a downloaded file does not match its signed length or hash ({chain}): possibly "
            "tampered with; nothing was installed",
        )
    if isinstance(error, tuf_errors.RepositoryError):
        return problem(
            "verification", f"update metadata failed verification ({chain}); nothing was installed"
        )
    if isinstance(error, tuf_errors.DownloadLengthMismatchError):
        return problem("too_large", f"download refused: {chain}")
    if isinstance(error, tuf_errors.SlowRetrievalError):
        return problem("slow", f"update server too slow or stalled: {said}; try again later")
    if isinstance(error, tuf_errors.DownloadHTTPError):
        return problem(
            "http",
            f"update server error: {said}; try again later, and if it keeps happening tell "
            "the publisher",
        )
    if isinstance(error, CutShort):
        return problem("unreachable", f"{said}; try again later; nothing was installed")
    if isinstance(error, tuf_errors.DownloadError):
        advice = (
            "check this computer's network connection and try again later"
            if advice is None
            else advice
        )
        return problem(
            "unreachable", f"update server unreachable: {said}" + (f"; {advice}" if advice else "")
        )
    from client.extract import UnsafeArchiveError

    if isinstance(error, UnsafeArchiveError):
        return problem("unsafe_archive", f"archive refused: {chain}; nothing was installed")
    from client.install import InstallError

    if isinstance(error, InstallError):
        return problem("install", f"install refused: {chain}; nothing was installed")
    if isinstance(error, OSError):
        return problem("io", f"file system error: {chain}")
    return problem("internal", f"unexpected error ({type(error).__name__}): {chain}")
