"""Version rules and patch bases: pure functions, no repository."""

from __future__ import annotations

import pytest
from packaging.version import Version

from repo_tools.versioning import VersionError, check_can_release, next_version, patch_bases


def versions(*texts: str) -> list[Version]:
    return [Version(t) for t in texts]


@pytest.mark.parametrize(
    ("bump", "expected"), [("patch", "2.0.1"), ("minor", "2.1.0"), ("major", "3.0.0")]
)
def test_stable_bumps(bump: str, expected: str) -> None:
    assert next_version(versions("1.0.0", "2.0.0"), bump) == Version(expected)


def test_first_release_bumps_from_zero() -> None:
    assert next_version([], "minor") == Version("0.1.0")


def test_beta_numbers_increase() -> None:
    existing = versions("2.0.0")
    first = next_version(existing, "minor", "beta")
    assert first == Version("2.1.0b1")
    assert next_version([*existing, first], "minor", "beta") == Version("2.1.0b2")


def test_alpha_uses_a() -> None:
    assert next_version(versions("2.0.0"), "major", "alpha") == Version("3.0.0a1")


def test_alpha_behind_an_existing_beta_is_refused() -> None:
    with pytest.raises(VersionError, match="not higher than 2.1.0b1"):
        next_version(versions("2.0.0", "2.1.0b1"), "minor", "alpha")


def test_promotion_without_bump() -> None:
    assert next_version(versions("2.0.0", "2.1.0b1", "2.1.0b2"), None) == Version("2.1.0")


def test_promotion_without_prerelease_is_refused() -> None:
    with pytest.raises(VersionError, match="nothing to promote"):
        next_version(versions("2.0.0"), None)


def test_hotfix_while_beta_is_out() -> None:
    assert next_version(versions("2.0.0", "2.1.0b1"), "patch") == Version("2.0.1")


def test_version_not_higher_in_its_series_is_refused() -> None:
    with pytest.raises(VersionError, match="not higher than 2.0.2"):
        next_version(versions("2.0.0", "2.0.2"), None, explicit="2.0.1")


def test_existing_version_is_refused() -> None:
    with pytest.raises(VersionError, match="already released"):
        check_can_release(versions("2.0.0"), Version("2.0.0"), "stable")


def test_explicit_version_must_match_channel() -> None:
    with pytest.raises(VersionError, match="belongs to the beta channel"):
        next_version(versions("2.0.0"), None, "stable", explicit="2.1.0b1")


def test_beta_requires_a_bump() -> None:
    with pytest.raises(VersionError, match="--bump is required"):
        next_version(versions("2.0.0"), None, "beta")


def test_patch_bases_are_channel_heads_below_the_new_version() -> None:
    existing = versions("2.0.0", "2.0.1", "2.1.0a1", "2.1.0b1")
    assert patch_bases(existing, Version("2.1.0")) == versions("2.0.1", "2.1.0b1")


def test_hotfix_patches_only_from_older_releases() -> None:
    assert patch_bases(versions("2.0.0", "2.1.0b1"), Version("2.0.1")) == versions("2.0.0")


def test_first_release_has_no_patch_base() -> None:
    assert patch_bases([], Version("1.0.0")) == []
