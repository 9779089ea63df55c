"""`client.words`: sizes, durations, times and error words for people (pure, no server)."""

from __future__ import annotations

import time

import pytest

from client.errors import ErrorKind
from client.words import MB, duration_text, error_words, rate_text, size_text, when_text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 MB"),
        (-5, "0 MB"),
        (1, "less than 0.1 MB"),
        (49_000, "less than 0.1 MB"),
        (51_000, "0.1 MB"),  # rounds up
        (400_000, "0.4 MB"),
        (1_000_000, "1.0 MB"),
        (1 << 20, "1.0 MB"),
        (12_340_000, "12.3 MB"),
        (1_234_500_001, "1,234.5 MB"),
        (5_000_000_000, "5,000.0 MB"),  # never GB: sizes side by side compare at a glance
    ],
)
def test_sizes_are_in_mb_everywhere(n: int, text: str) -> None:
    assert size_text(n) == text


def test_one_mb_is_a_million_bytes_and_speeds_use_it_too() -> None:
    assert MB == 10**6
    assert rate_text(3.1 * MB) == "3.1 MB/s" and rate_text(10) == "less than 0.1 MB/s"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "less than 1 s"),
        (0.2, "less than 1 s"),
        (1, "about 1 s"),
        (10.4, "about 10 s"),
        (59.4, "about 59 s"),
        (59.6, "about 1 min"),  # rounds to 60 s: a minute, never "about 60 s"
        (170, "about 3 min"),
        (3569, "about 59 min"),
        (3590, "about 1 hour"),
        (2 * 3600 + 100, "about 2 hours"),
        (47 * 3600, "about 47 hours"),
        (3 * 86400, "about 3 days"),
    ],
)
def test_durations_are_rough_and_plain(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def local(*fields: int) -> float:
    """Epoch seconds of a local wall-clock time (year, month, day, hour, minute)."""
    year, month, day, hour, minute = fields
    return time.mktime((year, month, day, hour, minute, 0, 0, 0, -1))


def test_when_says_today_tomorrow_or_the_date_in_local_time() -> None:
    now = local(2026, 12, 4, 13, 0)
    assert when_text(local(2026, 12, 4, 14, 5), now) == "at 14:05"
    assert when_text(local(2026, 12, 5, 2, 0), now) == "tomorrow at 02:00"
    assert when_text(local(2026, 12, 3, 23, 10), now) == "yesterday at 23:10"
    assert when_text(local(2026, 12, 7, 2, 0), now) == "on 7 Dec at 02:00"
    assert when_text(local(2027, 1, 1, 2, 0), local(2026, 12, 30, 9, 0)) == "on 1 Jan 2027 at 02:00"
    # just before midnight, one minute later is already tomorrow
    assert when_text(local(2026, 12, 5, 0, 1), local(2026, 12, 4, 23, 59)) == "tomorrow at 00:01"


def test_every_error_kind_has_a_headline_and_advice() -> None:
    seen = set()
    for kind in ErrorKind:
        headline, advice = error_words(kind, "some technical text")
        for sentence in (headline, advice):
            assert sentence[:1].isupper() and sentence.endswith("."), (kind, sentence)
            assert len(sentence) < 140, (kind, sentence)  # one plain sentence, not a report
            for jargon in ("tuf", "metadata", "hash", "sha256", "exception", "errno"):
                assert jargon not in sentence.lower(), (kind, sentence)
        assert headline != advice
        seen.add(headline)
    # a kind of its own needs words of its own (no catch-all answer for a real kind)
    assert len(seen) == len(ErrorKind)


def test_the_common_errors_read_as_the_spec_says() -> None:
    assert error_words("unreachable", "update server unreachable: could not connect") == (
        "Could not reach the update server.",
        "Check the internet connection; the updater tries again by itself.",
    )
    assert error_words(ErrorKind.CANCELLED, "the download was cancelled")[0] == (
        "The download was cancelled."
    )
    assert "resumes where it stopped" in error_words("cancelled", "")[1]
    assert "disk space" in error_words("disk_full", "disk full (No space left on device)")[0]
    assert "not signed by the publisher" in error_words("signature", "")[0]


def test_the_technical_message_picks_finer_words_within_a_kind() -> None:
    tls = "update server unreachable: TLS verification failed for 127.0.0.1 (check ca_bundle)"
    assert "identity" in error_words("unreachable", tls)[0]
    cut = "the update server 127.0.0.1 closed the connection early: ... was cut short after 5"
    assert error_words("unreachable", cut)[0] == "The download was interrupted."
    clock = "metadata expired ... by this computer's clock, and this computer's clock may be wrong"
    assert error_words("expired", clock)[0] == "This computer's clock may be wrong."
    assert "publisher" in error_words("expired", "the timestamp metadata expired on 2020")[1]
    limit = "download refused: demo-1.1.0.tar.gz is 5 bytes, above max_download_mb (1 MB)"
    assert "Update Settings" in error_words("too_large", limit)[1]
    endless = "download refused: demo-1.1.0.tar.gz: more than its signed length (endless data)"
    assert "sent more data" in error_words("too_large", endless)[0]
    assert "earlier version" in error_words("rollback", "no previous version to roll back to")[0]
    assert "rollback" in error_words("disabled", "rollback is disabled in the settings")[1]


def test_an_unknown_kind_reads_as_an_internal_error() -> None:
    assert error_words("from_the_future", "x") == error_words("internal", "x")
