"""The publisher's side of format 2 (issue 11): framed archives, the manifest, deltas, the
build cache, and what prune and verify do with them. Real `repo-tools` subprocesses on real
repositories; the published files are read back as a client would read them."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import zstandard

from client.formats import parse_custom
from client.tree_format import (
    DELTA_INDEX,
    How,
    Kind,
    decode_index,
    decode_manifest,
)
from repo_tools.build_cache import CACHE_DIR
from repo_tools.tree_build import frame_starts
from tests.support.bundles import make_bundle
from tests.support.publisher import Publisher, refused, release_bundle, run_tools, tools_ok

APP = "demo"


def _record(publisher: Publisher, version: str):  # type: ignore[no-untyped-def]
    data = json.loads(max((publisher.repo / "metadata").glob("*.targets.json"),
                          key=lambda p: int(p.name.split(".")[0])).read_text())  # fmt: skip
    name = f"{APP}-{version}.tar.gz"
    target = data["signed"]["targets"][name]
    return parse_custom(name, target.get("custom"), target["hashes"])


def _manifest(publisher: Publisher, version: str, entries: int):  # type: ignore[no-untyped-def]
    data = publisher.target_file(f"{APP}-{version}.manifest.zst").read_bytes()
    return decode_manifest(data, APP, version, entries)


def _pack_tar(publisher: Publisher, version: str) -> bytes:
    with open(publisher.target_file(f"{APP}-{version}.tar.zst"), "rb") as handle:
        reader = zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True)
        return reader.read()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bundle(folder: Path, files: int = 60) -> Path:
    make_bundle(folder)
    for number in range(files):  # many small files, so the tar has several frames
        (folder / "lib" / f"module_{number:03d}.py").write_text(f"VALUE = {number}\n" * 300)
    (folder / "lib" / "big.bin").write_bytes(os.urandom(1_500_000))  # a frame of its own
    return folder


def test_frames_start_by_name_so_one_new_file_moves_no_other_boundary() -> None:
    names = [(f"lib/m{n:04d}.py", 3000) for n in range(400)]
    starts = frame_starts(names)
    assert 3 < len(starts) < 100
    added = sorted([*names, ("lib/m0100a.py", 3000)])
    new_starts = {added[i][0] for i in frame_starts(added)}
    old_starts = {names[i][0] for i in starts}
    assert old_starts - new_starts == set()  # every old boundary is still one
    assert len(new_starts - old_starts) <= 2  # the new file starts at most itself and its next
    big = frame_starts([("a/x", 10), ("a/y", 5 << 20), ("a/z", 10)])
    assert big == [0, 1, 2]  # a big file is a frame of its own


def test_archive_pack_and_manifest_describe_the_same_tar(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path)
    bundle = _bundle(tmp_path / "bundle")
    release_bundle(publisher.repo, publisher.keys, bundle, "--version", "1.0.0")
    record = _record(publisher, "1.0.0")
    assert record.tree is not None and record.tree.format == 2 and record.tree.bases == ()

    from_pack = _pack_tar(publisher, "1.0.0")
    with gzip.open(publisher.archive("1.0.0")) as handle:  # several members, read as one
        from_archive = handle.read()
    assert from_pack == from_archive
    assert len(from_pack) == record.tar_size
    assert hashlib.sha256(from_pack).hexdigest() == record.tar_sha256

    manifest = _manifest(publisher, "1.0.0", record.tree.entries)
    assert len(manifest.entries) == record.tree.entries
    with tarfile.open(fileobj=io.BytesIO(from_pack)) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [e.path for e in manifest.entries]
        for member, entry in zip(members, manifest.entries, strict=True):
            if entry.kind is Kind.FILE:
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                assert hashlib.sha256(data).hexdigest() == entry.sha256
                assert entry.executable == bool(member.mode & 0o100)
    app_py = manifest.files()["app.py"]
    assert app_py.sha256 == hashlib.sha256((bundle / "app.py").read_bytes()).hexdigest()
    # stock tufup reads only names ending in .tar.gz or .patch: the format-2 names are not
    names = [p.name.split(".", 1)[1] for p in (publisher.repo / "targets").iterdir()]
    assert sorted(names) == [f"{APP}-1.0.0.manifest.zst", f"{APP}-1.0.0.tar.gz",
                             f"{APP}-1.0.0.tar.zst"]  # fmt: skip


def test_a_one_file_release_copies_frames_and_its_delta_holds_that_file(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path)
    bundle = _bundle(tmp_path / "bundle")
    release_bundle(publisher.repo, publisher.keys, bundle, "--version", "1.0.0")
    (bundle / "lib" / "module_007.py").write_text("VALUE = 'changed'\n" * 300)
    out = run_tools(publisher.repo, publisher.keys, "release", "--bundle", str(bundle),
                    "--version", "1.1.0")  # fmt: skip
    assert "+ 1 delta(s)" in out.stderr, out.stderr
    cache = json.loads((publisher.repo / CACHE_DIR / "frames" / f"{APP}-1.1.0.json").read_text())
    assert len(cache["frames"]) >= 4
    report = run_tools(publisher.repo, publisher.keys, "release", "--bundle", str(bundle),
                       "--version", "1.1.1")  # fmt: skip
    assert report.returncode == 0, report.stderr
    # the same bundle again: only the frame of the version files (.update/) is compressed
    assert f"frames:       1 compressed, {len(cache['frames']) - 1} copied" in report.stderr

    record = _record(publisher, "1.1.0")
    assert record.tree.bases == ("1.0.0",)
    delta = publisher.target_file(f"{APP}-1.1.0.from-1.0.0.delta")
    with tarfile.open(delta, "r:xz") as tar:
        index = decode_index(tar.extractfile(DELTA_INDEX).read(), APP, "1.0.0", "1.1.0")
        names = tar.getnames()
    carried = {f.path for f in index.files}
    assert carried == {"lib/module_007.py", ".update/release.json"}
    assert names == [DELTA_INDEX] + [f"data/{n}" for n in range(len(index.files))]
    assert delta.stat().st_size < 2000


def test_a_moved_versioned_folder_is_patched_from_its_old_name(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path)
    bundle = _bundle(tmp_path / "bundle")
    info = bundle / "lib-2.4.5.dist-info"
    info.mkdir()
    record = "".join(f"pkg/file_{n}.py,sha256={n:064x},{n * 7}\n" for n in range(800))
    (info / "RECORD").write_text(record)
    release_bundle(publisher.repo, publisher.keys, bundle, "--version", "1.0.0")
    info.rename(bundle / "lib-2.4.6.dist-info")
    (bundle / "lib-2.4.6.dist-info" / "RECORD").write_text(record.replace("file_5", "file_6"))
    release_bundle(publisher.repo, publisher.keys, bundle, "--version", "1.1.0")
    delta = publisher.target_file(f"{APP}-1.1.0.from-1.0.0.delta")
    with tarfile.open(delta, "r:xz") as tar:
        index = decode_index(tar.extractfile(DELTA_INDEX).read(), APP, "1.0.0", "1.1.0")
    (moved,) = [f for f in index.files if f.path.endswith("RECORD")]
    assert moved.how is How.PATCH and moved.base_path == "lib-2.4.5.dist-info/RECORD"


def test_a_file_changed_behind_an_unchanged_size_and_time_is_seen(tmp_path: Path) -> None:
    """The stat cache keys on the change time too, which no one can set back: a file edited
    and given its old size and modification time is hashed (and scanned) again."""
    publisher = Publisher(tmp_path)
    bundle = _bundle(tmp_path / "bundle")
    release_bundle(publisher.repo, publisher.keys, bundle, "--version", "1.0.0")
    engine = bundle / "lib" / "engine.py"
    before = engine.stat()
    text = engine.read_text()
    engine.write_text(text.replace("RATE = 0.5", "RATE = 0.9", 1))
    os.utime(engine, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert engine.stat().st_size == before.st_size
    release_bundle(publisher.repo, publisher.keys, bundle, "--version", "1.1.0")
    record = _record(publisher, "1.1.0")
    manifest = _manifest(publisher, "1.1.0", record.tree.entries)
    assert (
        manifest.files()["lib/engine.py"].sha256 == hashlib.sha256(engine.read_bytes()).hexdigest()
    )

    # and a private key written into an unchanged-looking file is still refused
    header = "-----BEGIN " + "PRIVATE KEY-----"
    engine.write_text(
        text[: -len(header) - 40] + f"\n{header}\nMIIEv\n" + "-----END " + "PRIVATE KEY-----\n"
    )
    os.utime(engine, ns=(before.st_atime_ns, before.st_mtime_ns))
    result = run_tools(publisher.repo, publisher.keys, "release", "--bundle", str(bundle),
                       "--version", "1.2.0")  # fmt: skip
    refused(result, "lib/engine.py", "private key")


def test_a_damaged_cache_costs_time_only(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path)
    bundle = _bundle(tmp_path / "bundle")
    release_bundle(publisher.repo, publisher.keys, bundle, "--version", "1.0.0")
    index_file = publisher.repo / CACHE_DIR / "frames" / f"{APP}-1.0.0.json"
    index = json.loads(index_file.read_text())
    for frame in index["frames"]:
        frame[4] += 1  # every recorded offset in the pack is wrong now
    index_file.write_text(json.dumps(index))
    (publisher.repo / CACHE_DIR / "files.json").write_text("{not json")
    (bundle / "app.py").write_text("print('two')\n")
    result = run_tools(publisher.repo, publisher.keys, "release", "--bundle", str(bundle),
                       "--version", "1.1.0")  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = _record(publisher, "1.1.0")
    assert hashlib.sha256(_pack_tar(publisher, "1.1.0")).hexdigest() == record.tar_sha256
    tools_ok(publisher.repo, publisher.keys, "verify")


def test_prune_takes_the_format_2_targets_with_their_release(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path)
    bundle = _bundle(tmp_path / "bundle", files=5)
    for number, version in enumerate(("1.0.0", "1.1.0", "1.2.0")):
        (bundle / "app.py").write_text(f"print({number})\n")
        release_bundle(publisher.repo, publisher.keys, bundle, "--version", version)
    assert _record(publisher, "1.2.0").tree.bases == ("1.1.0",)
    tools_ok(publisher.repo, publisher.keys, "prune", "--keep", "1")
    left = sorted(p.name.split(".", 1)[1] for p in (publisher.repo / "targets").iterdir())
    assert left == [f"{APP}-1.2.0.manifest.zst", f"{APP}-1.2.0.tar.gz", f"{APP}-1.2.0.tar.zst"]
    assert _record(publisher, "1.2.0").tree.bases == ()  # its delta went with its base
    tools_ok(publisher.repo, publisher.keys, "verify")


def test_verify_names_a_missing_format_2_target(tmp_path: Path) -> None:
    from repo_tools import keys as keystore
    from repo_tools.repository import commit_resigned, load_roles
    from repo_tools.roles import TOP_LEVEL_CHAIN

    publisher = Publisher(tmp_path)
    release_bundle(publisher.repo, publisher.keys, _bundle(tmp_path / "bundle", 3),
                   "--version", "1.0.0")  # fmt: skip
    roles = load_roles(publisher.repo)
    del roles.targets.signed.targets[f"{APP}-1.0.0.manifest.zst"]  # a faulty tool's edit
    from repo_tools.config import load_config

    expiry = load_config(publisher.repo).expiry_days
    commit_resigned(publisher.repo, roles, keystore.load_all(publisher.keys), expiry,
                    TOP_LEVEL_CHAIN)  # fmt: skip
    result = run_tools(publisher.repo, publisher.keys, "verify")
    assert result.returncode != 0
    assert f"names {APP}-1.0.0.manifest.zst, which is not in the targets metadata" in (
        result.stdout + result.stderr
    )


def test_a_damaged_base_pack_sends_the_changed_files_whole(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path)
    bundle = _bundle(tmp_path / "bundle")
    release_bundle(publisher.repo, publisher.keys, bundle, "--version", "1.0.0")
    shutil.rmtree(publisher.repo / CACHE_DIR)  # no index: the base pack is read through
    pack = publisher.target_file(f"{APP}-1.0.0.tar.zst")
    pack.write_bytes(pack.read_bytes()[:300] + b"\xff" * 64)  # cut short, ends in garbage
    (bundle / "lib" / "engine.py").write_text("RATE = 0.7\n" * 200)
    result = run_tools(publisher.repo, publisher.keys, "release", "--bundle", str(bundle),
                       "--version", "1.1.0")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    with tarfile.open(publisher.target_file(f"{APP}-1.1.0.from-1.0.0.delta"), "r:xz") as tar:
        index = decode_index(tar.extractfile(DELTA_INDEX).read(), APP, "1.0.0", "1.1.0")
    (engine,) = [f for f in index.files if f.path == "lib/engine.py"]
    assert engine.how is How.FULL
