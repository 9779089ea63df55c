"""The client on the tree format (format 2), over real HTTPS on loopback: an update by delta
shares unchanged files with the installed version (hard links), the full install streams the
pack, a delta that does not verify falls back to the pack in the same update, a pack or
manifest that does not match what is signed installs nothing, and versions stay independently
verifiable and repairable (pruning the base, repairing a shared file)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from client.layout import Layout
from client.tree_format import DeltaFile, How, Manifest, delta_name, encode_manifest
from tests.support.files import disk_bytes, tree_digest
from tests.support.install import install_root, launch, run_client
from tests.support.publisher import Publisher
from tests.support.tree import (
    archive_tar,
    delta_bytes,
    honest_delta,
    pack_bytes,
    publish_tree,
    tar_entries,
)

STATIC = 12  # unchanged files between the releases: shared, never downloaded again


@dataclass
class Tree:
    publisher: Publisher
    layout: Layout
    work: Path
    requests: list[str]

    @property
    def root(self) -> Path:
        return self.layout.root

    def files(self, version: str) -> dict[str, bytes]:
        return tar_entries(archive_tar(self.publisher.repo, "demo", version))[1]

    def publish(self, version: str = "1.1.0", **kwargs) -> Manifest:
        self.work = self.work.with_name(self.work.name + "x")
        return publish_tree(
            self.publisher.repo, self.publisher.keys, self.work, "demo", version, **kwargs
        )

    def honest_delta(self) -> list[tuple[DeltaFile, bytes]]:
        return honest_delta("demo", "1.0.0", "1.1.0", self.files("1.0.0"), self.files("1.1.0"))

    def updater(self):
        from client import Updater

        updater = Updater.from_config(install_root=self.root)
        events: list = []
        updater.on_event(events.append)
        return updater, events

    def history(self, action: str) -> list[dict]:
        from client.history import read

        return [r for r in read(self.layout.history_file) if r["event"] == action]


@pytest.fixture
def tree(tmp_path: Path, https_server, test_ca) -> Tree:
    """1.0.0 (tree format) installed; 1.1.0 released with app.py and lib/data.bin changed."""
    publisher = Publisher(tmp_path / "publisher")
    (publisher.bundle / "lib" / "static").mkdir(parents=True)
    for number in range(STATIC):
        (publisher.bundle / "lib" / "static" / f"s{number}.bin").write_bytes(os.urandom(40_000))
    (publisher.bundle / "run.sh").write_text("#!/bin/sh\necho run\n")
    (publisher.bundle / "run.sh").chmod(0o755)
    os.symlink("static/s0.bin", publisher.bundle / "lib" / "first.bin")
    publisher.release("--version", "1.0.0")
    publish_tree(publisher.repo, publisher.keys, tmp_path / "w0", "demo", "1.0.0")
    requests: list[str] = []

    def record(handler) -> bool:
        requests.append(handler.path)
        return False

    server = https_server(publisher.repo, record)
    layout = install_root(tmp_path / "install", publisher, "1.0.0", [server.url], test_ca.ca_file)
    publisher.release("--version", "1.1.0")  # repo-tools makes its tree; tests re-sign their own
    world = Tree(publisher, layout, tmp_path / "w1", requests)
    return world


def _delta_published(tree: Tree, files=None, index=None) -> None:
    body = delta_bytes("demo", "1.0.0", "1.1.0", files or tree.honest_delta(), index)
    tree.publish(deltas={"1.0.0": body})


def test_update_by_delta_shares_unchanged_files(tree: Tree) -> None:
    _delta_published(tree)
    before = disk_bytes(tree.root)
    updater, events = tree.updater()
    assert updater.download().method == "patch"
    downloaded = tree.layout.read_state().downloaded
    assert set(downloaded) == {"version", "ready", "fingerprint", "unpacked_size", "method"}
    assert (tree.root / "ready" / "1.1.0" / "app.py").is_file()  # verified, waiting
    assert updater.install() == "1.1.0"
    assert launch(tree.root).startswith("app 1.1.0")
    assert not any(str(p).endswith(".tar.zst") for p in tree.requests)  # the pack: never
    old, new = tree.layout.version_dir("1.0.0"), tree.layout.version_dir("1.1.0")
    for number in range(STATIC):
        name = f"lib/static/s{number}.bin"
        assert (old / name).stat().st_ino == (new / name).stat().st_ino, name
    assert (new / "app.py").stat().st_ino != (old / "app.py").stat().st_ino
    assert os.readlink(new / "lib" / "first.bin") == "static/s0.bin"
    assert os.access(new / "run.sh", os.X_OK)
    added = disk_bytes(tree.root) - before
    changed = sum(len(tree.files("1.1.0")[p]) for p in ("app.py", "lib/data.bin"))
    assert added < changed + 64 * 1024, (added, changed)  # about the changed files
    assert not list(tree.root.rglob("*.tar")) and not list(tree.layout.targets_dir.iterdir())
    assert not (tree.root / "ready").exists()
    signed = json.loads((tree.root / "cache" / "manifests" / "1.1.0.json").read_text())
    assert signed["lib/static/s3.bin"].startswith("file:") and signed["lib"] == "dir"
    report = updater.verify_install()
    assert report["intact"], report
    record = tree.history("downloaded")[-1]
    assert record["method"] == "patch" and record["patch_fallback"] is None


def test_pruning_the_base_leaves_the_new_version_intact(tree: Tree) -> None:
    from client.install import prune_versions

    _delta_published(tree)
    updater, _ = tree.updater()
    assert updater.update() == "1.1.0"
    assert prune_versions(tree.layout, 0, "1.1.0", set()) == ["1.0.0"]
    assert not tree.layout.version_dir("1.0.0").exists()
    assert updater.verify_install()["intact"]
    assert launch(tree.root).startswith("app 1.1.0")


def test_repairing_a_shared_file_replaces_it_in_that_version_only(tree: Tree) -> None:
    _delta_published(tree)
    updater, _ = tree.updater()
    assert updater.update() == "1.1.0"
    old, new = tree.layout.version_dir("1.0.0"), tree.layout.version_dir("1.1.0")
    shared = "lib/static/s5.bin"
    with open(new / shared, "r+b") as handle:  # damage through the shared inode: both see it
        handle.write(b"damaged")
    damaged = (old / shared).read_bytes()
    (new / "lib" / "static" / "s6.bin").unlink()
    (new / "app.py").chmod(0o755)  # the executable bit is part of what was signed
    (new / "notes.txt").write_text("the user's own file")
    report = updater.verify_install()
    assert not report["intact"]
    assert set(report["modified"]) == {shared, "app.py"}, report
    assert report["missing"] == ["lib/static/s6.bin"] and report["extra"] == ["notes.txt"]
    repaired = updater.verify_install(repair=True)
    assert sorted(repaired["repaired"]) == sorted(["app.py", shared, "lib/static/s6.bin"])
    assert repaired["intact"], repaired
    assert (new / shared).read_bytes() == tree.files("1.1.0")[shared]
    assert (new / shared).stat().st_ino != (old / shared).stat().st_ino  # replaced, not written
    assert (old / shared).read_bytes() == damaged  # 1.0.0 is 1.0.0's business: untouched
    assert (new / "notes.txt").is_file()  # extra files are reported, never removed
    assert not any(p.name.endswith(".repair") for p in new.rglob("*"))
    assert not list(tree.layout.targets_dir.iterdir())  # the pack was not kept
    assert updater.verify_install()["intact"]


def test_full_install_streams_the_pack_and_keeps_no_tar(tree: Tree) -> None:
    tree.publish()  # no delta: the pack
    updater, events = tree.updater()
    info = updater.download()
    assert info.method == "full"
    assert info.download_bytes < info.full_bytes + 10_000
    assert updater.install() == "1.1.0"
    assert launch(tree.root).startswith("app 1.1.0")
    assert any(p.endswith("demo-1.1.0.tar.zst") for p in tree.requests)
    assert not list(tree.layout.targets_dir.iterdir())  # the pack is deleted after extraction
    assert not list(tree.root.rglob("*.tar"))
    assert tree_digest(tree.layout.version_dir("1.1.0")) == {
        k: v for k, v in _expected(tree, "1.1.0").items()
    }
    assert updater.verify_install()["intact"]


def _expected(tree: Tree, version: str) -> dict[str, str]:
    import hashlib

    entries, data = tar_entries(archive_tar(tree.publisher.repo, "demo", version))
    out = {}
    for entry in entries:
        if entry.kind == "d":
            out[entry.path] = "dir"
        elif entry.kind == "l":
            out[entry.path] = "link:" + entry.target
        else:
            out[entry.path] = hashlib.sha256(data[entry.path]).hexdigest()
    return out


def test_without_the_base_manifest_the_pack_is_used(tree: Tree) -> None:
    _delta_published(tree)
    (tree.root / "cache" / "manifests" / "1.0.0.json").unlink()
    updater, _ = tree.updater()
    assert updater.download().method == "full"
    assert updater.install() == "1.1.0"


# -- a delta that does not verify: the pack, in the same update --------------------------------


def _wrong_patch(tree: Tree) -> list:
    files = tree.honest_delta()
    return [(f, b"not a patch" if f.how is How.PATCH else body) for f, body in files]


def _wrong_base_sha(tree: Tree) -> list:
    files = tree.honest_delta()
    out = []
    for f, body in files:
        if f.how is How.PATCH:
            f = DeltaFile(f.path, How.PATCH, f.base_path, "0" * 64)
        out.append((f, body))
    return out


def _outside_manifest(tree: Tree) -> list:
    return [*tree.honest_delta(), (DeltaFile("lib/evil.py", How.FULL), b"print('pwned')\n")]


def _other_bytes(tree: Tree) -> list:
    """Whole files of the right size with other bytes (only the sha256 tells)."""
    new = tree.files("1.1.0")
    return [(DeltaFile(f.path, How.FULL), b"x" * len(new[f.path])) for f, _ in tree.honest_delta()]


@pytest.mark.parametrize(
    ("hostile", "words"),
    [
        (_wrong_patch, "patch of"),
        (_wrong_base_sha, "does not hold with that sha256"),
        (_outside_manifest, "not a file of the signed manifest"),
        (_other_bytes, "sha256"),
    ],
)
def test_a_delta_that_does_not_verify_falls_back_to_the_pack(tree: Tree, hostile, words) -> None:
    _delta_published(tree, hostile(tree))
    updater, events = tree.updater()
    assert updater.update() == "1.1.0"
    record = tree.history("downloaded")[-1]
    assert record["method"] == "full" and words in record["patch_fallback"], record
    downloaded = [e for e in events if e.kind == "downloaded"][-1]
    assert downloaded.data["patch_fallback"] == record["patch_fallback"]
    assert tree_digest(tree.layout.version_dir("1.1.0")) == _expected(tree, "1.1.0")
    assert not (tree.layout.version_dir("1.1.0") / "lib" / "evil.py").exists()
    assert tree_digest(tree.layout.version_dir("1.0.0")) == _expected(tree, "1.0.0")


def test_a_damaged_base_file_is_not_carried_into_the_new_version(tree: Tree) -> None:
    _delta_published(tree)
    base = tree.layout.version_dir("1.0.0") / "lib" / "static" / "s2.bin"
    with open(base, "r+b") as handle:
        handle.write(b"bitrot")
    updater, _ = tree.updater()
    assert updater.update() == "1.1.0"
    record = tree.history("downloaded")[-1]
    assert record["method"] == "full" and "damaged base" in record["patch_fallback"]
    new = tree.layout.version_dir("1.1.0") / "lib" / "static" / "s2.bin"
    assert new.read_bytes() == tree.files("1.1.0")["lib/static/s2.bin"]
    assert new.stat().st_ino != base.stat().st_ino


def test_a_delta_missing_on_the_server_falls_back(tree: Tree) -> None:
    _delta_published(tree)
    name = delta_name("demo", "1.0.0", "1.1.0")
    found = list((tree.publisher.repo / "targets").glob(f"*.{name}"))
    assert found
    for delta in found:  # signed, listed, but not served
        delta.unlink()
    updater, _ = tree.updater()
    assert updater.update() == "1.1.0"
    record = tree.history("downloaded")[-1]
    assert record["method"] == "full" and record["patch_fallback"]


# -- a pack or manifest that does not match what is signed: nothing installed ------------------


def _tar_with(tree: Tree, change) -> bytes:
    """The 1.1.0 tar rewritten member by member; change(info, data) -> [(info, data)]."""
    import io
    import tarfile

    out = io.BytesIO()
    source = archive_tar(tree.publisher.repo, "demo", "1.1.0")
    with (
        tarfile.open(fileobj=io.BytesIO(source)) as src,
        tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst,
    ):
        for member in src:
            data = src.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            for info, body in change(member, data):
                dst.addfile(info, io.BytesIO(body) if body is not None else None)
    return out.getvalue()


def _member(name: str, data: bytes | None = None, link: str = "") -> tuple:
    import tarfile

    info = tarfile.TarInfo(name)
    if link:
        info.type, info.linkname = tarfile.SYMTYPE, link
    elif data is not None:
        info.size, info.mode = len(data), 0o644
    return info, data


def _wrong_bytes(member, data):
    if member.name == "lib/data.bin":
        data = data[:-5] + b"EVIL!"
    return [(member, data)]


def _extra_member(member, data):
    extra = (
        [_member("lib/zz-evil.py", b"print('pwned')\n")] if member.name == "lib/data.bin" else []
    )
    return [(member, data), *extra]


def _missing_member(member, data):
    return [] if member.name == "lib/static/s4.bin" else [(member, data)]


def _link_for_file(member, data):
    return (
        [_member("lib/data.bin", link="static/s1.bin")]
        if member.name == "lib/data.bin"
        else [(member, data)]
    )


def _escaping_link(member, data):
    if member.name == "lib/data.bin":
        return [_member("lib/data.bin", link="../../../../etc/passwd")]
    return [(member, data)]


def _executable(member, data):
    if member.name == "app.py":
        member.mode = 0o755
    return [(member, data)]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (_wrong_bytes, "sha256"),
        (_extra_member, "not in the signed manifest"),
        (_missing_member, "lacks"),
        (_link_for_file, "is a link"),
        (_escaping_link, "is a link"),
        (_executable, "executable bit"),
    ],
)
def test_a_pack_that_differs_from_the_manifest_installs_nothing(tree: Tree, change, words) -> None:
    tree.publish(pack=pack_bytes(_tar_with(tree, change)))
    before = tree_digest(tree.layout.version_dir("1.0.0"))
    updater, events = tree.updater()
    from client.errors import UpdateError

    with pytest.raises(UpdateError) as caught:
        updater.update()
    assert words in caught.value.message, caught.value.message
    assert caught.value.kind == "unsafe_archive"
    _nothing_installed(tree, before)
    result = run_client(tree.root, "--json", "update")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert words in result.stderr
    _nothing_installed(tree, before)


def _nothing_installed(tree: Tree, before: dict[str, str]) -> None:
    assert tree.layout.current_version() == "1.0.0"
    assert sorted(p.name for p in tree.layout.versions.iterdir()) == ["1.0.0"]
    assert tree_digest(tree.layout.version_dir("1.0.0")) == before
    assert not any(tree.layout.staging.iterdir())
    assert not (tree.root / "ready").exists() or not any((tree.root / "ready").iterdir())
    assert not list(tree.layout.targets_dir.iterdir())
    assert tree.layout.read_state().downloaded is None
    assert launch(tree.root).startswith("app 1.0.0")


@pytest.mark.parametrize(
    ("app", "version", "words"),
    [("other", "1.1.0", "wrong software"), ("demo", "1.0.0", "wrong software")],
)
def test_a_manifest_of_another_release_installs_nothing(tree: Tree, app, version, words) -> None:
    entries, _ = tar_entries(archive_tar(tree.publisher.repo, "demo", "1.1.0"))
    tree.publish(manifest=encode_manifest(Manifest(app, version, tuple(entries))))
    before = tree_digest(tree.layout.version_dir("1.0.0"))
    updater, _ = tree.updater()
    from client.errors import UpdateError

    with pytest.raises(UpdateError) as caught:
        updater.update()
    assert words in caught.value.message and caught.value.kind == "verification"
    _nothing_installed(tree, before)


def test_a_changed_ready_folder_is_not_installed(tree: Tree) -> None:
    _delta_published(tree)
    updater, _ = tree.updater()
    updater.download()
    (tree.root / "ready" / "1.1.0" / "app.py").write_text("print('planted')\n")
    from client.errors import UpdateError

    with pytest.raises(UpdateError, match="changed on disk since it was verified"):
        updater.install()
    assert tree.layout.current_version() == "1.0.0"
    assert tree.layout.read_state().downloaded is None
    assert updater.update() == "1.1.0"  # downloading again works
    assert launch(tree.root).startswith("app 1.1.0")


def test_rollback_after_a_delta_update(tree: Tree) -> None:
    _delta_published(tree)
    updater, _ = tree.updater()
    assert updater.update() == "1.1.0"
    assert updater.rollback() == "1.0.0"
    assert launch(tree.root).startswith("app 1.0.0")
    assert tree_digest(tree.layout.version_dir("1.0.0")) == _expected(tree, "1.0.0")


def test_setup_from_a_bundle_folder_keeps_no_tar(tmp_path: Path, test_ca) -> None:
    from client.install import setup

    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0")
    unpacked = tmp_path / "unpacked"
    from client.extract import extract_tar

    extract_tar(publisher.archive("1.0.0"), unpacked, 1 << 30)
    layout = Layout(tmp_path / "install")
    setup(layout, unpacked, {"ca_bundle": str(test_ca.ca_file)})
    assert layout.current_version() == "1.0.0"
    assert not list(layout.root.rglob("*.tar")), list(layout.root.rglob("*.tar"))
    assert not any(layout.staging.iterdir())
    assert json.loads((layout.root / "cache" / "manifests" / "1.0.0.json").read_text())["app.py"]
    shutil.rmtree(unpacked)
    assert launch(layout.root).startswith("app 1.0.0")
