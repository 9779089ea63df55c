"""The install root on disk (docs/client.md, "Install root") and its small state file.

    versions/<version>/   extracted bundles (current + kept earlier ones)
    current               symlink -> versions/<version>, replaced atomically by rename
    state.json            previous, pending health confirmation, skipped/pinned, last check
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

import json
import os
from enum import StrEnum
from pathlib import Path

from client.files import atomic_write_text
from client.settings import CONFIG_FILE_NAME

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


# What every release bundle carries (written by `repo-tools release`, read at setup/install):
BUNDLE_INFO_DIR = ".update"
RELEASE_FILE = Path(BUNDLE_INFO_DIR, "release.json")  # {"app", "version", "channel"}
ROOT_FILE = Path(BUNDLE_INFO_DIR, "root.json")  # the repository's root at release time
BUNDLED_CONFIG = Path(BUNDLE_INFO_DIR, "updater_config.json")  # optional publisher settings


_STATE_DEFAULTS: dict[str, Any] = {
    "app": "",
    "previous": None,
    # installed but not yet confirmed healthy: {"version", "previous", "starts"}
    "pending": None,
    "skipped": [],  # rolled back from: not offered again (a newer release is)
    "pinned": None,
    "last_check": None,  # epoch seconds of the last check
    "check_jitter_seconds": 0.0,
    "available": None,  # last update found: UpdateInfo as a dict
    "downloaded": None,  # verified tar ready to install: {"version", "tar", ...}
    "rollout_bucket": None,  # 0-99, drawn once per install root: staged rollouts
    # last check that found nothing: {"key": what the answer depended on, "until": expiry}
    "up_to_date": None,
}


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

    def __init__(self, **values: Any) -> None:
        for key, default in _STATE_DEFAULTS.items():
            setattr(self, key, json.loads(json.dumps(values.get(key, default))))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        return cls(**{k: v for k, v in data.items() if k in _STATE_DEFAULTS})

    def to_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _STATE_DEFAULTS}

    def __repr__(self) -> str:
        return f"State({self.to_dict()!r})"


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
        for folder in (
            self.versions,
            self.metadata_dir,
            self.targets_dir,
            self.staging,
            self.backups,
        ):
            folder.mkdir(parents=True, exist_ok=True)

    def is_set_up(self) -> bool:
        return (self.metadata_dir / "root.json").is_file() and self.current_version() is not None

    # -- versions --------------------------------------------------------------------------

    def version_dir(self, version: str) -> Path:
        return self.versions / version

    def current_version(self) -> str | None:
        """The version `current` points at (a symlink; a small text file where links are not
        available, e.g. Windows without developer mode)."""
        try:
            target = os.readlink(self.current_link)
        except FileNotFoundError:
            return None
        except OSError:
            try:
                target = self.current_link.read_text(encoding="utf-8").strip()
            except OSError:
                return None
        return Path(target).name or None

    def kept_versions(self) -> list[str]:
        """Complete versions on disk (those with their release file), oldest first."""
        from packaging.version import InvalidVersion, Version

        found = []
        if self.versions.is_dir():
            for entry in self.versions.iterdir():
                if (entry / RELEASE_FILE).is_file():
                    try:
                        found.append((Version(entry.name), entry.name))
                    except InvalidVersion:
                        continue
        return [name for _, name in sorted(found)]

    def base_tar(self, app: str, version: str) -> Path:
        return self.targets_dir / f"{app}-{version}.tar"

    # -- state -----------------------------------------------------------------------------

    def read_state(self) -> State:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return State()
        except (OSError, ValueError):
            # a damaged state file must not stop the application: start from what is on disk
            return State()
        return State.from_dict(data) if isinstance(data, dict) else State()

    def write_state(self, state: State, durable: bool = True) -> None:
        text = json.dumps(state.to_dict(), indent=2, sort_keys=True) + "\n"
        atomic_write_text(self.state_file, text, durable)


# -- health: pure decision on state ----------------------------------------------------------


class StartupDecision(StrEnum):
    """What to do when the application starts (see `startup_decision`)."""

    OK = "ok"  # nothing pending
    CLEAR = "clear"  # pending names a version that is not current: forget it
    TRIAL = "trial"  # first start of a freshly installed version: let it run, count the start
    ROLLBACK = "rollback"  # it had its trial start and never confirmed: go back to previous


def startup_decision(state: State, current: str | None) -> StartupDecision:
    """What to do when the application starts, given state and the running `current`.

    "clear" covers a switch that never happened and a rollback that already happened."""
    pending = state.pending
    if not pending:
        return StartupDecision.OK
    if pending.get("version") != current:
        return StartupDecision.CLEAR
    if int(pending.get("starts", 0)) == 0:
        return StartupDecision.TRIAL
    return StartupDecision.ROLLBACK if pending.get("previous") else StartupDecision.CLEAR
