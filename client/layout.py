"""The install root on disk (docs/client.md, "Install root") and its small state file.

    versions/<version>/   extracted bundles (current + kept earlier ones)
    current               symlink -> versions/<version>, replaced atomically by rename
    state.json            previous, pending (health rule), skipped/pinned, last check, notice
    history.jsonl         append-only event log (client.history)
    cache/metadata/       trusted TUF metadata
    cache/targets/        downloads and the current version's uncompressed tar (patch base)
    staging/              extraction area, same filesystem as versions/
    backups/<version>/    user data copied when <version> was left (backup_paths)
    updater_config.json   settings

The `current` link is the truth about which version runs; state.json never contradicts it for
long because every multi-step change writes its intent first (Updater.install/rollback).
Standard library only: this module is on the application's start-up path.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from pathlib import Path

from client.files import (
    LocalFileError,
    atomic_write_text,
    others_can_write,
    own_regular_file,
    read_json_file,
    read_local_bytes,
    set_aside,
)
from client.health import StartupDecision, decide
from client.settings import CONFIG_FILE_NAME

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


# What every release bundle carries (written by `repo-tools release`, read at setup/install):
BUNDLE_INFO_DIR = ".update"
RELEASE_FILE = Path(BUNDLE_INFO_DIR, "release.json")  # {"app", "version", "channel"}
ROOT_FILE = Path(BUNDLE_INFO_DIR, "root.json")  # the repository's root at release time
BUNDLED_CONFIG = Path(BUNDLE_INFO_DIR, "updater_config.json")  # optional publisher settings

MAX_STATE_BYTES = 1 << 20  # state.json is a few hundred bytes
_MAX_RELEASE_BYTES = 64 << 10

# -- what each state field may hold (anything else is damage, never used) -------------------

# a canonical PEP 440 version as the client writes it (str(Version(...))), without packaging
_VERSION = re.compile(
    r"^(\d+!)?\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9]+(\.[a-z0-9]+)*)?$"
)
# a name used in file names (app names, cached tars): no separators, no leading dot
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,199}$")
_METHODS = ("patch", "full", "kept")


def _version(v: Any, empty: bool = False) -> bool:
    return (empty and v in (None, "")) or (
        isinstance(v, str) and len(v) <= 64 and bool(_VERSION.match(v))
    )


def _name(v: Any) -> bool:
    return isinstance(v, str) and bool(_FILE_NAME.match(v)) and ".." not in v


def _number(v: Any, high: float) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= high


def _count(v: Any, high: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= high


def _downloaded(v: dict[str, Any]) -> bool:
    if not _version(v.get("version")) or v.get("method") not in (*_METHODS, None):
        return False  # no method: a full archive (operations.install)
    if v.get("method") == "kept" and v.get("tar") is None:
        return True  # a switch back: nothing was downloaded
    digest = v.get("tar_sha256")
    return (
        _name(v.get("tar"))
        and isinstance(digest, str)
        and bool(re.fullmatch(r"[0-9a-f]{64}", digest))
        and _count(v.get("unpacked_size"), 1 << 62)
    )


def _pending(v: dict[str, Any]) -> bool:
    start = v.get("open")
    return (
        _version(v.get("version"))
        and _version(v.get("previous"), empty=True)
        and _count(v.get("starts", 0), 1 << 30)
        and _count(v.get("failed", 0), 1000)
        and (
            start is None
            or (
                isinstance(start, dict)
                and (start.get("pid") is None or _count(start.get("pid"), 1 << 32))
                and (start.get("time") is None or _number(start.get("time"), 2.0**33))
            )
        )
    )


def _notice(v: dict[str, Any]) -> bool:
    return (
        _version(v.get("failed_version"))
        and _version(v.get("version"))
        and isinstance(v.get("reason"), str)
        and len(v["reason"]) <= 1000
        and _number(v.get("time"), 2.0**33)
    )


def _optional(check: Callable[[dict[str, Any]], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or (isinstance(v, dict) and check(v))


# field: (default, what it may hold, what that is in words)
_FIELDS: dict[str, tuple[Any, Callable[[Any], bool], str]] = {
    "app": ("", _name, "an application name"),
    "previous": (None, lambda v: _version(v, empty=True), "a version or null"),
    # installed, no good start yet (client.health): {"version", "previous", "starts",
    # "failed", "open"}; an older client's record has only the first three
    "pending": (
        None,
        _optional(_pending),
        '{"version", "previous", "starts", "failed", "open"} or null',
    ),
    # the last automatic (health) rollback the user has not acknowledged
    "rollback_notice": (
        None,
        _optional(_notice),
        '{"failed_version", "version", "reason", "time"} or null',
    ),
    # rolled back from: not offered again (a newer release is)
    "skipped": (
        [],
        lambda v: isinstance(v, list) and len(v) <= 1000 and all(map(_version, v)),
        "a list of versions",
    ),
    "pinned": (None, lambda v: v is None or _version(v), "a version or null"),
    "last_check": (None, lambda v: v is None or _number(v, 2.0**33), "epoch seconds or null"),
    "check_jitter_seconds": (0.0, lambda v: _number(v, 86400), "seconds, 0 to 86400"),
    # last update found: UpdateInfo as a dict
    "available": (
        None,
        _optional(
            lambda v: (
                _version(v.get("version"))
                and v.get("method") in _METHODS
                and isinstance(v.get("withdrawn", ""), str)
            )
        ),
        "an update (version, method) or null",
    ),
    # verified tar ready to install: {"version", "tar", "tar_sha256", "unpacked_size", "method"}
    "downloaded": (None, _optional(_downloaded), "a verified download or null"),
    # 0-99, drawn once per install root: staged rollouts
    "rollout_bucket": (None, lambda v: v is None or _count(v, 99), "an integer 0-99 or null"),
    # last check that found nothing: {"key": what the answer depended on, "until": expiry}
    "up_to_date": (
        None,
        _optional(
            lambda v: (
                isinstance(v.get("key"), list)
                and _number(v.get("until"), math.inf)
                and isinstance(v.get("withdrawn", ""), str)
            )
        ),
        '{"key", "until"} or null',
    ),
}
_STATE_DEFAULTS: dict[str, Any] = {key: rule[0] for key, rule in _FIELDS.items()}


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:75] + " ..."


class State:
    """The contents of state.json (a plain class: no dataclasses import at start-up)."""

    app: str
    previous: str | None
    pending: dict[str, Any] | None
    skipped: list[str]
    pinned: str | None
    last_check: float | None
    check_jitter_seconds: float
    available: dict[str, Any] | None
    downloaded: dict[str, Any] | None
    rollout_bucket: int | None
    up_to_date: dict[str, Any] | None
    rollback_notice: dict[str, Any] | None

    def __init__(self, **values: Any) -> None:
        for key, default in _STATE_DEFAULTS.items():
            setattr(self, key, json.loads(json.dumps(values.get(key, default))))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        """The valid fields of `data` (every other one at its default); see `parse`."""
        return cls.parse(data)[0]

    @classmethod
    def parse(cls, data: dict[str, Any]) -> tuple[State, dict[str, str]]:
        """A State from the fields of `data` that hold what they may, and {field: problem} for
        those that do not (left at their default). Unknown keys are ignored."""
        values, problems = {}, {}
        for key, (_, allowed, expected) in _FIELDS.items():
            if key not in data:
                continue
            if allowed(data[key]):
                values[key] = data[key]
            else:
                problems[key] = f"{key}: {_show(data[key])} is not {expected}"
        return cls(**values), problems

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _STATE_DEFAULTS}

    def __repr__(self) -> str:
        return f"State({self.to_dict()!r})"


# what this process already reported (log + history), so a warning is not repeated each read
_REPORTED: set[tuple[str, str]] = set()


class Layout:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()
        self.versions = self.root / "versions"
        self.current_link = self.root / "current"
        self.state_file = self.root / "state.json"
        self.history_file = self.root / "history.jsonl"
        self.metadata_dir = self.root / "cache" / "metadata"
        self.targets_dir = self.root / "cache" / "targets"
        self.staging = self.root / "staging"
        self.backups = self.root / "backups"
        self.config_file = self.root / CONFIG_FILE_NAME
        self.lock_file = self.root / ".updater.lock"

    def create(self) -> None:
        for folder in (self.versions, self.metadata_dir, self.targets_dir, self.staging):
            folder.mkdir(parents=True, exist_ok=True)
        self.backups.mkdir(exist_ok=True)

    def is_set_up(self) -> bool:
        """A trusted root, a current version and a known application (see `setup_problem`)."""
        return self.setup_problem() is None

    def setup_problem(self) -> str | None:
        """Why this is not a set-up install root, for people (None: it is). The application's
        name (current bundle's release.json, or state.json) is needed: without it no release
        could ever match, and "no releases" must never be mistaken for "up to date"."""
        current = self.current_version()
        if not (self.metadata_dir / "root.json").is_file() or current is None:
            return f"{self.root} is not set up (no trusted root metadata or no current version)"
        if self.app_name(current) is None:
            return (
                f"the application name of {self.root} is lost: "
                f"{self.version_dir(current) / RELEASE_FILE} and {self.state_file} are both "
                "missing or damaged; reinstall the application (setup into a new folder)"
            )
        return None

    # -- versions --------------------------------------------------------------------------

    def version_dir(self, version: str) -> Path:
        return self.versions / version

    def current_version(self) -> str | None:
        """The version `current` points at (a symlink; a small text file where links are not
        available, e.g. Windows without developer mode). None when missing or unreadable."""
        try:
            target = os.readlink(self.current_link)
        except FileNotFoundError:
            return None
        except OSError:
            try:  # not a link: the pointer file (bounded, UTF-8, or it says nothing)
                target = read_local_bytes(self.current_link, 4096).decode("utf-8").strip()
            except (OSError, ValueError):
                return None
        name = Path(target).name
        return name if name and name not in (".", "..") else None

    def kept_versions(self) -> list[str]:
        """Complete versions on disk (those with their release file), oldest first."""
        from packaging.version import InvalidVersion, Version

        found = []
        try:
            entries = list(self.versions.iterdir()) if self.versions.is_dir() else []
        except OSError:
            entries = []
        for entry in entries:
            if (entry / RELEASE_FILE).is_file():
                try:
                    found.append((Version(entry.name), entry.name))
                except InvalidVersion:
                    continue
        return [name for _, name in sorted(found)]

    def base_tar(self, app: str, version: str) -> Path:
        return self.targets_dir / f"{app}-{version}.tar"

    def bundle_app(self, version: str) -> str | None:
        """The application named by versions/<version>/.update/release.json (None if that
        file is missing or damaged). The bundle is verified content, written once at install."""
        try:
            data = read_json_file(self.version_dir(version) / RELEASE_FILE, _MAX_RELEASE_BYTES)
        except (OSError, ValueError):
            return None
        app = data.get("app") if isinstance(data, dict) else None
        return app if _name(app) else None

    def app_name(self, current: str | None = None) -> str | None:
        """The application this root holds: the current bundle's, else any kept bundle's, else
        state.json's (read without repairing anything); None when all are lost."""
        current = current or self.current_version()
        candidates = [current] if current else []
        with contextlib.suppress(OSError):
            candidates += sorted(e.name for e in self.versions.iterdir() if e.name != current)
        for version in candidates:
            if app := self.bundle_app(version):
                return app
        try:
            data = read_json_file(self.state_file, MAX_STATE_BYTES)
        except (OSError, ValueError):
            return None
        app = data.get("app") if isinstance(data, dict) else None
        return app if _name(app) else None

    # -- state -----------------------------------------------------------------------------

    def read_state(self) -> State:
        """state.json, validated field by field. What cannot be trusted is rebuilt from the
        install or reset, the damaged file set aside (`_repair`): this never raises, and never
        loses the application's name while a bundle still says it."""
        problems: list[str] = []
        data: Any = None
        inode = None
        try:
            info = os.lstat(self.state_file)
            inode = info.st_ino
            untrusted = own_regular_file(info)
            if untrusted:
                problems.append(f"{self.state_file} {untrusted}: not trusted")
            else:
                data = read_json_file(self.state_file, MAX_STATE_BYTES)
                if not isinstance(data, dict):
                    problems.append(f"{self.state_file} holds {type(data).__name__}, not an object")
        except FileNotFoundError:
            pass
        except LocalFileError as error:
            problems.append(str(error))
        except OSError as error:
            problems.append(f"{self.state_file} cannot be read: {error.strerror or error}")
        whole = not isinstance(data, dict)  # missing, unreadable or untrusted: all of it lost
        state, damaged = State.parse(data if not whole else {})
        if damaged:
            problems.append(f"{self.state_file}: {'; '.join(damaged.values())}")
        current = self.current_version()
        if current is None:  # not set up (or setup under way): nothing to rebuild from
            return state
        app = self.app_name(current) if whole else self.bundle_app(current)
        if app and _name(state.app) and app != state.app:
            problems.append(f"{self.state_file}: app {state.app!r}, but the bundle is {app!r}")
        state.app = app or state.app
        if problems or whole:
            lost = set(_STATE_DEFAULTS) if whole else set(damaged)
            self._repair(state, current, problems, inode, lost)
        self.report_warnings()
        return state

    def _repair(
        self, state: State, current: str, problems: list[str], inode: int | None, lost: set[str]
    ) -> None:
        """Rebuild what the install shows, set the damaged file aside, save, warn, record.

        Kept versions tell `previous` (the newest older one) and `skipped` (newer ones: only
        a rollback leaves them); the other lost fields keep their defaults."""
        from packaging.version import InvalidVersion, Version

        try:
            now = Version(current)
            kept = [(Version(v), v) for v in self.kept_versions() if v != current]
        except InvalidVersion:
            kept, now = [], None
        if now is not None and "previous" in lost:
            state.previous = max([k for k in kept if k[0] < now], default=(None, None))[1]
        if now is not None and "skipped" in lost:
            state.skipped = [v for k, v in kept if k > now]
        aside = None
        try:
            if inode is not None:
                aside = set_aside(self.state_file, "damaged", expect_inode=inode)
            self.write_state(state)
        except OSError as error:
            problems.append(f"the repaired state could not be saved ({error})")
        what = "; ".join(problems) or f"{self.state_file} was missing"
        where = f" (the damaged file is kept as {aside.name})" if aside else ""
        reset = sorted(lost - {"app", "previous", "skipped"})
        message = (
            f"local state damaged: {what}{where}. Rebuilt from the install: app "
            f"{state.app or 'UNKNOWN'}, current {current}, previous {state.previous}, skipped "
            f"{state.skipped}; reset to defaults: {', '.join(reset) or 'nothing'}. Updates go on"
            + (" (pin again if you had pinned a version)" if "pinned" in lost else "")
        )
        self._report("state_repaired", message, aside=str(aside) if aside else None)

    def write_state(self, state: State, durable: bool = True) -> None:
        text = json.dumps(state.to_dict(), indent=2, sort_keys=True) + "\n"
        atomic_write_text(self.state_file, text, durable)

    # -- who else can write ------------------------------------------------------------------

    def warnings(self) -> list[str]:
        """Every part of this install root that other users could change (world-writable,
        writable by a shared group, owned by another user, a link where a folder belongs):
        they could change what this updater installs or what the application runs."""
        found = []
        cache = self.metadata_dir.parent
        for path in (self.root, self.versions, cache, self.metadata_dir, self.targets_dir) + (
            self.config_file,
            self.state_file,
            self.history_file,
        ):
            follow = path in (self.root, self.config_file)  # these may be links on purpose
            try:
                info = os.stat(path) if follow else os.lstat(path)
                link = not follow and path.is_symlink()
                why = f"is a symbolic link to {os.readlink(path)}" if link else None
            except OSError:
                continue
            why = why or others_can_write(info)
            if why:
                found.append(
                    f"{path} {why}: other users could change what the updater installs or "
                    "runs; make it yours and writable only by you (chown, chmod go-w)"
                )
        return found

    def report_warnings(self) -> list[str]:
        """`warnings()`, each logged and written to history once per process."""
        found = self.warnings()
        for message in found:
            self._report("permissions_warning", message)
        return found

    def _report(self, event: str, message: str, **extra: Any) -> None:
        if (str(self.root), message) in _REPORTED:
            return
        _REPORTED.add((str(self.root), message))
        import logging  # lazily: only when something is wrong

        logging.getLogger("client.layout").warning(message)
        from client import history

        with contextlib.suppress(OSError):  # a read-only root: the log has it
            history.append(self.history_file, event, result="warning", error=message, **extra)


# -- health: the pure decision on state (client.health) -------------------------------------


def startup_decision(
    state: State,
    current: str | None,
    running: str | None = None,
    limit: int = 2,
    alive: Callable[[int], bool] | None = None,
) -> StartupDecision:
    """What to do when the application starts (`client.health.decide` on state.json's
    `pending`); `alive(pid)` says whether the process of an open start still runs (default:
    every such process is gone)."""
    return decide(state.pending, current, running, limit, alive or (lambda pid: False))
