"""Archive attacks in *correctly signed* releases: the bytes verify against targets metadata
signed with the repository's own keys, yet extraction must refuse them (a compromised build
machine or a careless publisher). Nothing may be written outside staging, nothing installed."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tests.support.bundles import write_app
from tests.support.install import launch
from tests.support.signing import bundle_tar, publish_archive
from tests.support.world import World

pytestmark = pytest.mark.timeout(120)


def _file(tar: tarfile.TarFile, name: str, data: bytes = b"pwned\n") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _link(tar: tarfile.TarFile, name: str, target: str, kind: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    tar.addfile(info)


def _attack(world: World, extra, unpacked_delta: int = 4096) -> None:
    """Sign demo 2.0.0 = an honest bundle + `extra` hostile members; the signed unpacked size
    leaves room for them, so only the member checks can stop the install."""
    bundle = write_app(world.tmp / "bundle-2", "two point oh")
    tar, unpacked = bundle_tar(world.repo, bundle, "demo", "2.0.0", extra)
    publish_archive(
        world.repo, world.keys, tar, "2.0.0", unpacked + unpacked_delta, world.tmp / "work"
    )


OUTSIDE = "pwned-outside.txt"


@pytest.mark.parametrize(
    ("name", "extra", "words"),
    [
        ("dotdot", lambda t: _file(t, f"../../{OUTSIDE}"), ("outside the destination",)),
        ("dotdot-nested", lambda t: _file(t, f"lib/../../../{OUTSIDE}"), ("outside",)),
        ("absolute", lambda t: _file(t, "/tmp/" + OUTSIDE), ("absolute path",)),
        (
            "symlink-out",
            lambda t: _link(t, "lib/escape", "../../../../etc", tarfile.SYMTYPE),
            ("outside the destination",),
        ),
        (
            "symlink-absolute",
            lambda t: _link(t, "lib/passwd", "/etc/passwd", tarfile.SYMTYPE),
            ("absolute path",),
        ),
        (
            "symlink-then-write-through-it",
            lambda t: (
                _link(
                    t, "up", "../../..", tarfile.SYMTYPE
                ),  # staging/<v>/up -> the install's parent
                _file(t, f"up/{OUTSIDE}"),
            ),
            ("outside",),
        ),
        (
            "hardlink-out",
            lambda t: _link(t, "lib/shadow", "/etc/shadow", tarfile.LNKTYPE),
            ("hardlink",),
        ),
        (
            "hardlink-inside",
            lambda t: _link(t, "lib/copy", "app.py", tarfile.LNKTYPE),
            ("hardlink",),
        ),
        ("char-device", lambda t: _device(t, tarfile.CHRTYPE), ("special file",)),
        ("block-device", lambda t: _device(t, tarfile.BLKTYPE), ("special file",)),
        ("fifo", lambda t: _device(t, tarfile.FIFOTYPE), ("special file",)),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_signed_archive_with_escaping_members_is_refused(world: World, name, extra, words):
    _attack(world, extra)
    world.refused(("archive refused",) + words, "unsafe_archive")
    places = (world.tmp, world.root, world.root.parent, world.root.parent.parent, Path("/tmp"))
    for place in places:
        assert not (place / OUTSIDE).exists(), place
    assert not any(world.tmp.rglob(OUTSIDE))


def _device(tar: tarfile.TarFile, kind: bytes) -> None:
    info = tarfile.TarInfo("lib/dev")
    info.type = kind
    info.devmajor, info.devminor = 1, 3  # /dev/null's numbers
    tar.addfile(info)


def test_archive_expanding_beyond_its_signed_size_is_refused(world: World) -> None:
    """A highly compressible 64 MB member, signed with an unpacked size 1000x smaller."""

    def bomb(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("lib/bomb.bin")
        info.size = 64 << 20
        tar.addfile(info, io.BytesIO(bytes(info.size)))

    _attack(world, bomb, unpacked_delta=0)
    world.refused(("expands beyond its signed size",), "unsafe_archive")
    assert not any((world.root / "staging").rglob("bomb.bin"))


def test_signed_archive_without_hostile_members_installs(world: World) -> None:
    """Control: the same construction with nothing hostile is installed (the tests above fail
    for the hostile member, not for the way the archive was made)."""
    _attack(world, None, unpacked_delta=0)
    updater, _ = world.updater()
    assert updater.update() == "2.0.0"

    assert launch(world.root).startswith("app 2.0.0")
