"""The repository format shared by publisher and client: target names, channels, custom metadata.

Everything here is a pure function on data, so both halves agree on one definition and the
rules are tested without a server. `repo_tools` writes what this module describes; the client
reads it. See docs/decisions.md for why the format looks like this.

Targets in the TUF repository:

* ``<app>-<version>.tar.gz``: full archive (deterministic tar, gzip-compressed)
* ``<app>-<version>.from-<base>.patch``: binary delta from the *uncompressed* tar of ``base``
  to the uncompressed tar of ``version``

Each target carries signed custom metadata under the ``"updater"`` key (see
:class:`ArchiveInfo` and :class:`PatchInfo`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from client.settings import CHANNELS  # one definition, in the packaging-free module

CUSTOM_KEY = "updater"
ARCHIVE_SUFFIX = ".tar.gz"
PATCH_SUFFIX = ".patch"

_APP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)*$")


class FormatError(ValueError):
    """Metadata or a name that does not follow the repository format."""


def check_app_name(name: str) -> str:
    """An app name is used in file names: letters, digits, '.', '_' and inner '-' only."""
    if not _APP_NAME_RE.match(name) or ".." in name:
        raise FormatError(
            f"invalid app name {name!r}: use letters, digits, '.', '_' and '-' "
            "(not at the start or end), e.g. 'trading-bot'"
        )
    return name


def parse_version(text: str) -> Version:
    """Parse a PEP 440 version, with an error that says what is expected."""
    try:
        return Version(text)
    except InvalidVersion:
        raise FormatError(
            f"invalid version {text!r}: expected a PEP 440 version such as 1.2.0 or 1.3.0b1"
        ) from None


def channel_of(version: Version) -> str:
    """The least stable channel a version belongs to: a -> alpha, b/rc -> beta, else stable.

    Development releases (``.devN``) count as alpha: they are never offered to stable or beta.
    """
    if version.dev is not None:
        return "alpha"
    if version.pre is None:
        return "stable"
    return "alpha" if version.pre[0] == "a" else "beta"


def visible_on(version: Version, channel: str) -> bool:
    """Stable sees finals only; beta sees finals, b and rc; alpha sees everything."""
    return CHANNELS.index(channel_of(version)) <= CHANNELS.index(check_channel(channel))


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise FormatError(f"invalid channel {channel!r}: use one of {', '.join(CHANNELS)}")
    return channel


def archive_name(app: str, version: Version | str) -> str:
    return f"{app}-{version}{ARCHIVE_SUFFIX}"


def patch_name(app: str, base: Version | str, version: Version | str) -> str:
    return f"{app}-{version}.from-{base}{PATCH_SUFFIX}"


@dataclass(frozen=True)
class ArchiveInfo:
    """Signed custom metadata of a full archive."""

    app: str
    version: str
    channel: str
    tar_size: int  # uncompressed tar: the patch codec works on these bytes
    tar_sha256: str
    unpacked_size: int  # sum of file sizes: extraction refuses to write more
    published: str  # ISO 8601 UTC
    notes: str = ""
    required: bool = False
    rollout: int = 100  # percent of installations offered this release (0 halts it)
    yanked: str = ""  # why the publisher withdrew it ("": not withdrawn); see choose_update
    kind: str = "archive"

    def to_custom(self) -> dict[str, Any]:
        return {CUSTOM_KEY: asdict(self)}


@dataclass(frozen=True)
class PatchInfo:
    """Signed custom metadata of a patch: which tar it applies to and with which codec."""

    app: str
    version: str
    base: str
    codec: str
    kind: str = "patch"

    def to_custom(self) -> dict[str, Any]:
        return {CUSTOM_KEY: asdict(self)}


def _require(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(f"{where}: custom metadata {key!r} missing or not {kind.__name__}")
    return value


def _rollout(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise FormatError(f"{where}: rollout {value!r} is not a percentage from 0 to 100")
    return value


def parse_custom(target_path: str, custom: dict[str, Any] | None) -> ArchiveInfo | PatchInfo | None:
    """Read our custom metadata from a target; None for targets that are not ours."""
    data = (custom or {}).get(CUSTOM_KEY)
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    where = f"target {target_path}"
    app = check_app_name(_require(data, "app", str, where))
    version = str(parse_version(_require(data, "version", str, where)))
    if kind == "archive":
        if target_path != archive_name(app, version):
            raise FormatError(f"{where}: name does not match app {app!r} version {version}")
        return ArchiveInfo(
            app=app,
            version=version,
            channel=check_channel(_require(data, "channel", str, where)),
            tar_size=_require(data, "tar_size", int, where),
            tar_sha256=_require(data, "tar_sha256", str, where),
            unpacked_size=_require(data, "unpacked_size", int, where),
            published=_require(data, "published", str, where),
            notes=str(data.get("notes", "")),
            required=bool(data.get("required", False)),
            rollout=_rollout(data.get("rollout", 100), where),
            yanked=str(data.get("yanked") or ""),
        )
    if kind == "patch":
        base = str(parse_version(_require(data, "base", str, where)))
        if target_path != patch_name(app, base, version):
            raise FormatError(f"{where}: name does not match patch {base} -> {version}")
        return PatchInfo(
            app=app, version=version, base=base, codec=_require(data, "codec", str, where)
        )
    raise FormatError(f"{where}: unknown kind {kind!r}")
