"""Building a new version's folder from the installed one and a delta (tree format, format 2).

One job: given the signed manifest of the new release, the installed base version (its folder
and its integrity manifest) and the TUF-verified delta file, write the new version's folder
into staging. Rules:

- Folders and links come from the signed manifest (its paths are checked by
  `client.tree_format.decode_manifest`: plain names, parents listed as folders first, links
  relative and inside), so building never follows a link.
- Every file the delta does not carry must be a file the base holds with the same sha256
  (`plan_tree`): it becomes a HARD LINK to the base's file (unchanged files cost no disk), a
  copy where linking fails or where the executable bit differs (a shared inode's mode is
  never changed: that would change the base version too).
- Every base file reused or patched is hashed (worker threads; hashlib releases the GIL)
  after it is linked into staging, and must match the base manifest: a damaged base is
  never carried into a new version.
- The delta is read as a stream: its index (`decode_index`, the right release) and then one
  member ``data/<n>`` per file in the index's order; a full file is written while hashed, a
  patch is applied to the verified base file (`hdiffpatch.apply`) and the result hashed.
  Every file must end with the size and sha256 the signed manifest gives it.

Any problem raises DeltaError naming it: the caller (`client.tree_install`) discards staging
and falls back to the full pack in the same update.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from client.archive import FIXED_MTIME
from client.tree_format import (
    DELTA_INDEX,
    MAX_INDEX_BYTES,
    DeltaIndex,
    Entry,
    How,
    Kind,
    Manifest,
    decode_index,
    plan_tree,
)

_CHUNK = 1 << 20
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_PATCH_SLACK = 1 << 20  # a patch may be larger than its file, but not without bound


class DeltaError(Exception):
    """The delta cannot build the release (missing base file, bad patch, wrong bytes)."""


def _mode(entry: Entry) -> int:
    return 0o755 if entry.executable else 0o644


def _write_stream(source: object, target: Path, entry: Entry, what: str) -> None:
    """Write `entry.size` bytes from a file object to a new file, checked against the entry."""
    digest = hashlib.sha256()
    written = 0
    fd = os.open(target, _NEW_FILE, _mode(entry))
    with os.fdopen(fd, "wb") as sink:
        while chunk := source.read(min(_CHUNK, entry.size - written + 1)):  # type: ignore[attr-defined]
            written += len(chunk)
            if written > entry.size:
                raise DeltaError(f"{what}: {entry.path} is larger than the signed manifest says")
            digest.update(chunk)
            sink.write(chunk)
        os.fchmod(sink.fileno(), _mode(entry))
        os.utime(sink.fileno(), (FIXED_MTIME, FIXED_MTIME))
    if written != entry.size or digest.hexdigest() != entry.sha256:
        raise DeltaError(f"{what}: {entry.path} does not match its sha256 in the signed manifest")


def _write_bytes(data: bytes, target: Path, entry: Entry, what: str) -> None:
    if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
        raise DeltaError(
            f"{what}: patched {entry.path} does not match its sha256 in the signed manifest"
        )
    fd = os.open(target, _NEW_FILE, _mode(entry))
    with os.fdopen(fd, "wb") as sink:
        sink.write(data)
        os.fchmod(sink.fileno(), _mode(entry))
        os.utime(sink.fileno(), (FIXED_MTIME, FIXED_MTIME))


def _share(source: str, target: str, entry: Entry) -> bool:
    """Hard-link `source` as `target` (True), or copy it with the entry's mode (False)."""
    info = os.lstat(source)
    if not stat.S_ISREG(info.st_mode):
        raise DeltaError(f"base file {source} is not a regular file (damaged base)")
    if bool(info.st_mode & stat.S_IXUSR) == entry.executable:
        try:
            os.link(source, target, follow_symlinks=False)
            return True
        except OSError:
            pass  # another file system, no hard links, too many links: copy instead
    with open(source, "rb") as src:
        fd = os.open(target, _NEW_FILE, _mode(entry))
        with os.fdopen(fd, "wb") as sink:
            shutil.copyfileobj(src, sink, _CHUNK)
            os.fchmod(sink.fileno(), _mode(entry))
            os.utime(sink.fileno(), (FIXED_MTIME, FIXED_MTIME))
    return False


def read_index(tar: tarfile.TarFile, app: str, base: str, version: str) -> DeltaIndex:
    """The delta's first member, its index, decoded and checked."""
    member = tar.next()
    if member is None or member.name != DELTA_INDEX or not member.isreg():
        raise DeltaError(f"delta {base} -> {version} does not start with its index")
    if member.size > MAX_INDEX_BYTES:
        raise DeltaError(f"delta {base} -> {version}: its index is larger than allowed")
    source = tar.extractfile(member)
    assert source is not None  # a regular member
    return decode_index(source.read(), app, base, version)


def apply_delta(
    delta: Path,
    staged: Path,
    base_dir: Path,
    base: dict[str, str],
    manifest: Manifest,
    base_version: str,
    workers: int | None = None,
) -> dict[str, int]:
    """Build `manifest`'s release in the empty folder `staged` from the base version's folder
    `base_dir` (integrity manifest `base`) and the verified delta file; returns counts
    {"linked", "copied", "full", "patched"}. DeltaError (or OSError) on any problem."""
    import hdiffpatch

    from client.formats import FormatError

    what = f"delta {base_version} -> {manifest.version}"
    files = manifest.files()
    plan = plan_tree(base, manifest)
    counts = {"linked": 0, "copied": 0, "full": 0, "patched": 0}
    with tarfile.open(delta, mode="r|xz") as tar:
        try:
            index = read_index(tar, manifest.app, base_version, manifest.version)
        except FormatError as error:
            raise DeltaError(str(error)) from None
        carried: dict[str, int] = {}
        for number, item in enumerate(index.files):
            entry = files.get(item.path)
            if entry is None or item.path in carried:
                raise DeltaError(f"{what}: {item.path} is not a file of the signed manifest")
            carried[item.path] = number
            if item.how is How.PATCH and base.get(item.base_path) != f"file:{item.base_sha256}":
                raise DeltaError(
                    f"{what}: the patch of {item.path} starts from {item.base_path}, which the "
                    f"installed {base_version} does not hold with that sha256"
                )
        unsourced = [p for p in files if p not in carried and p not in plan.reuse]
        if unsourced:
            raise DeltaError(f"{what}: {unsourced[0]} is neither in the delta nor in the base")
        # 1. the tree: folders, links, every unchanged file shared with the base
        staged.mkdir(parents=True)
        to_check: dict[str, tuple[str, str]] = {}  # staged file -> (sha256, base path)
        top, base_top = str(staged), str(base_dir)
        for entry in manifest.entries:
            target = os.path.join(top, entry.path)
            if entry.kind is Kind.DIR:
                os.mkdir(target, 0o755)
                os.chmod(target, 0o755)
            elif entry.kind is Kind.LINK:
                os.symlink(entry.target, target)
            elif entry.path not in carried:
                source = os.path.join(base_top, plan.reuse[entry.path])
                linked = _share(source, target, entry)
                counts["linked" if linked else "copied"] += 1
                to_check[target] = (entry.sha256, plan.reuse[entry.path])
        # 2. what is shared must be what the base manifest says (patch bases: when read)
        _verify_all(to_check, base_version, workers)
        # 3. the delta's files, in its order
        for number, item in enumerate(index.files):
            member = tar.next()
            if member is None or member.name != f"data/{number}" or not member.isreg():
                raise DeltaError(f"{what}: member data/{number} is missing or not a file")
            source = tar.extractfile(member)
            assert source is not None
            entry = files[item.path]
            target = staged / item.path
            if item.how is How.FULL:
                if member.size != entry.size:
                    raise DeltaError(f"{what}: {item.path} has the wrong size")
                _write_stream(source, target, entry, what)
                counts["full"] += 1
                continue
            if member.size > 2 * entry.size + _PATCH_SLACK:
                raise DeltaError(f"{what}: the patch of {item.path} is larger than allowed")
            old = _read_base(base_dir, item.base_path, base_version)
            if hashlib.sha256(old).hexdigest() != item.base_sha256:
                raise DeltaError(
                    f"installed file {item.base_path} of {base_version} does not match its "
                    "manifest (damaged base)"
                )
            try:
                new = hdiffpatch.apply(old, source.read())
            except (hdiffpatch.HDiffPatchError, ValueError, MemoryError) as error:
                raise DeltaError(f"{what}: the patch of {item.path} fails: {error}") from None
            del old
            _write_bytes(new, target, entry, what)
            counts["patched"] += 1
        if tar.next() is not None:
            raise DeltaError(f"{what}: members after the last file of its index")
    return counts


def _read_base(base_dir: Path, path: str, base_version: str) -> bytes:
    """The bytes of a base file to patch (a regular file, never through a link)."""
    try:
        fd = os.open(base_dir / path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as error:
        what = f"installed file {path} of {base_version}"
        raise DeltaError(f"{what} cannot be read: {error}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise DeltaError(f"installed file {path} of {base_version} is not a regular file")
        return handle.read()


def _verify_all(files: dict[str, tuple[str, str]], base_version: str, workers: int | None) -> None:
    """Every staged file's sha256 is the one its base file must have; DeltaError names the
    first that is not. The files are split by size into one batch per worker thread (hashlib
    releases the GIL while it hashes), so thousands of small files cost no per-file task."""
    if not files:
        return
    count = max(1, min(workers or os.cpu_count() or 1, 8, len(files)))
    batches: list[list[str]] = [[] for _ in range(count)]
    loads = [0] * count
    sizes = {path: os.lstat(path).st_size + 4096 for path in files}
    for path in sorted(files, key=lambda p: -sizes[p]):  # largest first: even load
        lightest = loads.index(min(loads))
        batches[lightest].append(path)
        loads[lightest] += sizes[path]

    def check(batch: list[str]) -> str | None:
        for path in batch:
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            if digest != files[path][0]:
                return files[path][1]
        return None

    with ThreadPoolExecutor(max_workers=count) as pool:
        for bad in pool.map(check, batches):
            if bad is not None:
                raise DeltaError(
                    f"installed file {bad} of {base_version} does not match its manifest "
                    "(damaged base)"
                )
