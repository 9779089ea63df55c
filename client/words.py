"""Words for people: sizes, durations, times and errors as the GUI and the CLI say them.

One home for every phrase a user reads about updating, so the window and the terminal agree.
Sizes are in MB everywhere (1 MB = 1,000,000 bytes, one decimal). Standard library only: this
module is on the application's start-up path.
"""

from __future__ import annotations

import time


def size_text(n: int) -> str:
    """12.3 MB; less than 0.1 MB for tiny sizes."""
    if n < 50_000:
        return "less than 0.1 MB"
    return f"{n / 1_000_000:,.1f} MB"


def duration_text(seconds: float) -> str:
    """about 10 s, about 3 min, about 2 hours."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    hours = round(seconds / 3600)
    return f"about {hours} hour" + ("" if hours == 1 else "s")


def when_text(ts: float, now: float) -> str:
    """at 14:05 (today), tomorrow at 02:00, on 5 Dec at 02:00 (local time)."""
    then, today = time.localtime(ts), time.localtime(now)
    clock = time.strftime("%H:%M", then)
    days = (
        time.mktime((*then[:3], 0, 0, 0, 0, 0, -1)) - time.mktime((*today[:3], 0, 0, 0, 0, 0, -1))
    ) / 86400
    if round(days) == 0:
        return f"at {clock}"
    if round(days) == 1:
        return f"tomorrow at {clock}"
    return f"on {then.tm_mday} {time.strftime('%b', then)} at {clock}"


# ErrorKind value -> (headline, advice)
_ERRORS: dict[str, tuple[str, str]] = {
    "config": (
        "The update settings are not valid, so updates are off.",
        "Open Update Settings and correct the highlighted value.",
    ),
    "not_set_up": (
        "This copy of the application is not set up for updates.",
        "Reinstall the application from its installer.",
    ),
    "busy": (
        "Another update is already running.",
        "Wait a moment and try again.",
    ),
    "unreachable": (
        "Could not reach the update server.",
        "Check the internet connection; the updater tries again by itself.",
    ),
    "expired": (
        "The update information from the publisher has expired.",
        "Nothing is installed until the publisher renews it; try again later.",
    ),
    "signature": (
        "The update information is not signed by the publisher, so it was refused.",
        "Nothing was installed. If this persists, tell the publisher.",
    ),
    "rollback_attack": (
        "The server offered older update information than this computer already has.",
        "It was refused and nothing was installed. If this persists, tell the publisher.",
    ),
    "verification": (
        "A downloaded file did not match what the publisher signed, so it was refused.",
        "Nothing was installed; try again later.",
    ),
    "slow": (
        "The update server answered too slowly.",
        "Try again later; the updater also tries again by itself.",
    ),
    "too_large": (
        "The update is larger than the download limit in the settings.",
        "Raise the limit in Update Settings or ask the publisher.",
    ),
    "http": (
        "The update server answered with an error.",
        "Try again later; the updater also tries again by itself.",
    ),
    "disk_full": (
        "There is not enough free disk space for the update.",
        "Free some disk space and try again.",
    ),
    "io": (
        "The update could not read or write its files.",
        "Check the disk and the permissions of the application folder, then try again.",
    ),
    "unsafe_archive": (
        "The update package contains unsafe paths, so it was refused.",
        "Nothing was installed. Tell the publisher.",
    ),
    "install": (
        "The update could not be installed.",
        "The running version is unchanged; try again or use Verify and Repair.",
    ),
    "rollback": (
        "Could not switch back to that version.",
        "The running version is unchanged; see Update History for the kept versions.",
    ),
    "disabled": (
        "That is turned off in the update settings.",
        "Change it in Update Settings.",
    ),
    "invalid_input": (
        "That value is not valid.",
        "Correct it and try again.",
    ),
    "usage": (
        "The update command was not understood.",
        "See the command's help.",
    ),
    "cancelled": (
        "The download was cancelled.",
        "Download again when convenient; it resumes where it stopped.",
    ),
    "internal": (
        "Something unexpected went wrong while updating.",
        "The running version is unchanged. Try again; if it persists, send the log to the "
        "publisher.",
    ),
}


def error_words(kind: str, message: str) -> tuple[str, str]:
    """(headline, advice) for an error of `kind`; `message` stays the technical detail."""
    return _ERRORS.get(str(kind), _ERRORS["internal"])
