"""The install root on disk (docs/client.md, "Install root") and its small state file.

    versions/<version>/   extracted bundles (current + kept earlier ones)
    current               symlink -> versions/<version>, replaced atomically by rename
    state.json            previous, pending (health rule), skipped/pinned, last check, notice
    history.jsonl         append-only event log (client.history)
    cache/metadata/       trusted TUF metadata
    cache/targets/        partial downloads (format-1 installs: also the version's tar)
    cache/manifests/      each kept version's entries and sha256 (the base of a delta)
    ready/<version>/      a downloaded version, verified, waiting for `install`
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
import os
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
from client.state import MAX_STATE_BYTES, STATE_FIELDS, State, is_file_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


# What every release bundle carries (written by `repo-tools release`, read at setup/install):
BUNDLE_INFO_DIR = ".update"
RELEASE_FILE = Path(BUNDLE_INFO_DIR, "release.json")  # {"app", "version", "channel"}
ROOT_FILE = Path(BUNDLE_INFO_DIR, "root.json")  # the repository's root at release time
BUNDLED_CONFIG = Path(BUNDLE_INFO_DIR, "updater_config.json")  # optional publisher settings

_MAX_RELEASE_BYTES = 64 << 10

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
        return app if is_file_name(app) else None

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
        return app if is_file_name(app) else None

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
        if app and is_file_name(state.app) and app != state.app:
            problems.append(f"{self.state_file}: app {state.app!r}, but the bundle is {app!r}")
        state.app = app or state.app
        if problems or whole:
            lost = set(STATE_FIELDS) if whole else set(damaged)
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
