"""The settings a user may touch in the Update Settings dialog: labels, kinds, text <-> value.

Pure: a dialog shows `setting_fields(settings)`, turns what the user typed back into values
with `parse_field`, and the values are validated by `client.settings` exactly as the file is
(one validation, one set of messages). Settings a publisher owns (servers, timeouts, the entry
point, ca_bundle) are not in the dialog.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from client.settings import CHANNELS, KEYS, Settings


class FieldKind(StrEnum):
    BOOL = "bool"
    CHOICE = "choice"
    NUMBER = "number"
    TEXT = "text"


class SettingField:
    """One row of the dialog: key, label, kind, choices, value (as text), help."""

    __slots__ = ("key", "label", "kind", "choices", "value", "help")

    def __init__(
        self, key: str, label: str, kind: FieldKind, value: str, help: str, choices: tuple = ()
    ) -> None:
        self.key, self.label, self.kind, self.value, self.help = key, label, kind, value, help
        self.choices: tuple[str, ...] = choices

    def __repr__(self) -> str:
        return f"SettingField({self.key!r}, {self.value!r})"


# key -> (label, kind, help, choices); the dialog's order. Keys this client does not know
# (an older settings module) are left out.
_FIELDS: dict[str, tuple[str, FieldKind, str, tuple[str, ...]]] = {
    "auto_check": (
        "Check for updates automatically",
        FieldKind.BOOL,
        "In the background, every few hours; Check for Updates... works either way.",
        (),
    ),
    "check_interval_hours": (
        "Hours between checks",
        FieldKind.NUMBER,
        "For example 6; at least 0.001 and at most 8760.",
        (),
    ),
    "auto_download": (
        "Download updates automatically",
        FieldKind.BOOL,
        "A found update is downloaded and verified in the background.",
        (),
    ),
    "auto_install": (
        "Install updates automatically",
        FieldKind.BOOL,
        "A downloaded update is installed; it is used from the next start.",
        (),
    ),
    "auto_restart": (
        "Restart automatically after installing",
        FieldKind.BOOL,
        "Only when the application is idle and inside the install window.",
        (),
    ),
    "install_window": (
        "Install only between (HH:MM-HH:MM)",
        FieldKind.TEXT,
        "Local time, for example 02:00-05:00; empty means any time.",
        (),
    ),
    "update_channel": (
        "Update channel",
        FieldKind.CHOICE,
        "stable: final releases; beta adds release candidates; alpha adds early builds.",
        CHANNELS,
    ),
    "notifications": (
        "Show notifications",
        FieldKind.BOOL,
        "Tell me about new versions when the window is in the background.",
        (),
    ),
    "rollback_enabled": (
        "Allow rolling back",
        FieldKind.BOOL,
        "Manual rollback, and the automatic one when a new version fails to start.",
        (),
    ),
    "max_backups": (
        "Earlier versions to keep",
        FieldKind.NUMBER,
        "Whole number from 0 to 100; kept versions can be switched back to at once.",
        (),
    ),
    "backup_before_update": (
        "Back up my data before each update",
        FieldKind.BOOL,
        "Copies the data folders the publisher named before installing.",
        (),
    ),
    "max_download_mb": (
        "Largest download (MB)",
        FieldKind.NUMBER,
        "Larger updates are not downloaded.",
        (),
    ),
    "proxy": (
        "Proxy",
        FieldKind.TEXT,
        "system (from the environment), none, or an address such as http://proxy:3128.",
        (),
    ),
}
_OPTIONAL_TEXT = {"install_window"}  # empty text means null


def field_text(value: Any) -> str:
    """A setting's value as the dialog shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def setting_fields(settings: Settings) -> list[SettingField]:
    """The dialog's rows for `settings`, in order."""
    return [
        SettingField(key, label, kind, field_text(getattr(settings, key)), help, choices)
        for key, (label, kind, help, choices) in _FIELDS.items()
        if key in KEYS
    ]


def field_label(key: str) -> str:
    return _FIELDS[key][0] if key in _FIELDS else key


def parse_field(key: str, text: str) -> Any:
    """The value for what the user typed: true/false, a number, null for an empty optional
    text, else the text (validation then says what is wrong with it)."""
    kind = _FIELDS[key][1] if key in _FIELDS else FieldKind.TEXT
    text = text.strip()
    if kind == FieldKind.BOOL:
        return {"true": True, "false": False}.get(text.lower(), text)
    if kind == FieldKind.NUMBER:
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and "." not in text else number
    if key in _OPTIONAL_TEXT and not text:
        return None
    return text
