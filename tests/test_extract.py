"""Attacks on the extractor itself (client/extract.py), independent of the stdlib tar filter.

Each hostile archive is refused with UnsafeArchiveError and nothing lands outside the
destination; the link rules are also tested as a pure function on plain data."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from client.extract import MAX_LINK_HOPS, UnsafeArchiveError, extract_tar, link_escape


def _tar(path: Path, members: list[tuple[str, str, bytes | str]], mode: int = 0o644) -> Path:
    """members: (kind, name, data or link target); kind is file, dir, sym."""
    with tarfile.open(path, "w") as tar:
        for kind, name, payload in members:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if kind == "file":
                assert isinstance(payload, bytes)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.type, info.linkname = tarfile.SYMTYPE, str(payload)
                tar.addfile(info)
    return path


def _refused(tmp_path: Path, members, words: str, **limits) -> None:
    tmp_path.mkdir(parents=True, exist_ok=True)
    archive = _tar(tmp_path / "hostile.tar", members)
    destination = tmp_path / "sandbox" / "staging" / "v"
    with pytest.raises(UnsafeArchiveError, match=words):
        extract_tar(archive, destination, limits.get("size", 1 << 20), limits.get("entries"))
    outside = [p for p in tmp_path.rglob("pwned*") if not p.is_relative_to(destination)]
    assert not outside, outside


def test_links_are_resolved_physically_not_lexically() -> None:
    # `s -> .` is inside; `t -> s/../etc` is "etc" lexically but the parent of the bundle
    # physically, because '..' after a link goes to the parent of where the link points
    assert link_escape({("s",): ".", ("t",): "s/../etc"}) is not None
    assert link_escape({("lib", "s"): "..", ("lib", "t"): "s/../x"}) is not None
    assert link_escape({("lib", "s"): "../data", ("lib", "t"): "s/file"}) is None
    assert link_escape({("a",): "b", ("b",): "c", ("c",): "real"}) is None
    assert "absolute" in (link_escape({("x",): "/etc/passwd"}) or "")


def test_link_chains_are_bounded() -> None:
    chain = {(f"l{i}",): f"l{i + 1}" for i in range(MAX_LINK_HOPS + 2)}
    assert "more than" in (link_escape(chain) or "")
    loop = {("a",): "b", ("b",): "a"}
    assert "more than" in (link_escape(loop) or "")


def test_deep_symlink_chain_past_path_max_is_refused(tmp_path: Path) -> None:
    """The shape of the 2025 tarfile filter bypasses: folders with long names, links that
    climb back, a final link whose lexical path exceeds PATH_MAX and whose real target is
    outside; then a file written through it."""
    long = "d" * 240
    members: list[tuple[str, str, bytes | str]] = []
    path = ""
    for depth in range(16):
        members.append(("dir", f"{path}{long}", b""))
        members.append(("sym", f"{path}l{depth}", long))
        path += f"l{depth}/"
    climb = "/".join(f"l{i}" for i in range(16)) + "/" + "../" * 18 + "pwned"
    members.append(("sym", "escape", climb))
    members.append(("file", "escape/pwned.txt", b"pwned\n"))
    _refused(tmp_path, members, "outside the destination|more than|not a folder")


def test_no_write_through_a_link_planted_in_the_destination(tmp_path: Path) -> None:
    destination = tmp_path / "staging" / "v"
    destination.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (destination / "lib").symlink_to(tmp_path / "elsewhere")  # another local user's trap
    archive = _tar(tmp_path / "a.tar", [("file", "lib/pwned.txt", b"x")])
    with pytest.raises(UnsafeArchiveError, match="not a folder"):
        extract_tar(archive, destination, 1 << 20)
    assert not (tmp_path / "elsewhere" / "pwned.txt").exists()


@pytest.mark.parametrize(
    ("members", "words"),
    [
        ([("file", "a", b"1"), ("file", "a", b"2")], "appears twice"),
        ([("sym", "a", "b"), ("file", "a", b"2")], "appears twice"),
        ([("file", "a", b"1"), ("dir", "a", b"")], "folder where a file"),
        (
            [("sym", "lib", "real"), ("dir", "real", b""), ("file", "lib/pwned", b"x")],
            "not a folder",
        ),
        ([("file", "./a", b"1")], "component"),
        ([("file", "a//b", b"1")], "component"),
        ([("file", "a\\..\\..\\pwned", b"1")], "invalid name"),
        ([("sym", "x", "../../pwned")], "outside the destination"),
        ([("sym", "x", "/tmp/pwned")], "absolute path"),
    ],
)
def test_hostile_member_shapes_are_refused(tmp_path: Path, members, words: str) -> None:
    _refused(tmp_path, members, words)


def test_entry_count_bomb_is_refused(tmp_path: Path) -> None:
    members = [("file", f"f{i}", b"") for i in range(3000)]
    _refused(tmp_path, members, "more than 1099 entries", size=51_000)  # 51 KB: 51_000/512+1000
    _refused(tmp_path / "signed", members, "more than 2000 entries", size=1 << 30, entries=2000)


def test_modes_are_normalised(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "a.tar", [("file", "tool", b"#!/bin/sh\n")], mode=0o6777)
    destination = tmp_path / "v"
    old = os.umask(0o077)
    try:
        extract_tar(archive, destination, 1 << 20)
    finally:
        os.umask(old)
    assert stat.S_IMODE((destination / "tool").stat().st_mode) == 0o755


def test_an_honest_bundle_with_inside_links_extracts(tmp_path: Path) -> None:
    members = [
        ("dir", "lib", b""),
        ("file", "lib/libfoo.so.1.2", b"elf"),
        ("sym", "lib/libfoo.so.1", "libfoo.so.1.2"),
        ("sym", "lib/libfoo.so", "libfoo.so.1"),
        ("sym", "current-lib", "lib"),
    ]
    destination = tmp_path / "v"
    assert extract_tar(_tar(tmp_path / "a.tar", members), destination, 1 << 20) == 3
    assert (destination / "current-lib" / "libfoo.so").read_bytes() == b"elf"


def test_a_symlink_loop_in_a_bundle_is_a_clear_error_for_release_and_setup(tmp_path: Path) -> None:
    import subprocess
    import sys

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "app.py").write_text("print('app')\n")
    (bundle / "a").symlink_to("b")
    (bundle / "b").symlink_to("a")
    client = Path(sys.executable).parent / "update-client"
    setup = subprocess.run(
        [str(client), "setup", "--install-root", str(tmp_path / "root"), "--from", str(bundle)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert setup.returncode == 1 and "Traceback" not in setup.stderr, setup.stderr
    assert "more than 16 links" in setup.stderr
    tools = Path(sys.executable).parent / "repo-tools"
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    subprocess.run(
        [str(tools), "--repo", str(repo), "--keys", str(keys), "init", "--app-name", "demo"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    release = subprocess.run(
        [str(tools), "--repo", str(repo), "--keys", str(keys), "release", "--bump", "minor",
         "--bundle", str(bundle)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert release.returncode == 1 and "Traceback" not in release.stderr, release.stderr
    assert "more than 16 links" in release.stderr
