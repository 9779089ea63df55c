"""Verify and repair the installed version against its signed release (`verify --repair`).

For a release of the tree format the reference is its signed manifest, and repair takes the
bytes of the broken entries from its pack (`client.tree_repair`). For a format-1 release it is
the release's tar, checked against its signed sha256: the cached patch base when it still
matches, else the full archive downloaded and verified through TUF. It is extracted into
staging with the same archive rules as an install, compared file by file, and with `repair`
every modified or missing file is put back; files the release does not contain
are reported, never removed. Runs in the shared frame (`Core.operation`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from client.errors import ErrorKind, UpdateError
from client.frame import Core
from client.tuf_session import Session


def _release(session: Session, app: str, version: str) -> Any:
    from client.selection import catalog

    release = catalog(app, session.targets()).releases.get(version)
    if release is None:
        raise UpdateError(
            ErrorKind.VERIFICATION,
            f"{app} {version} is no longer in the signed release list (the publisher pruned "
            "it), so its files cannot be checked: update to a published version",
        )
    return release


def _reference(
    core: Core, session: Session, transport: Any, app: str, version: str, repair: bool
) -> tuple[Any, ...]:
    """("tree", found, repaired, after) for a release of the tree format, checked against
    its signed manifest and repaired from its pack; else ("tar", tar path, unpacked size)."""
    release = _release(session, app, version)
    if release.info.tree is None:
        return ("tar", *_signed_tar(core, session, transport, app, release))
    from client.assemble import fetch_target
    from client.tree_format import pack_name
    from client.tree_install import fetch_manifest
    from client.tree_repair import compare_signed, repair_from_pack

    progress = core.events.progress()
    entries = release.info.tree.entries
    manifest = fetch_manifest(core.layout, session, transport, app, version, entries, progress)
    installed = core.layout.version_dir(version)
    found = compare_signed(manifest, installed)
    if not repair or found.intact:
        return "tree", found, [], found
    pack = fetch_target(core.layout, session, transport, pack_name(app, version), progress)
    try:
        broken = sorted(found.modified + found.missing)
        repaired = repair_from_pack(pack, installed, manifest, broken)
    finally:
        pack.unlink(missing_ok=True)
    return "tree", found, repaired, compare_signed(manifest, installed)


def _signed_tar(
    core: Core, session: Session, transport: Any, app: str, release: Any
) -> tuple[Path, int]:
    """The verified tar of the installed `version` (cached patch base, else downloaded)."""
    from client.assemble import build_tar
    from client.files import file_digest

    tar = core.layout.base_tar(app, release.info.version)
    signed = (release.info.tar_size, release.info.tar_sha256)
    if not (tar.is_file() and file_digest(tar) == signed):
        plan = (release, [])  # the full archive: there is no patch into the same version
        tar, _, _ = build_tar(core.layout, session, transport, app, plan, core.events.progress())
    return tar, release.info.unpacked_size


def verify_install(core: Core, repair: bool = False) -> dict[str, Any]:
    """Compare the current version's files with its signed release; with `repair`, put back
    every modified or missing file. Returns {"version", "intact", "modified", "missing",
    "extra", "repaired"}."""
    from client.extract import extract_tar
    from client.install import clean_staging
    from client.integrity import compare_tree, repair_tree

    with core.operation("repaired" if repair else "verified") as op:
        version = core.layout.current_version() or ""
        link_problem = _current_link_problem(core, version)
        if link_problem and repair and core.layout.version_dir(version).is_dir():
            from client.install import switch_current

            switch_current(core.layout, version)  # back to the kept folder of that version
            repaired_link = True
        else:
            repaired_link = False
        app = op.state.app
        installed = core.layout.version_dir(version)
        online = core.online(lambda s, t: _reference(core, s, t, app, version, repair))
        if online.result[0] == "tree":  # checked (and repaired) against the signed manifest
            _, found, repaired, after = online.result
        else:
            _, tar, unpacked = online.result
            try:
                clean_staging(core.layout)
                reference = core.layout.staging / version
                extract_tar(tar, reference, unpacked)
                found = compare_tree(reference, installed)
                repaired = repair_tree(reference, installed, found) if repair else []
                after = compare_tree(reference, installed) if repaired else found
            finally:
                clean_staging(core.layout)
        intact = after.intact and (not link_problem or repaired_link)
        op.record(
            "repaired" if repaired or repaired_link else "verified",
            to_version=version,
            result="intact" if intact else "damaged",
            modified=len(found.modified),
            missing=len(found.missing),
            repaired=len(repaired),
        )
    report = {"version": version, **found.to_dict(), "repaired": repaired}
    report["intact"] = intact
    if link_problem:
        report["current_link"] = link_problem
        if repaired_link:
            report["repaired"] = ["current", *repaired]
    return report


def _current_link_problem(core: Core, version: str) -> str:
    """Why `current` does not point at versions/<version> inside this install root, or ""."""
    import os

    link = core.layout.current_link
    try:
        target = os.readlink(link)
    except OSError:
        try:
            target = link.read_text(encoding="utf-8").strip()  # the pointer-file form
        except OSError as error:
            return f"`current` cannot be read ({error})"
    if target in (os.path.join("versions", version), str(core.layout.version_dir(version))):
        return ""
    return f"`current` points at {target}, not at versions/{version} of this install root"
