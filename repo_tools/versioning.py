"""Which version comes next, and which earlier releases a new one gets patches from.

Pure functions on lists of versions: no repository, no I/O.

Rules (PEP 440; channels map to pre-release kinds, see client.formats.channel_of):
* stable: bump the latest *stable* release (2.0.0 -> 2.0.1 / 2.1.0 / 3.0.0), so a hotfix
  can ship while a beta of the next minor is out.
* beta/alpha: bump the latest stable release to find the next final version, then take the
  next pre-release number of that kind (2.1.0b1, 2.1.0b2, ...).
* stable with no bump: promote the newest pre-release to its final version (2.1.0b2 -> 2.1.0).
* a new version must be higher than every existing version of its release series (X.Y),
  so nothing can be published "behind" a release that clients may already run.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from packaging.version import Version

from client.formats import (
    CHANNELS,
    FormatError,
    channel_of,
    check_channel,
    parse_version,
    visible_on,
)
from repo_tools.errors import RepoError, reported_as


class Bump(StrEnum):
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"


BUMPS: tuple[str, ...] = tuple(b.value for b in Bump)
_PRE_LETTER = {"beta": "b", "alpha": "a"}


class VersionError(RepoError, ValueError):
    """The requested version cannot be released."""


def parse_release_version(text: str) -> Version:
    """A version given by the publisher (PEP 440), or a VersionError that says what is
    expected."""
    with reported_as(VersionError, FormatError):
        return parse_version(text)


def _check_channel(channel: str) -> None:
    with reported_as(VersionError, FormatError):
        check_channel(channel)


def _bump_final(version: Version, bump: str) -> Version:
    major, minor, micro = (list(version.release) + [0, 0, 0])[:3]
    if bump == Bump.MAJOR:
        return Version(f"{major + 1}.0.0")
    if bump == Bump.MINOR:
        return Version(f"{major}.{minor + 1}.0")
    if bump == Bump.PATCH:
        return Version(f"{major}.{minor}.{micro + 1}")
    raise VersionError(f"invalid bump {bump!r}: use one of {', '.join(BUMPS)}")


def _latest_stable(existing: list[Version]) -> Version:
    finals = [v for v in existing if channel_of(v) == "stable"]
    return max(finals, default=Version("0.0.0"))


def _promote(existing: list[Version]) -> Version:
    pre = [v for v in existing if v.is_prerelease]
    if not pre:
        raise VersionError(
            "nothing to promote: there is no pre-release; give --bump patch|minor|major"
        )
    return Version(max(pre).base_version)


def _next_prerelease(existing: list[Version], final: Version, channel: str) -> Version:
    letter = _PRE_LETTER[channel]
    same_kind = [
        v.pre[1]
        for v in existing
        if v.release == final.release and v.pre is not None and v.pre[0] == letter
    ]
    return Version(f"{final.base_version}{letter}{max(same_kind, default=0) + 1}")


def check_can_release(existing: Iterable[Version], new: Version, channel: str) -> None:
    """Refuse a version that exists, is behind its series, or does not match the channel."""
    existing = list(existing)
    _check_channel(channel)
    if channel_of(new) != channel:
        raise VersionError(
            f"version {new} belongs to the {channel_of(new)} channel, not {channel}: "
            f"use --channel {channel_of(new)} or another version"
        )
    if new in existing:
        raise VersionError(f"version {new} is already released: choose a higher version")
    series = [v for v in existing if v.release[:2] == new.release[:2]]
    higher = [v for v in series if v > new]
    if higher:
        raise VersionError(
            f"version {new} is not higher than {max(higher)} of the same series: "
            "bump to a higher version"
        )


def next_version(
    existing: Iterable[Version],
    bump: str | None,
    channel: str = "stable",
    explicit: str | None = None,
) -> Version:
    """The version the next release gets (see the module docstring for the rules)."""
    existing = list(existing)
    _check_channel(channel)
    if explicit is not None:
        new = parse_release_version(explicit)
    elif bump is None:
        if channel != "stable":
            raise VersionError(f"--bump is required for a {channel} release")
        new = _promote(existing)
    else:
        final = _bump_final(_latest_stable(existing), bump)
        new = final if channel == "stable" else _next_prerelease(existing, final, channel)
    check_can_release(existing, new, channel)
    return new


def patch_bases(existing: Iterable[Version], new: Version) -> list[Version]:
    """The releases a new one gets a patch from: the newest release below it on each channel.

    Clients on every channel then have a patch from their channel's latest release, and a
    hotfix or a promotion does not strand anyone on a full download.
    """
    below = [v for v in existing if v < new]
    heads = {max((v for v in below if visible_on(v, c)), default=None) for c in CHANNELS}
    return sorted(v for v in heads if v is not None)
