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
TREE_FORMAT = 2  # the highest tree format (client.tree_format) this code reads and writes
ARCHIVE_SUFFIX = ".tar.gz"
PATCH_SUFFIX = ".patch"

# Signed strings become parts of file names (cache/targets/.<sha256>.<name>.part,
# <app>-<version>.tar, versions/<version>/) and URLs, so each is checked against a strict
# pattern before anything uses it. The bounds keep the longest partial-download name, a patch
# ".<sha256>.<app>-<version>.from-<base>.patch.part", within the 255 bytes of a file name.
MAX_APP_NAME = 64
MAX_VERSION = 48
_APP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.]*(?:-[A-Za-z0-9_.]+)*$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_HASH_RE = re.compile(r"^[0-9a-f]{32,128}$")  # any other algorithm's hex digest
_HASH_ALGORITHM_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_CODEC_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_TARGET_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]{0,183}$")


class FormatError(ValueError):
    """Metadata or a name that does not follow the repository format."""


def _shown(value: object) -> str:
    """A hostile value, quoted and cut short for a message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_app_name(name: str) -> str:
    """An app name is used in file names: letters, digits, '.', '_' and inner '-' only."""
    if len(name) > MAX_APP_NAME or not _APP_NAME_RE.match(name) or ".." in name:
        raise FormatError(
            f"invalid app name {_shown(name)}: use up to {MAX_APP_NAME} letters, digits, '.', "
            "'_' and '-' (not at the start or end), e.g. 'trading-bot'"
        )
    return name


def parse_version(text: str) -> Version:
    """Parse a PEP 440 version, with an error that says what is expected."""
    try:
        if len(text) > MAX_VERSION:
            raise InvalidVersion(text)
        return Version(text)
    except InvalidVersion:
        raise FormatError(
            f"invalid version {_shown(text)}: expected a PEP 440 version of at most "
            f"{MAX_VERSION} characters such as 1.2.0 or 1.3.0b1"
        ) from None


def user_version(text: str, action: str) -> str:
    """A version a user gave to `action` ("pin", "skip"), canonical (1.2 -> 1.2); an
    UpdateError of kind invalid_input naming what was given otherwise."""
    from client.errors import ErrorKind, UpdateError

    try:
        return str(parse_version(text))
    except FormatError:
        raise UpdateError(
            ErrorKind.INVALID_INPUT, f"cannot {action} {text!r}: not a version such as 1.2.0"
        ) from None


def check_sha256(value: object, what: str) -> str:
    """A signed sha256: exactly 64 lowercase hexadecimal digits (it names cache files)."""
    if not isinstance(value, str) or not _SHA256_RE.match(value):
        raise FormatError(
            f"{what} {_shown(value)} is not a sha256 (64 lowercase hexadecimal digits)"
        )
    return value


def check_target_name(name: str) -> str:
    """A target name of ours is one plain file name: no folders, no '..', bounded length."""
    if not _TARGET_NAME_RE.match(name) or ".." in name:
        raise FormatError(f"target name {_shown(name)} is not a plain file name of this format")
    return name


def target_sha256(name: str, hashes: Any) -> str:
    """The signed sha256 of target `name`, once every signed hash of it is checked: each is
    a hex digest (they name the partial download and the URL of consistent snapshots)."""
    if not isinstance(hashes, dict) or "sha256" not in hashes:
        raise FormatError(f"target {name}: no signed sha256 hash")
    for algorithm, value in hashes.items():
        pattern = _SHA256_RE if algorithm == "sha256" else _HASH_RE
        if not _HASH_ALGORITHM_RE.match(str(algorithm)) or not isinstance(value, str):
            raise FormatError(f"target {name}: signed hash {_shown(algorithm)} is not valid")
        if not pattern.match(value):
            raise FormatError(
                f"target {name}: its signed {algorithm} hash {_shown(value)} is not a "
                "hexadecimal digest"
            )
    return str(hashes["sha256"])


def check_codec(codec: str, where: str) -> str:
    if not _CODEC_RE.match(codec):
        raise FormatError(f"{where}: codec name {_shown(codec)} is not valid")
    return codec


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
    tree: TreeInfo | None = None  # format 2: its manifest, pack and deltas (client.tree_format)

    def to_custom(self) -> dict[str, Any]:
        data = asdict(self)
        del data["tree"]
        if self.tree is not None:
            data["tree"] = self.tree.to_custom()
        return {CUSTOM_KEY: data}


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


@dataclass(frozen=True)
class TreeInfo:
    """The tree part of a release record (custom["updater"]["tree"] of its archive)."""

    format: int
    entries: int  # how many entries the manifest lists (extraction holds the pack to it)
    bases: tuple[str, ...] = ()  # versions a delta to this release exists from

    def to_custom(self) -> dict[str, Any]:
        return {"format": self.format, "entries": self.entries, "bases": list(self.bases)}


def parse_tree_info(data: object, where: str) -> TreeInfo | None:
    """The record's tree part; None when absent or of a later format (the full archive
    still serves this client); FormatError when it is ours but malformed."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise FormatError(f"{where}: custom metadata 'tree' is not an object")
    fmt = data.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < TREE_FORMAT:
        raise FormatError(f"{where}: tree format {fmt!r} is not valid")
    if fmt > TREE_FORMAT:
        return None
    entries = data.get("entries")
    bases = data.get("bases", [])
    if not isinstance(entries, int) or isinstance(entries, bool) or entries < 1:
        raise FormatError(f"{where}: tree entries {entries!r} is not a positive count")
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise FormatError(f"{where}: tree bases {bases!r} is not a list of versions")
    return TreeInfo(fmt, entries, tuple(str(parse_version(b)) for b in bases))


def _require(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(f"{where}: custom metadata {key!r} missing or not {kind.__name__}")
    if kind is int and value < 0:
        raise FormatError(f"{where}: custom metadata {key!r} is negative")
    return value


def _rollout(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise FormatError(f"{where}: rollout {value!r} is not a percentage from 0 to 100")
    return value


def parse_custom(
    target_path: str, custom: dict[str, Any] | None, hashes: dict[str, Any] | None = None
) -> ArchiveInfo | PatchInfo | None:
    """Read our custom metadata from a target; None for targets that are not ours.

    The one place where signed strings are checked before any reaches the file system or a
    URL: the target name, its signed `hashes` (when given: the client always gives them), the
    app name, versions, the tar's sha256 and the codec name. FormatError names what is wrong."""
    data = (custom or {}).get(CUSTOM_KEY)
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    where = f"target {target_path}"
    try:
        info = _parse_ours(target_path, data, kind, where)
        check_target_name(target_path)
        if hashes is not None:
            target_sha256(target_path, hashes)
    except FormatError as error:
        text = str(error)
        raise FormatError(text if text.startswith(where) else f"{where}: {text}") from None
    return info


def _parse_ours(
    target_path: str, data: dict[str, Any], kind: object, where: str
) -> ArchiveInfo | PatchInfo:
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
            tar_sha256=check_sha256(_require(data, "tar_sha256", str, where), "tar_sha256"),
            unpacked_size=_require(data, "unpacked_size", int, where),
            published=_require(data, "published", str, where),
            notes=str(data.get("notes", "")),
            required=bool(data.get("required", False)),
            rollout=_rollout(data.get("rollout", 100), where),
            yanked=str(data.get("yanked") or ""),
            tree=parse_tree_info(data.get("tree"), where),
        )
    if kind == "patch":
        base = str(parse_version(_require(data, "base", str, where)))
        if target_path != patch_name(app, base, version):
            raise FormatError(f"{where}: name does not match patch {base} -> {version}")
        codec = check_codec(_require(data, "codec", str, where), where)
        return PatchInfo(app=app, version=version, base=base, codec=codec)
    raise FormatError(f"{where}: unknown kind {kind!r}")
