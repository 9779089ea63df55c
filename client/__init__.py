"""Embedded update client: verified updates, atomic installs, rollback, history.

    from client import Updater
    updater = Updater.from_config(path)
    updater.on_event(callback)
    updater.start()

Importing this package loads only the standard library and the client's light modules:
tuf, requests, cryptography, the patch codec and click are imported when first used, off the
application's start-up path (see docs/client.md).
"""

from client.errors import BusyError, ErrorKind, UpdateError
from client.events import (
    EVENT_KINDS,
    CheckResult,
    DownloadResult,
    Event,
    EventKind,
    InstallResult,
    Method,
    UpdateInfo,
)
from client.layout import StartupDecision
from client.settings import Settings, SettingsError
from client.updater import Updater

__all__ = [
    "EVENT_KINDS",
    "BusyError",
    "CheckResult",
    "DownloadResult",
    "ErrorKind",
    "Event",
    "EventKind",
    "InstallResult",
    "Method",
    "Settings",
    "SettingsError",
    "StartupDecision",
    "UpdateError",
    "UpdateInfo",
    "Updater",
]
