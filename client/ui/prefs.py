"""The update UI's own memory: how often the app started, the auto-check question, remind later.

Kept in `<install root>/ui_state.json`, apart from the updater's state.json (the UI may write it
while an update runs). Read like every local file (bounded, never through a link) and written
atomically; a damaged or missing file means fresh preferences, never an error in the app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from client.files import LocalFileError, atomic_write_text, read_json_file

FILE_NAME = "ui_state.json"
MAX_BYTES = 64 << 10
REMIND_LATER_SECONDS = 24 * 3600.0  # "Remind Me Later": the next day (or a manual check)


class Prefs:
    """launches, auto_check_asked, remind_version / remind_until (a plain class)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.launches = 0
        self.auto_check_asked = False
        self.remind_version: str | None = None
        self.remind_until = 0.0

    @classmethod
    def load(cls, folder: Path) -> Prefs:
        prefs = cls(Path(folder) / FILE_NAME)
        try:
            data: Any = read_json_file(prefs.path, MAX_BYTES)
        except (OSError, LocalFileError):
            return prefs
        if not isinstance(data, dict):
            return prefs
        if isinstance(data.get("launches"), int) and data["launches"] >= 0:
            prefs.launches = data["launches"]
        prefs.auto_check_asked = data.get("auto_check_asked") is True
        if isinstance(data.get("remind_version"), str):
            prefs.remind_version = data["remind_version"]
        if isinstance(data.get("remind_until"), int | float):
            prefs.remind_until = float(data["remind_until"])
        return prefs

    def save(self) -> None:
        """Atomically; a failure (read-only folder, full disk) only loses the preference."""
        data = {
            "launches": self.launches,
            "auto_check_asked": self.auto_check_asked,
            "remind_version": self.remind_version,
            "remind_until": self.remind_until,
        }
        try:
            atomic_write_text(self.path, json.dumps(data, indent=2) + "\n", durable=False)
        except OSError:
            import logging

            logging.getLogger(__name__).warning("could not save %s", self.path, exc_info=True)

    def reminded_version(self, now: float) -> str | None:
        """The version the user said "Remind Me Later" for, while that still holds."""
        return self.remind_version if now < self.remind_until else None

    def remind_later(self, version: str, now: float) -> None:
        self.remind_version, self.remind_until = version, now + REMIND_LATER_SECONDS
        self.save()
