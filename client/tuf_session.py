"""The TUF session over the update mirrors: the product's one way into python-tuf's ngclient.

Rules:
- A fresh ngclient `Updater` per mirror: the trusted metadata on disk only ever holds what
  verified, so a hostile or broken first mirror cannot poison the attempt on the second.
- The trusted root ngclient starts from (its `bootstrap`) is the cached trusted root
  (cache/metadata/root.json, a link into root_history/ since tuf 7; a plain file in the layout
  of earlier clients, which ngclient then moves into root_history/ itself). When that is
  missing or damaged, the root the installed bundle carries replaces it: exactly what `setup`
  trusted; ngclient walks the signed root chain forward from it again. Never from the network.
- ngclient has no public API for two things this product needs: the split refresh (root and
  timestamp first, so an up-to-date check can stop there: the specification's steps 5.3 and
  5.4, then 5.5 and 5.6) and the verified top-level roles (the release list and expiries).
  Those internals are named in NGCLIENT_INTERNALS, used here and nowhere else (the
  conformance command `client/conformance.py` uses ngclient's public API only), and
  `missing_internals()` (run by tests/test_tuf_session.py) fails loudly if a tuf upgrade
  removes them. The verified roles are read from memory rather than re-read from the
  metadata folder: what was verified is exactly what is used, and it is parsed once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tuf.api.exceptions import DownloadError, RepositoryError
from tuf.api.metadata import Metadata, Root, TargetFile
from tuf.ngclient import FetcherInterface
from tuf.ngclient import Updater as NgUpdater

from client.errors import ErrorKind, UpdateError, describe
from client.files import atomic_write_bytes
from client.layout import ROOT_FILE, Layout

_log = logging.getLogger(__name__)
T = TypeVar("T")

# what this module relies on beyond ngclient's public API (checked by missing_internals)
NGCLIENT_INTERNALS: dict[str, tuple[str, ...]] = {
    "Updater": ("_trusted_set", "_load_root", "_load_timestamp", "_load_snapshot", "_load_targets"),
    "TrustedMetadataSet": ("root", "timestamp", "snapshot", "targets"),
}


def missing_internals() -> list[str]:
    """The ngclient internals this module uses that the installed tuf no longer has."""
    try:
        from tuf.ngclient._internal.trusted_metadata_set import TrustedMetadataSet
    except ImportError:
        return ["tuf.ngclient._internal.trusted_metadata_set.TrustedMetadataSet"]
    missing = [
        f"Updater.{name}"
        for name in NGCLIENT_INTERNALS["Updater"][1:]
        if not callable(getattr(NgUpdater, name, None))
    ]
    missing += [
        f"TrustedMetadataSet.{name}"
        for name in NGCLIENT_INTERNALS["TrustedMetadataSet"]
        if not isinstance(getattr(TrustedMetadataSet, name, None), property)
    ]
    return missing


class Session:
    """One TUF session against one mirror: a verified ngclient Updater and our transport."""

    def __init__(self, ng: NgUpdater, mirror: str) -> None:
        self._ng = ng
        self.mirror = mirror  # the metadata URL of the mirror that answered

    # -- the top-level refresh, in two parts ------------------------------------------------

    def refresh_root_and_timestamp(self) -> None:
        """Steps 5.3 (root chain) and 5.4 (timestamp): the network part of an up-to-date check."""
        self._ng._load_root()
        self._ng._load_timestamp()

    def finish_refresh(self) -> None:
        """Steps 5.5 (snapshot) and 5.6 (top-level targets), after root and timestamp."""
        self._ng._load_snapshot()
        self._ng._load_targets("targets", "root")

    def refresh(self) -> None:
        """The whole top-level refresh (ngclient's public `refresh`)."""
        self._ng.refresh()

    # -- the verified roles ----------------------------------------------------------------

    def targets(self) -> dict[str, TargetFile]:
        """The verified top-level targets: every release and patch the repository signs."""
        return dict(self._ng._trusted_set.targets.targets)

    def snapshot_version(self) -> int:
        """The snapshot version the verified timestamp names."""
        return int(self._ng._trusted_set.timestamp.snapshot_meta.version)

    def roles(self) -> dict[str, Any]:
        """The verified top-level roles by name (root, timestamp, snapshot, targets)."""
        trusted = self._ng._trusted_set
        return {role: getattr(trusted, role) for role in NGCLIENT_INTERNALS["TrustedMetadataSet"]}

    def listing_expires(self) -> float:
        """Epoch seconds when the verified snapshot or targets expires, whichever is first."""
        trusted = self._ng._trusted_set
        return min(trusted.snapshot.expires, trusted.targets.expires).timestamp()

    # -- targets (ngclient's public API) ------------------------------------------------------

    def get_targetinfo(self, name: str) -> TargetFile | None:
        return self._ng.get_targetinfo(name)

    def find_cached_target(self, info: TargetFile, path: str) -> str | None:
        return self._ng.find_cached_target(info, path)

    def download_target(self, info: TargetFile, path: str) -> str:
        return self._ng.download_target(info, path)


def open_session(
    metadata_dir: Path,
    metadata_url: str,
    fetcher: FetcherInterface,
    bootstrap: bytes,
    targets_url: str | None = None,
    targets_dir: Path | None = None,
) -> Session:
    """A session on one repository (no network yet): for tools that verify a repository."""
    ng = NgUpdater(
        metadata_dir=str(metadata_dir),
        metadata_base_url=metadata_url,
        target_dir=str(targets_dir) if targets_dir else None,
        target_base_url=targets_url,
        fetcher=fetcher,
        bootstrap=bootstrap,
    )
    return Session(ng, metadata_url)


def _root(data: bytes) -> Metadata[Root] | None:
    try:
        md = Metadata.from_bytes(data)
    except Exception:  # noqa: BLE001 - any damage at all means: not a usable root
        return None
    return md if isinstance(md.signed, Root) else None


def _is_root(data: bytes) -> bool:
    return _root(data) is not None


def _next_root(trusted: Metadata[Root], new: Metadata[Root]) -> bool:
    """Would ngclient accept `new` right after `trusted` (5.3.4-5.3.5: signed by the
    threshold of both, version one higher)?"""
    try:
        trusted.verify_delegate(Root.type, new)
        new.verify_delegate(Root.type, new)
    except Exception:  # noqa: BLE001 - any failure means: not the next root
        return False
    return new.signed.version == trusted.signed.version + 1


def _chained(history: Path, lower: Metadata[Root], higher: Metadata[Root]) -> bool | None:
    """Does `higher` descend from `lower` through the roots kept in root_history/? None when
    an intermediate root is not kept (the layout of earlier clients): it cannot be told."""
    if higher.signed.version == lower.signed.version:
        return higher.signed.to_dict() == lower.signed.to_dict()
    anchor = lower
    for version in range(lower.signed.version + 1, higher.signed.version):
        try:
            step = _root((history / f"{version}.root.json").read_bytes())
        except OSError:
            step = None
        if step is None:
            return None
        if not _next_root(anchor, step):
            return False
        anchor = step
    return _next_root(anchor, higher)


def _foreign(layout: Layout, cached: Metadata[Root], bundled: Metadata[Root]) -> bool:
    """Is the cached root one this install never trusted (another repository's root, copied
    in), so the root the installed bundle carries must replace it?

    Only when neither root descends from the other, and the bundle's root is one this client
    already verified (kept in root_history/, or no history yet: what setup wrote). A bundle
    root it never verified (a release signed with the targets key alone could carry any) is
    never preferred to the verified cache: that would hand trust to whoever signs targets."""
    history = layout.metadata_dir / "root_history"
    low, high = sorted((cached, bundled), key=lambda md: md.signed.version)
    if _chained(history, low, high) is not False:
        return False
    if not history.is_dir():
        return True
    try:
        kept = _root((history / f"{bundled.signed.version}.root.json").read_bytes())
    except OSError:
        return False
    return kept is not None and kept.signed.to_dict() == bundled.signed.to_dict()


def trusted_root(layout: Layout) -> bytes:
    """The root ngclient starts from: the cached trusted root, else the installed bundle's.

    A damaged or missing cache/metadata/root.json (disk error, bad edit, a link left
    dangling) is replaced by the root the running bundle carries; so is a valid root of
    another repository there (`_foreign`), once, with a warning."""
    trusted = layout.metadata_dir / "root.json"
    bundled = layout.current_link / ROOT_FILE
    try:
        data = trusted.read_bytes()
        cached = _root(data)
    except OSError:
        cached = None
    if cached is not None:
        try:
            bundle_data = bundled.read_bytes()
        except OSError:
            return data  # nothing to compare with: the verified cache stands
        anchor = _root(bundle_data) if bundle_data != data else None
        if anchor is None or not _foreign(layout, cached, anchor):
            return data
        _log.warning(
            "the trusted root %s does not descend from the root the installed version "
            "carries (%s): it is the root of another repository or was replaced; starting "
            "again from the installed version's root",
            trusted,
            bundled,
        )
        return _restore(trusted, bundle_data)
    try:
        data = bundled.read_bytes()
    except OSError as error:
        data, problem = b"", str(error)
    else:
        problem = "not root metadata"
    if not _is_root(data):
        raise UpdateError(
            ErrorKind.VERIFICATION,
            f"the trusted root metadata {trusted} is damaged and the installed bundle's "
            f"{bundled} cannot replace it ({problem}): reinstall the application",
        )
    _log.warning("trusted root %s was damaged: restored from %s", trusted, bundled)
    return _restore(trusted, data)


def _restore(trusted: Path, data: bytes) -> bytes:
    if trusted.is_symlink():
        trusted.unlink()
    atomic_write_bytes(trusted, data)
    return data


def on_mirrors(
    layout: Layout,
    servers: list[dict[str, str]],
    transport: Any,
    action: Callable[[Session], T],
    full_refresh: bool = True,
) -> tuple[T, str]:
    """Run `action(session)` against each mirror in order until one succeeds; returns its
    result and the metadata URL of the mirror that answered.

    With `full_refresh` the session is fully refreshed first; otherwise only root and timestamp
    are (the action calls `finish_refresh()` unless it can stop there). One mirror's failure
    is reported as it is; several are summed up in one message, each numbered."""
    bootstrap = trusted_root(layout)
    failures: list[tuple[str, UpdateError]] = []
    for server in servers:
        try:
            with transport.operation():
                session = open_session(
                    layout.metadata_dir,
                    server["metadata_url"],
                    transport,
                    bootstrap,
                    server["targets_url"],
                    layout.targets_dir,
                )
                if full_refresh:
                    session.refresh()
                else:
                    session.refresh_root_and_timestamp()
                return action(session), session.mirror
        except (DownloadError, RepositoryError) as error:
            problem = describe(
                error,
                last_metadata=transport.last_metadata,
                root_file=layout.metadata_dir / "root.json",
                clock_offset=getattr(transport, "clock_offset", None),
            )
            if problem.kind == ErrorKind.SIGNATURE:
                problem = _with_repair_hint(layout, bootstrap, problem)
            _log.info(
                "update server %s failed: %s (%s)", server["metadata_url"], problem, problem.detail
            )
            failures.append((server["metadata_url"], problem))
    if len(failures) == 1:
        raise failures[0][1]
    numbered = list(enumerate(failures, 1))
    summary = "; ".join(f"{i}) {url}: {p.message}" for i, (url, p) in numbered)
    detail = "; ".join(f"{i}) {url}: {p.detail}" for i, (url, p) in numbered)
    raise UpdateError(
        failures[-1][1].kind, f"all {len(failures)} update servers failed: {summary}", detail
    )


def _with_repair_hint(layout: Layout, bootstrap: bytes, problem: UpdateError) -> UpdateError:
    """A signature failure from a trusted root that the installed version's root does not
    lead to (and that `trusted_root` could not safely replace): say how to start again."""
    bundle_file = layout.current_link / ROOT_FILE
    try:
        bundled = _root(bundle_file.read_bytes())
    except OSError:
        return problem
    cached = _root(bootstrap)
    if bundled is None or cached is None:
        return problem
    low, high = sorted((cached, bundled), key=lambda md: md.signed.version)
    if _chained(layout.metadata_dir / "root_history", low, high) is not False:
        return problem
    hint = (
        f"; the trusted root {layout.metadata_dir / 'root.json'} does not lead to the root the "
        "installed version carries: if this keeps happening and the publisher did not announce "
        f"new keys, replace that file with a copy of {bundle_file} and check again"
    )
    return UpdateError(problem.kind, problem.message + hint, problem.detail)
