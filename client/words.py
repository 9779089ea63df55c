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

MB = 1 << 20  # 1 MB = 1,048,576 bytes here, the unit of the `max_download_mb` setting

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def size_text(n: int) -> str:
    """A size in MB with one decimal: "12.3 MB", "0.4 MB", "less than 0.1 MB", "0 MB".

    1 MB = 2**20 bytes (1,048,576), the unit `max_download_mb` uses, so a limit and the size
    it refuses read alike. Thousands get a separator ("1,234.5 MB"); never GB or KB, so two
    sizes side by side always compare at a glance."""
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

# kind -> (headline, advice); the keys are ErrorKind values (a test checks every kind is here)
_ERROR_WORDS: dict[str, tuple[str, str]] = {
    "config": (
        "The update settings are not valid.",
        "Correct them in the update settings; updates are paused until then.",
    ),
    "not_set_up": (
        "This copy of the application is not set up for updates.",
        "Install the application again from its publisher; updates work after that.",
    ),
    "busy": (
        "Another update is already in progress.",
        f"Wait until it is done; {_RETRIES}.",
    ),
    "unreachable": (
        "Could not reach the update server.",
        f"Check the internet connection; {_RETRIES}.",
    ),
    "expired": (
        "The update information from the publisher is out of date.",
        f"Nothing was changed. The publisher has to renew it; {_RETRIES}.",
    ),
    "signature": (
        "The update could not be verified and was refused.",
        "Nothing was installed. This can be an attack: tell the publisher if it keeps happening.",
    ),
    "rollback_attack": (
        "The update server offered older information than this computer already has.",
        "Nothing was installed. This can be an attack: tell the publisher if it keeps happening.",
    ),
    "verification": (
        "A downloaded file did not pass verification and was refused.",
        "Nothing was installed. Try again later; tell the publisher if it keeps happening.",
    ),
    "slow": (
        "The update server is too slow or stopped answering.",
        f"Try again later; {_RETRIES}.",
    ),
    "too_large": (
        "The update server sent more data than the update should have.",
        "Nothing was installed. Try again later; tell the publisher if it keeps happening.",
    ),
    "http": (
        "The update server answered with an error.",
        f"Try again later ({_RETRIES}); tell the publisher if it keeps happening.",
    ),
    "disk_full": (
        "There is not enough disk space for the update.",
        "Free some disk space, then try again; the version in use is untouched.",
    ),
    "io": (
        "The update files could not be read or written.",
        "Check that the disk is working and the application's folder can be written to, "
        "then try again.",
    ),
    "unsafe_archive": (
        "The update package contains something unsafe and was refused.",
        "Nothing was installed. Tell the publisher.",
    ),
    "install": (
        "The update could not be installed.",
        "The version in use is untouched. Try again; tell the publisher if it keeps failing.",
    ),
    "rollback": (
        "Could not switch to the earlier version.",
        "The version in use stays as it is.",
    ),
    "disabled": (
        "This is turned off in the update settings.",
        "Turn it on in the update settings, then try again.",
    ),
    "invalid_input": (
        "That is not a valid choice.",
        "Check what was entered and try again.",
    ),
    "usage": (
        "The update command was not used correctly.",
        "See `update-client --help` for how to use it.",
    ),
    "internal": (
        "Something unexpected went wrong in the updater.",
        "Try again; if it keeps happening, send the details to the publisher.",
    ),
    "cancelled": (
        "The download was cancelled.",
        "Download the update again to continue where it stopped.",
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
            f"Try again; it continues where it stopped ({_RETRIES}).",
        )
    if kind == "expired" and "clock may be wrong" in text:
        return (
            "This computer's clock may be wrong.",
            "Check the date and time settings of this computer, then try again.",
        )
    if kind == "too_large" and "max_download_mb" in text:
        return (
            "The update is larger than the updater is allowed to download.",
            "Raise the maximum download size in the update settings, then try again.",
        )
    if kind == "disabled" and "rollback" in text:
        return (
            "Switching back to an earlier version is turned off in the update settings.",
            "Turn rollback on in the update settings, then try again.",
        )
    if kind == "rollback" and "no previous version" in text:
        return (
            "There is no earlier version on this computer to switch back to.",
            "The version in use stays as it is.",
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
