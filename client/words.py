"""Words for people: sizes, durations, times and errors, the same in every GUI and the CLI.

One home for how the update client talks to a user, so Tk, Qt and `update-client` never
disagree: `size_text` (sizes are always in MB), `rate_text`, `duration_text`, `when_text`
(local time), and `error_words`, which turns any `ErrorKind` into one plain headline (what
happened) and one piece of advice (what to do, when the next try is). The technical message
an `UpdateError` carries stays the detail, behind a "Details" control and in the log.

Rules: standard library only, nothing imported at module level beyond `time` (this module is
on the application's start-up path); pure functions of their arguments (`when_text` also reads
the local time zone); English, full sentences that end with a full stop; no jargon (no "TUF",
"metadata", "hash") in a headline or advice; every `ErrorKind` has an entry (tested).
"""

from __future__ import annotations

import time

MB = 1_000_000  # 1 MB = 10**6 bytes (as file managers and most download dialogs count)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def size_text(n: int) -> str:
    """A size in MB with one decimal: "12.3 MB", "0.4 MB", "less than 0.1 MB", "0 MB".

    1 MB = 10**6 bytes. (The `max_download_mb` setting counts 2**20 bytes per MB: a limit of
    100 lets through what reads here as up to 104.9 MB.) Thousands get a separator
    ("1,234.5 MB"); never GB or KB, so two sizes side by side always compare at a glance."""
    if n <= 0:
        return "0 MB"
    mb = n / MB
    if round(mb, 1) < 0.1:
        return "less than 0.1 MB"
    return f"{mb:,.1f} MB"


def rate_text(bytes_per_second: float) -> str:
    """A download speed in the unit of `size_text`: "3.1 MB/s", "less than 0.1 MB/s"."""
    return size_text(int(bytes_per_second)) + "/s"


def duration_text(seconds: float) -> str:
    """A rough duration: "less than 1 s", "about 10 s", "about 3 min", "about 2 hours",
    "about 3 days". Rounded to the nearest unit; a unit is used while the number stays
    below 60 seconds, 60 minutes, 48 hours."""
    if seconds < 0.5:
        return "less than 1 s"
    if round(seconds) < 60:
        return f"about {round(seconds)} s"
    if round(seconds / 60) < 60:
        return f"about {round(seconds / 60)} min"
    hours = round(seconds / 3600)
    if hours < 48:
        return "about 1 hour" if hours == 1 else f"about {hours} hours"
    return f"about {round(seconds / 86400)} days"


def when_text(ts: float, now: float) -> str:
    """When `ts` (epoch seconds) is, as seen at `now`, in local time: "at 14:05" (today),
    "tomorrow at 02:00", "yesterday at 23:10", "on 5 Dec at 02:00" (other days this year),
    "on 5 Dec 2027 at 02:00" (another year). 24-hour clock; month names in English whatever
    the locale, so the words match the rest of the interface."""
    from datetime import date

    at, today = time.localtime(ts), time.localtime(now)
    clock = f"at {at.tm_hour:02d}:{at.tm_min:02d}"
    days = (
        date(at.tm_year, at.tm_mon, at.tm_mday).toordinal()
        - date(today.tm_year, today.tm_mon, today.tm_mday).toordinal()
    )
    if days == 0:
        return clock
    if days == 1:
        return f"tomorrow {clock}"
    if days == -1:
        return f"yesterday {clock}"
    year = "" if at.tm_year == today.tm_year else f" {at.tm_year}"
    return f"on {at.tm_mday} {_MONTHS[at.tm_mon - 1]}{year} {clock}"


# -- errors ------------------------------------------------------------------------------------

_RETRIES = "the updater tries again by itself"

# kind -> (headline, advice); the keys are ErrorKind values (a test checks every kind is here).
# Advice names the Update menu's items ("Update Settings", "Verify and Repair", "Update
# History") where the GUI offers the remedy.
_ERROR_WORDS: dict[str, tuple[str, str]] = {
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
        f"Check the internet connection; {_RETRIES}.",
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
        f"Try again later; {_RETRIES} too.",
    ),
    "too_large": (
        "The update is larger than the download limit in the settings.",
        "Raise the limit in Update Settings or ask the publisher.",
    ),
    "http": (
        "The update server answered with an error.",
        f"Try again later; {_RETRIES} too.",
    ),
    "disk_full": (
        "There is not enough free disk space for the update.",
        "Free some disk space and try again; the running version is unchanged.",
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
        "See the command's help (update-client --help).",
    ),
    "internal": (
        "Something unexpected went wrong while updating.",
        "The running version is unchanged. Try again; if it persists, send the log to the "
        "publisher.",
    ),
    "foreign_repository": (
        "The update server has releases this version of the application cannot read.",
        "Tell the publisher: the update server needs to be converted for this updater.",
    ),
    "cancelled": (
        "The download was cancelled.",
        "Download again when convenient; it resumes where it stopped.",
    ),
}


def _refined(kind: str, message: str) -> tuple[str, str] | None:
    """Words for the cases the technical message tells apart within one kind."""
    text = message.lower()
    if kind == "unreachable" and "tls verification failed" in text:
        return (
            "The update server's identity could not be confirmed.",
            "The network may be intercepting secure connections (a proxy, a sign-in page): "
            "try another network, or ask an administrator.",
        )
    if kind == "unreachable" and any(w in text for w in ("cut short", "interrupted", "reset")):
        return (
            "The download was interrupted.",
            f"Try again; it resumes where it stopped ({_RETRIES}).",
        )
    if kind == "expired" and "clock may be wrong" in text:
        return (
            "This computer's clock may be wrong.",
            "Check the date and time settings of this computer, then try again.",
        )
    if kind == "too_large" and "endless data" in text:
        return (
            "The update server sent more data than the update has, so it was refused.",
            "Nothing was installed; try again later. If this persists, tell the publisher.",
        )
    if kind == "disabled" and "rollback" in text:
        return (
            "Switching back to an earlier version is turned off in the update settings.",
            "Turn on rollback in Update Settings, then try again.",
        )
    if kind == "rollback" and "no previous version" in text:
        return (
            "There is no earlier version on this computer to switch back to.",
            "The running version is unchanged.",
        )
    if kind == "rollback" and "already the current version" in text:
        return ("That version is already the one in use.", "Nothing needs to be done.")
    return None


def error_words(kind: str, message: str) -> tuple[str, str]:
    """(headline, advice) for an error of `kind` (an ErrorKind value) whose technical text is
    `message`: the headline says what happened in one plain sentence, the advice what to do
    and whether the updater tries again. `message` only picks finer words within a kind (an
    untrusted certificate, a wrong clock); show it as the detail. An unknown kind gets the
    words of `internal`."""
    return _refined(kind, message) or _ERROR_WORDS.get(str(kind), _ERROR_WORDS["internal"])
