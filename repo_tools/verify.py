"""`repo-tools verify`: check the repository exactly as a brand-new client would.

python-tuf's own client (ngclient) starts from `1.root.json`, walks every root version, loads
timestamp, snapshot and targets with every specification check; then every target file's
length and hashes are checked and our custom metadata parsed. Expiry within a margin is
reported as a failure so the publisher hears about it long before clients do.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tuf.api.exceptions import DownloadError, DownloadHTTPError, RepositoryError
from tuf.ngclient import FetcherInterface

from client.formats import ArchiveInfo, FormatError, parse_custom
from client.tree_format import tree_targets
from client.tuf_session import Session, open_session
from repo_tools.repository import metadata_dir, targets_dir
from repo_tools.roles import ROLES, Role

_URL_ROOT = "local://repo/"


class LocalFetcher(FetcherInterface):
    """Serves `local://repo/metadata/...` and `local://repo/targets/...` from folders on disk.

    Staging folders come first so a release can be verified before it is published.
    """

    def __init__(self, metadata_dirs: list[Path], targets_dirs: list[Path]) -> None:
        self.folders = {"metadata": metadata_dirs, "targets": targets_dirs}

    def _fetch(self, url: str) -> Iterator[bytes]:
        kind, _, name = url.removeprefix(_URL_ROOT).partition("/")
        for folder in self.folders.get(kind, []):
            path = folder / name
            if "/" not in name and path.is_file():
                return iter([path.read_bytes()])
        raise DownloadHTTPError(f"{url} not found", 404)


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    root_versions: int = 0
    targets_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_repository(
    repo: Path,
    within_days: int = 0,
    staged_metadata: Path | None = None,
    staged_targets: Path | None = None,
    only_targets: set[str] | None = None,
    hashed: set[str] = frozenset(),  # type: ignore[assignment]
) -> VerifyReport:
    """Verify metadata fully; target files all, or only `only_targets` (the new ones of a
    release: the published ones were verified when they were released), except those in
    `hashed`, whose length and hash the caller computed from the bytes it wrote."""
    report = VerifyReport()
    meta_dirs = [d for d in (staged_metadata, metadata_dir(repo)) if d is not None]
    target_dirs = [d for d in (staged_targets, targets_dir(repo)) if d is not None]
    first_root = next((d / "1.root.json" for d in meta_dirs if (d / "1.root.json").exists()), None)
    if first_root is None:
        report.problems.append(f"{metadata_dir(repo)}/1.root.json is missing")
        return report
    with tempfile.TemporaryDirectory(prefix="repo-tools-verify-") as trusted:
        session = open_session(
            Path(trusted),
            _URL_ROOT + "metadata/",
            LocalFetcher(meta_dirs, target_dirs),
            first_root.read_bytes(),
            _URL_ROOT + "targets/",
            Path(trusted),
        )
        try:
            session.refresh()
        except (RepositoryError, DownloadError) as error:
            report.problems.append(f"metadata does not verify as a client sees it: {error}")
            return report
        roles = session.roles()
        report.root_versions = roles[Role.ROOT].version
        _check_expiry(roles, within_days, report)
        listed = session.targets()
        _check_trees(listed, report)
        _check_stock_tufup(listed, only_targets, report)
        for name in sorted(listed):
            if (only_targets is not None and name not in only_targets) or name in hashed:
                continue
            _check_target(session, name, trusted, report)
    return report


def repair_hint(problems: list[str]) -> str:
    """What to do about problems found in a staged change (pure)."""
    text = " ".join(problems).lower()
    hints = ["Run `repo-tools verify` to see what clients see now"]
    if "expired" in text:
        hints.append(
            "re-sign an expired role with `repo-tools refresh` (root: with a threshold of root "
            "keys in the keys folder)"
        )
    if "root" in text and "signed by" in text:
        hints.append(
            "a root version not signed by a threshold of the previous root's keys breaks the "
            "chain every client walks: restore the published root files from a backup"
        )
    return "; ".join(hints)


def _check_expiry(roles: dict[str, Any], within_days: int, report: VerifyReport) -> None:
    limit = datetime.now(UTC) + timedelta(days=within_days)
    for role in ROLES:
        signed = roles[role]
        if signed.expires <= limit:
            report.problems.append(
                f"{role} expires {signed.expires:%Y-%m-%d %H:%M} UTC, within {within_days} "
                f"day(s): run `repo-tools refresh`"
                + (" with the root keys at hand" if role == Role.ROOT else "")
            )


def _check_trees(listed: dict[str, Any], report: VerifyReport) -> None:
    """Every format-2 target a release record names is listed (client.tree_format)."""
    for name, info in listed.items():
        try:
            parsed = parse_custom(name, info.custom)
        except FormatError:
            continue  # reported with the target itself
        if not isinstance(parsed, ArchiveInfo) or parsed.tree is None:
            continue
        for needed in tree_targets(parsed.app, parsed.version, parsed.tree):
            if needed not in listed:
                report.problems.append(
                    f"release {parsed.version} names {needed}, which is not in the targets "
                    "metadata: its format-2 clients would take the full archive. Release it "
                    "again, or restore the repository from a backup"
                )


def _check_stock_tufup(
    targets: dict[str, Any], only_targets: set[str] | None, report: VerifyReport
) -> None:
    """What would crash a stock tufup client or make it install wrong content
    (repo_tools.tufup_compat); a release's check reports what its new targets cause."""
    from repo_tools.tufup_compat import chain_problems

    problems = chain_problems({n: getattr(t, "custom", None) for n, t in targets.items()})
    if only_targets is not None:
        problems = [p for p in problems if any(f"{n} " in p for n in only_targets)]
    report.problems.extend(problems)


def _check_target(session: Session, name: str, scratch: str, report: VerifyReport) -> None:
    info = session.get_targetinfo(name)
    if info is None:  # cannot happen for a name listed in the verified targets metadata
        report.problems.append(f"target {name} is listed but cannot be looked up")
        return
    try:
        parse_custom(name, info.custom)
    except FormatError as error:
        report.problems.append(str(error))
    try:
        path = session.download_target(info, str(Path(scratch, "target.bin")))
        Path(path).unlink()
        report.targets_checked += 1
    except (RepositoryError, DownloadError) as error:
        report.problems.append(f"target {name}: {error}")
