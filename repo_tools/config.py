"""The publisher's settings, kept in `<repo>/repo-tools.json` (never served: only
`metadata/` and `targets/` are published).

Default expiry periods, in days, and why:
* timestamp 7: bounds a freeze attack to a week, yet `repo-tools refresh` from a daily cron
  job re-signs at half-life, so a few missed runs never brick clients (stock tufup uses one
  day: a publisher who forgets to re-sign for a day breaks every client).
* snapshot 30, targets 90: online or release-machine keys, re-signed at every release and by
  refresh at half-life.
* root 365: offline keys held by several people; a yearly ceremony is practical.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from client.formats import FormatError, check_app_name
from repo_tools.bundle_rules import DEFAULT_BUNDLE_EXCLUDE, ExclusionRule, pattern_problem
from repo_tools.errors import RepoError, reported_as
from repo_tools.git_tag import tag_name
from repo_tools.object_store import check_endpoint_url, parse_bucket_address
from repo_tools.roles import ROLES, Role

CONFIG_NAME = "repo-tools.json"
DEFAULT_EXPIRY_DAYS: dict[str, int] = {
    Role.ROOT: 365,
    Role.TARGETS: 90,
    Role.SNAPSHOT: 30,
    Role.TIMESTAMP: 7,
}


class TargetsSigning(StrEnum):
    """Where the targets key signs: on this machine at every release, or with its holders
    (repo_tools.offline_targets)."""

    ONLINE = "online"
    OFFLINE = "offline"


class ConfigError(RepoError, ValueError):
    """The publisher's configuration is missing or invalid."""


@dataclass
class PublisherConfig:
    app_name: str
    expiry_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_EXPIRY_DAYS))
    bundle: str = ""  # default bundle folder for `release` (relative to the working directory)
    build_command: str = ""  # run before archiving when set, e.g. "pyinstaller app.spec"
    keep_releases: int = 0  # retention applied at release; 0 keeps everything
    # initial client settings shipped in every bundle (.update/updater_config.json), e.g. servers
    client_settings: dict[str, Any] = field(default_factory=dict)
    # where `release` and `refresh` publish when set: a folder, or s3://BUCKET/PREFIX
    publish_to: str = ""
    publish_endpoint_url: str = ""  # an S3-compatible store other than AWS (https://...)
    git_tag: str = ""  # tag the working directory's HEAD after a release, e.g. "v{version}"
    # glob patterns of what `release` leaves out of the archive (repo_tools.bundle_rules)
    bundle_exclude: list[str] = field(default_factory=lambda: list(DEFAULT_BUNDLE_EXCLUDE))
    # "offline": releases wait for the targets holders' signatures (`repo-tools targets ...`)
    targets_signing: str = TargetsSigning.ONLINE

    @property
    def offline_targets(self) -> bool:
        return self.targets_signing == TargetsSigning.OFFLINE

    # also a tufup-format bsdiff4 patch <app>-<V>.patch per release, for stock tufup clients
    # (repo_tools/tufup_patch.py; needs bsdiff4: pip install 'secure-updater[tufup]')
    tufup_patches: bool = False

    @property
    def exclusion(self) -> ExclusionRule:
        return ExclusionRule(tuple(self.bundle_exclude))

    def validate(self) -> PublisherConfig:
        with reported_as(ConfigError, FormatError):
            check_app_name(self.app_name)
        for role in ROLES:
            days = self.expiry_days.get(role)
            if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
                raise ConfigError(
                    f"expiry for {role} is {days!r}: give a whole number of days from 1 to 3650"
                )
        unknown = set(self.expiry_days) - set(ROLES)
        if unknown:
            raise ConfigError(f"unknown role(s) in expiry: {', '.join(sorted(unknown))}")
        keep = self.keep_releases
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 0:
            raise ConfigError(f"keep_releases is {self.keep_releases!r}: use 0 (keep all) or more")
        self._validate_publishing()
        if self.targets_signing not in list(TargetsSigning):
            raise ConfigError(
                f"targets_signing is {self.targets_signing!r}: use "
                f"{' or '.join(repr(str(t)) for t in TargetsSigning)}"
            )
        if not isinstance(self.tufup_patches, bool):
            raise ConfigError(f"tufup_patches is {self.tufup_patches!r}: give true or false")
        problem = pattern_problem(self.bundle_exclude)
        if problem:
            raise ConfigError(f"repo-tools.json: {problem}")
        if self.git_tag:
            try:
                tag_name(str(self.git_tag), "1.0.0b1")
            except ValueError as error:
                raise ConfigError(f"repo-tools.json: {error}") from None
        from client.settings import validate

        problems = validate(self.client_settings)
        if problems:
            raise ConfigError("client_settings in repo-tools.json: " + "; ".join(problems))
        return self

    def _validate_publishing(self) -> None:
        for key in ("bundle", "build_command", "git_tag", "publish_to", "publish_endpoint_url"):
            if not isinstance(getattr(self, key), str):
                raise ConfigError(f"{key} is {getattr(self, key)!r}: give a string")
        try:
            bucket = parse_bucket_address(self.publish_to)
            check_endpoint_url(self.publish_endpoint_url)
        except RepoError as error:
            raise ConfigError(f"repo-tools.json: {error}") from None
        if self.publish_endpoint_url and bucket is None:
            raise ConfigError(
                "publish_endpoint_url is set but publish_to is not an s3:// address: "
                "set publish_to to s3://BUCKET/PREFIX or remove publish_endpoint_url"
            )


def parse_expiry_option(text: str) -> dict[str, int]:
    """Parse `root=365,targets=90` into days per role."""
    result: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, sep, days = part.partition("=")
        if not sep or role not in ROLES or not days.isdigit():
            raise ConfigError(
                f"invalid expiry {part!r}: write role=days, e.g. root=365,timestamp=7 "
                f"(roles: {', '.join(ROLES)})"
            )
        result[role] = int(days)
    return result


def load_config(repo: Path) -> PublisherConfig:
    path = repo / CONFIG_NAME
    if not path.exists() and (repo / "metadata" / "1.root.json").is_file():
        raise ConfigError(
            f"{path} not found, but {repo} holds a TUF repository made by another tool (a "
            "tufup repository has no versioned snapshot and targets metadata): adopt it with "
            f"`repo-tools --repo {repo} --keys KEYS adopt-tufup --tufup-keys KEYSTORE "
            "--dry-run` (see docs/migrating-from-tufup.md)"
        )
    if not path.exists():
        raise ConfigError(
            f"{path} not found: run `repo-tools --repo {repo} init --app-name NAME` first"
        )
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("expiry_days", {}), dict):
            raise TypeError("expected a JSON object, with expiry_days an object of role: days")
        expiry = {**DEFAULT_EXPIRY_DAYS, **data.pop("expiry_days", {})}
        _refuse_unknown_keys(path, data)
        return PublisherConfig(expiry_days=expiry, **data).validate()
    except (json.JSONDecodeError, TypeError) as error:
        raise ConfigError(f"{path} is not a valid repo-tools configuration: {error}") from error


def _refuse_unknown_keys(path: Path, data: dict[str, Any]) -> None:
    """A mistyped setting name is an error that names it, never silently ignored."""
    import difflib

    known = [f.name for f in fields(PublisherConfig)]
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{path}: unknown setting {key!r}{hint}; the settings are: {', '.join(known)}"
            )


def save_config(repo: Path, config: PublisherConfig) -> None:
    from client.files import atomic_write_text

    text = json.dumps(asdict(config.validate()), indent=2, sort_keys=True) + "\n"
    atomic_write_text(repo / CONFIG_NAME, text)
