"""What may go into a release archive: exclusion rules, and the refusal of secrets.

`release` archives a bundle folder for every user to download, so before anything is built:

* **Exclusion rules** (`bundle_exclude` in repo-tools.json, glob patterns like .gitignore's):
  `name/` leaves out every folder of that name (and all in it), `name` every file or folder
  of that name, at any depth; a pattern with a `/` inside (or a leading `/`) is anchored at
  the bundle folder, one component per `/`. `*`, `?` and `[...]` match within a component.
  The rule is a pure function of the path, so the same folder always gives the same tar.
* **Secrets refused** in what remains: the keys folder, the repository folder, and any file
  holding private key material (PEM private-key headers in any file, streamed in 1 MiB
  chunks with an overlap; in files up to 1 MiB also securesystemslib/tufup JSON keys with a
  private part, legacy encrypted securesystemslib keys, PuTTY keys, JSON Web Keys with a
  private part; PKCS#12 files by name). The error names the file and what to do.

The client never applies these rules: it archives an installed or unpacked bundle exactly
as it is (docs/decisions.md, "What the bundle carries").
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from client.archive import BundleError, check_bundle
from repo_tools.errors import RepoError, reported_as

# raised whenever what the secret scan looks for changes: files scanned under other rules are
# scanned again (repo_tools.build_cache keeps which files passed)
SCAN_RULES = 2

DEFAULT_BUNDLE_EXCLUDE: tuple[str, ...] = (
    ".git/",
    "__pycache__/",
    "*.pyc",
    ".env",
    ".DS_Store",
    "Thumbs.db",
    "*~",
    ".*.swp",
    ".idea/",
    ".vscode/",
)
CHUNK = 1 << 20  # bytes read at a time
OVERLAP = 256  # bytes kept from the previous chunk, so a header split by a chunk is found
SMALL_FILE = CHUNK  # files up to this size (one read) are also checked for structured keys

_PEM_ANCHOR = b"PRIVATE KEY"
# a header that starts an armored block: a line break, RFC 1421 / OpenPGP header lines
# ("Proc-Type: ...", "Version: ..."), maybe a blank line, then base64. The header text alone
# (code that reads keys, e.g. Qt's network library: the header, then a NUL byte) is no key.
_PEM = re.compile(
    rb"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----[ \t]*\r?\n"
    rb"(?:[A-Za-z][A-Za-z0-9-]*:[^\r\n]*\r?\n)*(?:[ \t]*\r?\n)?[A-Za-z0-9+/=]{4,}"
)
# (what it is, anchor searched first, confirming pattern, what the file must also hold)
_STRUCTURED: tuple[tuple[str, bytes, re.Pattern[bytes], bytes], ...] = (
    (
        "a securesystemslib/tufup JSON key with its private part",
        b'"private"',
        re.compile(rb'"private"\s*:\s*"[^"\s]{16,}"'),
        b'"keyval"',
    ),
    (
        "an encrypted securesystemslib private key",
        b"@@@@",
        re.compile(rb"[0-9a-f]{16,}@@@@[0-9]+@@@@[0-9a-f]{16,}@@@@"),
        b"@@@@",
    ),
    ("a PuTTY private key", b"PuTTY-User-Key-File-", re.compile(rb"PuTTY-User-Key-File-\d"), b""),
    (
        "a JSON Web Key with its private part",
        b'"d"',
        re.compile(rb'"d"\s*:\s*"[A-Za-z0-9_-]{16,}"'),
        b'"kty"',
    ),
)
_KEY_CONTAINERS = ("*.p12", "*.pfx")  # binary PKCS#12: private keys that cannot be read


class BundleRefused(RepoError):
    """The bundle would publish something that must stay private, or cannot be archived."""


def pattern_problem(patterns: object) -> str | None:
    """Why `patterns` is not a valid bundle_exclude list, or None (pure)."""
    example = 'e.g. ["*.log", "build/", "/docs/drafts/"]'
    if not isinstance(patterns, list):
        return f"bundle_exclude is {patterns!r}: give a list of glob patterns, {example}"
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            return f"bundle_exclude[{index}] is {pattern!r}: give a glob pattern string, {example}"
        parts = pattern.strip("/").split("/")
        if not pattern.strip("/") or "\\" in pattern or "\x00" in pattern:
            return (
                f"bundle_exclude[{index}] {pattern!r} is not a pattern: use '/' between folders "
                f"and name at least one file or folder, {example}"
            )
        if any(part in ("", ".", "..") for part in parts):
            return (
                f"bundle_exclude[{index}] {pattern!r} has an empty, '.' or '..' component: "
                "patterns name paths inside the bundle folder"
            )
    return None


@dataclass(frozen=True)
class ExclusionRule:
    """bundle_exclude as a pure predicate on (relative posix path, is a folder)."""

    patterns: tuple[str, ...]

    def matching(self, relative: str, is_dir: bool) -> str | None:
        """The first pattern that leaves this entry out, or None."""
        parts = relative.split("/")
        for pattern in self.patterns:
            if pattern.endswith("/") and not is_dir:
                continue
            body = pattern.strip("/")
            if "/" not in pattern.rstrip("/"):  # a name: matched at any depth
                if fnmatch.fnmatchcase(parts[-1], body):
                    return pattern
                continue
            anchored = body.split("/")
            if len(anchored) == len(parts) and all(
                fnmatch.fnmatchcase(part, glob) for part, glob in zip(parts, anchored, strict=True)
            ):
                return pattern
        return None

    def __call__(self, relative: str, is_dir: bool) -> bool:
        return self.matching(relative, is_dir) is not None


@dataclass
class _Recorder:
    rule: ExclusionRule
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (path, pattern)

    def __call__(self, relative: str, is_dir: bool) -> bool:
        pattern = self.rule.matching(relative, is_dir)
        if pattern is not None:
            self.excluded.append((relative + ("/" if is_dir else ""), pattern))
        return pattern is not None


@dataclass(frozen=True)
class BundleInspection:
    """What `release` will archive from a bundle folder, and proof the secret scan ran."""

    entries: list[Path]  # what goes into the archive (folders, files, links)
    excluded: list[tuple[str, str]]  # (path left out, the pattern that left it out), sorted
    files_scanned: int
    bytes_scanned: int
    seconds: float


def inspect_bundle(
    bundle: Path,
    rule: ExclusionRule,
    keys: Path,
    repo: Path,
    scanned_before: Callable[[Path], bool] | None = None,
) -> BundleInspection:
    """Apply the exclusion rule, check what remains can be archived (client.archive) and
    holds no secret; BundleRefused names the first problem and what to do. A file
    `scanned_before` says is unchanged since a release that scanned it (repo_tools.build_cache:
    same stat signature, same scan rules) is not read again; it counts as scanned."""
    recorder = _Recorder(rule)
    with reported_as(BundleRefused, BundleError):
        entries = check_bundle(bundle, recorder)
    root = bundle.resolve()
    for label, folder, option in (("keys", keys, "--keys"), ("repository", repo, "--repo")):
        _refuse_folder_in_bundle(bundle, root, entries, label, folder.resolve(), option)
    started = time.perf_counter()
    files = size = 0
    for path in entries:
        if path.is_symlink() or not path.is_file():
            continue  # links are archived as links: their targets' bytes are not published
        relative = path.relative_to(bundle).as_posix()
        found = None if scanned_before and scanned_before(path) else private_key_in(path, relative)
        if found:
            raise BundleRefused(
                f"bundle file {relative} (in {bundle}) holds {found}: private keys must never "
                "reach users. Remove it from the bundle folder (or, if it must stay there, "
                "add it to bundle_exclude in repo-tools.json); if it is one of this "
                "repository's keys, treat it as exposed and rotate it"
            )
        files += 1
        size += path.stat().st_size
    excluded = sorted(recorder.excluded)
    return BundleInspection(entries, excluded, files, size, time.perf_counter() - started)


def _refuse_folder_in_bundle(
    bundle: Path, root: Path, entries: list[Path], label: str, folder: Path, option: str
) -> None:
    """Refuse a bundle inside the keys/repository folder, or holding it (unless excluded)."""
    if root.is_relative_to(folder):
        raise BundleRefused(
            f"bundle folder {bundle} is inside the {label} folder {folder}: give --bundle the "
            "folder your build writes the application to"
        )
    if not folder.is_relative_to(root):
        return
    inside = folder.relative_to(root).as_posix()
    if bundle / inside in set(entries):  # present and not excluded: it would be archived
        raise BundleRefused(
            f"bundle folder {bundle} contains the {label} folder ({inside}/, the {option} "
            f"folder): releasing it would publish {_what(label)} to every user. Give --bundle "
            f'the folder your build writes the application to, or add "{inside}/" to '
            "bundle_exclude in repo-tools.json"
        )


def _what(label: str) -> str:
    if label == "keys":
        return "the private signing keys"
    return "the repository itself (its configuration and every release)"


def private_key_in(path: Path, name: str) -> str | None:
    """What private key material the file holds ("a PEM private key ('-----BEGIN ...')"),
    or None.

    Every file is read once, CHUNK bytes at a time with the last OVERLAP bytes carried over,
    so a header split between two reads is still found; a fast search for a fixed anchor runs
    first and the confirming pattern only where the anchor occurs. A small file (one read)
    is also checked for the structured key formats, on its whole content."""
    if any(fnmatch.fnmatchcase(name.rsplit("/", 1)[-1].lower(), g) for g in _KEY_CONTAINERS):
        return "a PKCS#12 key container (.p12/.pfx), which holds private keys"
    small = path.stat().st_size <= SMALL_FILE
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            window = tail + chunk
            if window.find(_PEM_ANCHOR) >= 0 and (pem := _PEM.search(window)):
                return f"a PEM private key ('-----BEGIN {pem.group(1).decode()}-----')"
            if small:  # SMALL_FILE <= CHUNK: this window is the whole file
                small = False
                for what, anchor, pattern, needs in _STRUCTURED:
                    if window.find(anchor) >= 0 and pattern.search(window) and needs in window:
                        return what
            tail = window[-OVERLAP:]
    return None


def summarise_excluded(excluded: Iterable[tuple[str, str]], limit: int = 8) -> str:
    """`.git/ (.git/), lib/x.pyc (*.pyc), ... and 3 more` (pure)."""
    items = [f"{path} ({pattern})" for path, pattern in excluded]
    if not items:
        return "nothing"
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
