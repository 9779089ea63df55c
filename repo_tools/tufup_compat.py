"""What stock tufup clients read of a repository, and the rules that keep them safe.

A stock tufup 0.10 client (``tufup.client.Client``) reads two things of targets metadata:
target names, through ``TargetMeta.filename_regex`` (``<name>-<version>`` then ``.tar.gz``
or ``.patch``; any other name it ignores), and of a target's custom metadata the dictionary
``custom["tufup"]`` when custom holds exactly the keys ``user`` and ``tufup``, else the whole
``custom`` dictionary; there it looks up ``required`` (archives) and ``tar_size``,
``tar_hash``, ``tar_hash_algorithm`` (patches: the uncompressed tar a patch chain must
rebuild). It installs the newest ``.tar.gz`` of its app above its version (the oldest
``required`` one first), by applying every ``.patch`` above its version up to that one, in
version order, to its cached archive, when they are smaller than the archive.

So here, as pure functions on target names and custom dictionaries (tests check them against
tufup's own code, run in its environment):

* :func:`tufup_reading` reads a name the way tufup does;
* :func:`for_tufup` adds to an archive's custom metadata what tufup reads of it (``required``);
* :func:`chain_problems` finds names tufup reads with no valid version (its client crashes)
  and tufup patch chains that would make a stock client install the
  wrong content under a newer name: tufup checks a rebuilt tar against the hash of the *last*
  patch it applied, so an archive version without its own ``.patch`` above one that has one
  lets a client apply the older chain and install that older content as the newer version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

TUFUP_ARCHIVE = ".tar.gz"
TUFUP_PATCH = ".patch"
# the same expression as tufup.common.TargetMeta.filename_regex (0.10)
_TUFUP_NAME_RE = re.compile(r"^(?P<name>[\w-]+)-(?P<version>.+)(?P<suffix>\.tar\.gz|\.patch)$")


@dataclass(frozen=True)
class TufupName:
    """A target name as tufup reads it: app, version (None: tufup's "No valid version",
    which crashes its client's comparison) and suffix (``.tar.gz`` or ``.patch``)."""

    app: str
    version: Version | None
    suffix: str

    @property
    def is_archive(self) -> bool:
        return self.suffix == TUFUP_ARCHIVE

    @property
    def is_patch(self) -> bool:
        return self.suffix == TUFUP_PATCH


def tufup_reading(target_name: str) -> TufupName | None:
    """How tufup reads `target_name` (its file name part); None when tufup ignores it."""
    match = _TUFUP_NAME_RE.search(target_name.rsplit("/", 1)[-1])
    if match is None:
        return None
    try:
        version: Version | None = Version(match["version"])
    except InvalidVersion:
        version = None
    return TufupName(match["name"], version, match["suffix"])


def tufup_internal(custom: Any) -> dict[str, Any]:
    """The dictionary tufup reads its own fields from (``TargetMeta.custom_internal``)."""
    if not isinstance(custom, dict):
        return {}
    if set(custom) == {"user", "tufup"}:
        inner = custom.get("tufup")
        return inner if isinstance(inner, dict) else {}
    return custom


def for_tufup(custom: dict[str, Any]) -> dict[str, Any]:
    """An archive's custom metadata with what tufup reads of it: ``required`` at the top
    level (our own fields stay under ``updater``; tufup reads the whole dictionary because it
    is not its ``user``/``tufup`` form). Other targets' metadata is returned as it is."""
    ours = custom.get("updater")
    if isinstance(ours, dict) and ours.get("kind") == "archive" and ours.get("required"):
        return {**custom, "required": True}
    return custom


def chain_problems(targets: dict[str, Any]) -> list[str]:
    """What would make a stock tufup client crash or install wrong content, from {target
    name: custom metadata}: a name it reads as an archive or patch with no valid version
    (its check_for_updates() raises), a patch without the signed tar size and hash tufup
    checks, and an archive above a patched version with no patch of its own (tufup would
    apply the older chain and name its result as the newer version)."""
    problems: list[str] = []
    archives: dict[str, set[Version]] = {}
    patches: dict[str, set[Version]] = {}
    for name, custom in sorted(targets.items()):
        reading = tufup_reading(name)
        if reading is None:
            continue
        if reading.version is None:
            problems.append(
                f"target {name}: stock tufup clients of {reading.app} read it as one of "
                "theirs with no valid version, and crash"
            )
            continue
        if reading.is_archive:
            archives.setdefault(reading.app, set()).add(reading.version)
            continue
        patches.setdefault(reading.app, set()).add(reading.version)
        internal = tufup_internal(custom)
        if not all(k in internal for k in ("tar_size", "tar_hash", "tar_hash_algorithm")):
            problems.append(
                f"target {name}: a tufup patch without tar_size, tar_hash and "
                "tar_hash_algorithm (stock clients cannot check what it rebuilds)"
            )
    for app, patched in sorted(patches.items()):
        lowest = min(patched)
        for version in sorted(archives.get(app, ())):
            if version > lowest and version not in patched:
                problems.append(
                    f"archive {app}-{version}{TUFUP_ARCHIVE} has no tufup patch "
                    f"{app}-{version}{TUFUP_PATCH} while older releases have one: a stock "
                    f"client below {version} would apply the older patches and install "
                    f"their content as {version} (keep tufup_patches on in repo-tools.json)"
                )
    return problems
