"""User settings: one dataclass, one JSON file, one pure validation function.

Imitates ngclient's `UpdaterConfig`: every knob in one place with a default. The file is the
embedding application's `updater_config.json`; a missing file means defaults, and an invalid
one is reported key by key (name, value, what is allowed) instead of half-applied.
Standard library only: this module is on the application's start-up path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit  # already loaded by site: free

from client.errors import ErrorKind, UpdateError
from client.files import (
    LocalFileError,
    atomic_write_text,
    json_too_deep,
    parse_json_bytes,
    read_local_bytes,
)
from client.timing import window_problem
from client.urls import url_problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CONFIG_FILE_NAME = "updater_config.json"
MAX_SETTINGS_BYTES = 1 << 20  # a settings file is a few hundred bytes
CHANNELS = ("stable", "beta", "alpha")  # also client.formats.CHANNELS; no packaging import here


class SettingsError(UpdateError, ValueError):
    """The settings file (or a value given for a key) is not valid; .errors lists each problem."""

    def __init__(self, errors: list[str], path: Path | None = None) -> None:
        self.errors = errors
        where = f"{path}: " if path else ""
        super().__init__(ErrorKind.CONFIG, where + "; ".join(errors))


DEFAULTS: dict[str, Any] = {
    "auto_check": True,
    "check_interval_hours": 6,
    "auto_download": True,
    "auto_install": False,
    "backup_before_update": True,
    "max_backups": 5,
    "update_channel": "stable",
    "notifications": True,
    "rollback_enabled": True,
    # ordered mirrors: each {"metadata_url": "https://...", "targets_url": "https://..."}
    "servers": [],
    "max_download_mb": 1024,
    "connect_timeout_seconds": 10,
    "read_timeout_seconds": 30,
    # wall-clock limit on one whole check or download, whatever the server does (slow retrieval)
    "deadline_seconds": 900,
    "ca_bundle": None,  # PEM file; None = the system's trust store (via certifi)
    "backup_paths": [],
    "install_root": None,  # None = the folder holding the settings file
    "entry_point": "app.py",  # relative to the bundle root; .py files run with sys.executable
    "dev_allow_http_loopback": False,  # development only: plain http to 127.0.0.1/::1
    # "system": HTTPS_PROXY/NO_PROXY from the environment; "none"; or "http://host:port".
    # A proxy sees only TLS traffic to the mirror and cannot alter what TUF verifies.
    "proxy": "system",
    # the health rule (client.health): a new version alive this long after a start is good
    "healthy_after_seconds": 30,
    # consecutive failed starts of a freshly installed version before it is rolled back
    "failed_starts_before_rollback": 2,
    # "HH:MM-HH:MM" local time (may wrap midnight): automatic installs and restarts only then
    "install_window": None,
    # after an automatic install, restart through the app's handler when idle (and in window)
    "auto_restart": False,
}
KEYS = tuple(DEFAULTS)
# The settings file's format (docs/decisions.md, "On-disk formats"): a file says the lowest
# format that can read it, in "format", only when it holds a key older clients do not know.
# Clients before format 2 refuse unknown keys, "format" included; so keys at their default
# are never written, and a newer client's keys are ignored (not refused) in a file whose
# format is above this client's.
SETTINGS_FORMAT = 2
_SINCE_FORMAT = {
    "healthy_after_seconds": 2,
    "failed_starts_before_rollback": 2,
    "install_window": 2,
    "auto_restart": 2,
}


class Settings:
    """All settings with their defaults; a plain class (no dataclasses import at start-up)."""

    auto_check: bool
    check_interval_hours: float
    auto_download: bool
    auto_install: bool
    backup_before_update: bool
    max_backups: int
    update_channel: str
    notifications: bool
    rollback_enabled: bool
    servers: list[dict[str, str]]
    max_download_mb: float
    connect_timeout_seconds: float
    read_timeout_seconds: float
    deadline_seconds: float
    ca_bundle: str | None
    backup_paths: list[str]
    install_root: str | None
    entry_point: str
    dev_allow_http_loopback: bool
    proxy: str
    healthy_after_seconds: float
    failed_starts_before_rollback: int
    install_window: str | None
    auto_restart: bool

    # where these settings apply when `install_root` is null (the settings file's folder):
    # what backup_paths are checked against when a value changes. Not a setting, not saved.
    default_install_root: str | None = None

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(KEYS)
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        for key, default in DEFAULTS.items():
            value = values.get(key, default)
            setattr(self, key, json.loads(json.dumps(value)))  # a deep copy of plain JSON

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in KEYS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Settings({self.to_dict()!r})"


_BOOLS = {
    "auto_check",
    "auto_download",
    "auto_install",
    "backup_before_update",
    "notifications",
    "rollback_enabled",
    "dev_allow_http_loopback",
    "auto_restart",
}
# key -> (low, high, integer only)
_RANGES: dict[str, tuple[float, float, bool]] = {
    "check_interval_hours": (0.001, 24 * 365, False),
    "max_backups": (0, 100, True),
    "max_download_mb": (1, 1024 * 1024, False),
    "connect_timeout_seconds": (0.1, 600, False),
    "read_timeout_seconds": (0.1, 3600, False),
    "deadline_seconds": (1, 7 * 24 * 3600, False),
    "healthy_after_seconds": (1, 3600, False),
    "failed_starts_before_rollback": (1, 10, True),
}
_OPTIONAL_STRS = {"ca_bundle", "install_root"}


def _show(value: Any, limit: int = 120) -> str:
    """A value for an error message: its repr, shortened (a setting can be megabytes long)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + " ...)"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_url(key: str, url: Any, allow_http_loopback: bool) -> str | None:
    """An error message for a server URL, or None if it is acceptable."""
    problem = url_problem(url, allow_http_loopback)
    if problem is None:
        return None
    if problem == "is not a URL":
        return f"{key}: {_show(url)} is not a URL; expected a string like 'https://updates.example.com/metadata'"
    if problem == "uses plain http://":
        return (
            f"{key}: {_show(url)} uses plain http://; only https:// is allowed "
            "(http:// to 127.0.0.1 or ::1 only with dev_allow_http_loopback = true)"
        )
    return f"{key}: {_show(url)} {problem}"


def validate(data: Any, install_root: str | os.PathLike[str] | None = None) -> list[str]:
    """Every problem in a settings mapping, each naming the key, the value and what is allowed.

    `install_root` is where these settings apply when they do not say (`install_root` null):
    backup_paths are checked against it (see `_check_backup_paths`)."""
    if not isinstance(data, dict):
        return [f"settings must be a JSON object, got {type(data).__name__}"]
    errors: list[str] = []
    for key, value in data.items():
        if key not in KEYS:
            errors.append(
                f"unknown key {_show(key)} (value {_show(value)}); allowed keys: {', '.join(KEYS)}"
            )
        elif key in _BOOLS:
            if not isinstance(value, bool):
                errors.append(f"{key}: {_show(value)} is not allowed; expected true or false")
        elif key in _RANGES:
            low, high, integer = _RANGES[key]
            kind = "an integer" if integer else "a number"
            if not _is_number(value) or (integer and not isinstance(value, int)):
                errors.append(
                    f"{key}: {_show(value)} is not allowed; expected {kind} from {low} to {high}"
                )
            elif not low <= value <= high:
                errors.append(
                    f"{key}: {_show(value)} is out of range; expected {kind} from {low} to {high}"
                )
        elif key == "update_channel":
            if value not in CHANNELS:
                errors.append(
                    f"update_channel: {_show(value)} is not allowed; "
                    f"use one of {', '.join(CHANNELS)}"
                )
        elif key in _OPTIONAL_STRS:
            if value is not None and (not isinstance(value, str) or not value):
                errors.append(
                    f"{key}: {_show(value)} is not allowed; expected a path (string) or null"
                )
        elif key == "entry_point":
            if (
                not isinstance(value, str)
                or not value
                or os.path.isabs(value)
                or ".." in Path(value).parts
            ):
                errors.append(
                    f"entry_point: {_show(value)} is not allowed; expected a relative path inside "
                    "the bundle, e.g. 'app.py' or 'bin/myapp'"
                )
        elif key == "backup_paths":
            if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
                errors.append(
                    f"backup_paths: {_show(value)} is not allowed; expected a list of folder paths"
                )
            else:
                root = data.get("install_root")
                root = root if isinstance(root, str) and root else install_root
                errors.extend(_check_backup_paths(value, root))
        elif key == "proxy":
            if value not in ("system", "none") and not (
                isinstance(value, str)
                and urlsplit(value).scheme in ("http", "https")
                and urlsplit(value).hostname
            ):
                errors.append(
                    f'proxy: {_show(value)} is not allowed; use "system", "none" or a URL '
                    'like "http://proxy.example.com:3128"'
                )
        elif key == "install_window":
            problem = window_problem(value)
            if problem:
                errors.append(f"install_window: {problem}")
        elif key == "servers":
            errors.extend(_check_servers(value, bool(data.get("dev_allow_http_loopback", False))))
    return errors


def _normal_forms(path: str | os.PathLike[str]) -> tuple[str, str]:
    """The path as written (absolute, normalised) and with its links resolved."""
    written = os.path.normcase(os.path.abspath(os.path.expanduser(path)))
    try:
        return written, os.path.normcase(os.path.realpath(written))
    except (OSError, ValueError):
        return written, written


def _contains(outer: tuple[str, str], inner: tuple[str, str]) -> bool:
    """Whether `inner` is `outer` or lies under it, as written or with links resolved."""
    for a, b in zip(outer, inner, strict=True):
        if b == a or b.startswith(a.rstrip(os.sep) + os.sep):
            return True
    return False


def _check_backup_paths(paths: list[str], install_root: str | os.PathLike[str] | None) -> list[str]:
    """backup_paths are copied into <install root>/backups/ before each install: a path that
    contains the install root would copy the backups into themselves without end, one inside
    it is the updater's own data (or another version's files), and paths inside each other are
    copied twice. Each must be absolute (or start with ~): a relative one would depend on the
    folder the application happens to start in."""
    allowed = (
        "allowed: absolute paths (or ~/...) of files or folders outside the install root, "
        "none inside another"
    )
    errors: list[str] = []
    root = _normal_forms(install_root) if install_root is not None else None
    seen: list[tuple[int, tuple[str, str]]] = []
    for index, path in enumerate(paths):
        name = f"backup_paths[{index}]: {_show(path)}"
        if not os.path.isabs(os.path.expanduser(path)):
            errors.append(f"{name} is a relative path; {allowed}")
            continue
        forms = _normal_forms(path)
        if root is not None and _contains(forms, root):
            errors.append(
                f"{name} contains the install root {install_root} (its backups/ would be copied "
                f"into themselves without end); {allowed}"
            )
            continue
        if root is not None and _contains(root, forms):
            errors.append(f"{name} is inside the install root {install_root}; {allowed}")
            continue
        for other, other_forms in seen:
            if _contains(other_forms, forms) or _contains(forms, other_forms):
                errors.append(
                    f"{name} overlaps backup_paths[{other}] {_show(paths[other])} (one is inside "
                    f"the other, or they are the same): list only the outer one; {allowed}"
                )
                break
        seen.append((index, forms))
    return errors


def _check_servers(value: Any, allow_http_loopback: bool) -> list[str]:
    expected = 'a list of {"metadata_url": "https://...", "targets_url": "https://..."}'
    if not isinstance(value, list):
        return [f"servers: {_show(value)} is not allowed; expected {expected}"]
    errors = []
    for index, server in enumerate(value):
        if not isinstance(server, dict) or set(server) != {"metadata_url", "targets_url"}:
            errors.append(f"servers[{index}]: {_show(server)} is not allowed; expected {expected}")
            continue
        for name in ("metadata_url", "targets_url"):
            problem = check_url(f"servers[{index}].{name}", server[name], allow_http_loopback)
            if problem:
                errors.append(problem)
    return errors


def _made(data: dict[str, Any], install_root: str | os.PathLike[str] | None) -> Settings:
    settings = Settings(**data)
    settings.default_install_root = str(install_root) if install_root is not None else None
    return settings


def from_dict(data: dict[str, Any], install_root: str | os.PathLike[str] | None = None) -> Settings:
    """Settings from a mapping; raises SettingsError listing every problem. `install_root`:
    where they apply when they do not say (see `validate`)."""
    errors = validate(data, install_root)
    if errors:
        raise SettingsError(errors)
    return _made(data, install_root)


def load(path: Path) -> Settings:
    """Read a settings file; a missing file means defaults. Raises SettingsError.

    The file is read like every local file (client.files): at most MAX_SETTINGS_BYTES, UTF-8,
    bounded nesting; a damaged file is an error naming what is wrong, never a crash. When the
    file does not name an install root, it is the file's folder (as Updater.from_config)."""
    path = Path(path)
    folder = path.absolute().parent
    try:
        raw = read_local_bytes(path, MAX_SETTINGS_BYTES, follow_links=True)
        data = parse_json_bytes(path, raw) if raw.strip() else {}  # empty: defaults
    except FileNotFoundError:
        return _made({}, folder)
    except LocalFileError as error:
        raise SettingsError([f"the file {error.reason}"], path) from None
    except OSError as error:
        raise SettingsError([f"cannot read settings file: {error.strerror}"], path) from None
    data = _readable_part(data)
    errors = validate(data, folder)
    if errors:
        raise SettingsError(errors, path)
    return _made(data, folder)  # validated just above, with the file named in the error


def _format_of(data: Any) -> int | None:
    """The file's "format" (1 when absent), None when it is not a format number."""
    written = data.get("format", 1) if isinstance(data, dict) else 1
    if isinstance(written, int) and not isinstance(written, bool) and 1 <= written <= 1000:
        return written
    return None


def _readable_part(data: Any) -> Any:
    """What this client reads of a file: without "format", and without a newer client's keys
    when the file's format is above this client's (they are that client's, not typos)."""
    if not isinstance(data, dict) or "format" not in data:
        return data
    written = _format_of(data)
    if written is None:
        return {**data, "format": data["format"]}  # validation names it
    rest = {k: v for k, v in data.items() if k != "format"}
    if written > SETTINGS_FORMAT:
        rest = {k: v for k, v in rest.items() if k in KEYS}
    return rest


def parse_cli_value(key: str, text: str) -> Any:
    """A value typed on the command line: JSON if it parses (true, 6, [..]), else a string."""
    if key not in KEYS:
        raise SettingsError([f"unknown key {key!r}; allowed keys: {', '.join(KEYS)}"])
    if json_too_deep(text):
        raise SettingsError([f"{key}: the value nests too deeply to be a setting"])
    try:
        return json.loads(text)
    except ValueError:  # not JSON (or an integer too long to convert): a plain string
        return text


def with_value(settings: Settings, key: str, value: Any) -> Settings:
    """A copy of settings with one key changed, validated as a whole (against the install root
    they were loaded for). Raises SettingsError."""
    return from_dict({**settings.to_dict(), key: value}, settings.default_install_root)


def save(path: Path, settings: Settings) -> None:
    """Write atomically (temp file in the same folder, fsync, rename over): never half a file.

    Only values that differ from the defaults are written (so an older client reads the file
    unless the user chose a setting it does not know), with the "format" such a setting needs;
    a newer client's keys in the file being replaced are kept."""
    path = Path(path)
    data = {k: v for k, v in settings.to_dict().items() if v != DEFAULTS[k]}
    newer, newer_format = _newer_part(path)
    needed = max([_SINCE_FORMAT.get(key, 1) for key in data] + [newer_format])
    if needed > 1:
        data["format"] = needed
    atomic_write_text(path, json.dumps({**newer, **data}, indent=2, sort_keys=True) + "\n")


def _newer_part(path: Path) -> tuple[dict[str, Any], int]:
    """The keys of a newer client in the file at `path` (and its format), kept by `save`."""
    try:
        data = parse_json_bytes(path, read_local_bytes(path, MAX_SETTINGS_BYTES, True))
    except (OSError, LocalFileError, ValueError):
        return {}, 1
    written = _format_of(data)
    if not isinstance(data, dict) or written is None or written <= SETTINGS_FORMAT:
        return {}, 1
    return {k: v for k, v in data.items() if k not in KEYS and k != "format"}, written
