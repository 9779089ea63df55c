"""Ordinary faults: disk full, corrupted caches, two updaters at once, server errors, TLS."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.files import tree_digest
from tests.support.hostile_servers import Gate, answer, local_file, reset_connection, serve_ranges
from tests.support.install import launch, without_delta_base
from tests.support.world import World

pytestmark = pytest.mark.timeout(120)


# -- disk full ----------------------------------------------------------------------------------


def _used_kb(path: Path) -> int:
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize // 1024


def _mount(path: Path, size_kb: int) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
        capture_output=True,
    )
    return result.returncode == 0


def _resize(path: Path, size_kb: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size_kb}k", str(path)], check=True)


@pytest.fixture
def tmpfs_world(tmp_path, published, https_server, test_ca):
    root = tmp_path / "install"
    if not _mount(root, 64 * 1024):
        pytest.skip("cannot mount a tmpfs here: see test_disk_full_simulated_with_rlimit")
    try:
        yield World(tmp_path, published, https_server, test_ca.ca_file, root=root)
    finally:
        subprocess.run(["umount", "-l", str(root)], capture_output=True)


def _assert_disk_full_handled(world: World) -> None:
    error, _ = world.fails(("disk full", "running version is untouched"), "disk_full")
    world.assert_nothing_installed(("disk full",))
    # no half-written temporary tar left eating the little space there is
    leftovers = [p.name for p in world.layout.targets_dir.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, leftovers


def test_disk_full_during_download(tmpfs_world: World) -> None:
    world = tmpfs_world
    without_delta_base(world.layout, "1.0.0")  # full pack: ~300 KB to download
    _resize(world.root, _used_kb(world.root) + 120)
    _assert_disk_full_handled(world)
    assert any(r.endswith(".tar.zst") for r in world.server.requests)
    world.assert_cli_fails(("disk full",))
    _resize(world.root, 64 * 1024)  # space freed: the next attempt completes
    world.honest_update_works()


def test_disk_full_during_extraction(tmpfs_world: World) -> None:
    """Delta update: the delta (small) downloads, writing the patched lib/data.bin (~300 KB)
    into the new version does not fit: disk full, said at once (the pack would need more)."""
    from client.errors import UpdateError

    world = tmpfs_world
    updater, events = world.updater()
    _resize(world.root, _used_kb(world.root) + 150)
    with pytest.raises(UpdateError) as caught:
        updater.download()
    assert caught.value.kind == "disk_full", caught.value.message
    assert events[-1].kind == "error" and "disk full" in events[-1].message
    assert not any(r.endswith(".tar.zst") for r in world.server.requests)
    world.assert_nothing_installed(("disk full",))
    result = world.cli("update")
    assert result.returncode == 1 and "disk full" in result.stderr
    world.assert_nothing_installed(("disk full",))
    assert not (world.root / "ready").exists() or not any((world.root / "ready").iterdir())
    _resize(world.root, 64 * 1024)
    world.honest_update_works()


def test_disk_full_simulated_with_rlimit(world: World) -> None:
    """Where no tmpfs can be mounted: a file size limit (RLIMIT_FSIZE) on the updater process
    makes every write past 100 KB fail; the updater must fail cleanly, not half-install."""
    without_delta_base(world.layout, "1.0.0")

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    result = world.cli("update", timeout=120, preexec_fn=limit)
    assert result.returncode == 1, result.stderr
    assert "disk full (file too large" in result.stderr.lower()
    world.assert_nothing_installed(("disk full", "file too large"))
    world.honest_update_works()


# -- corrupted caches ---------------------------------------------------------------------------


def test_truncated_delta_base_file_falls_back_to_the_full_pack(world: World) -> None:
    base = world.layout.version_dir("1.0.0") / "lib" / "data.bin"  # what the patch starts from
    base.write_bytes(base.read_bytes()[: base.stat().st_size // 2])
    updater, events = world.updater()
    assert updater.update() == "1.1.0"
    downloaded = [r for r in world.history() if r["event"] == "downloaded"][-1]
    assert downloaded["method"] == "full" and "damaged base" in downloaded["patch_fallback"]
    assert launch(world.root).startswith("app 1.1.0")


def test_a_changed_download_is_detected_then_downloaded_again(world: World) -> None:
    updater, _ = world.updater()
    assert updater.download() is not None
    ready = world.root / "ready" / world.layout.read_state().downloaded["ready"]
    data = ready / "lib" / "data.bin"
    data.write_bytes(data.read_bytes()[:1000])
    result = world.cli("install")
    assert result.returncode == 1
    assert "changed on disk since it was verified" in result.stderr
    world.assert_nothing_installed(("changed on disk",))
    world.honest_update_works()  # downloads again


def test_garbage_partial_download_is_discarded(world: World) -> None:
    """A damaged .part file (what an earlier interrupted download left) must not poison the
    resumed download: detected by the hash check, downloaded again whole, same run."""
    without_delta_base(world.layout, "1.0.0")
    world.hook = serve_ranges(world.repo)
    (archive,) = (world.repo / "targets").glob("*.demo-1.1.0.tar.zst")
    digest = archive.name.split(".", 1)[0]
    part = world.layout.targets_dir / f".{digest}.demo-1.1.0.tar.zst.part"
    part.write_bytes(b"\0" * 5000)
    updater, _ = world.updater()
    assert updater.update() == "1.1.0"
    assert not part.exists()


@pytest.mark.parametrize("role", ["timestamp", "snapshot", "targets"])
def test_garbage_metadata_in_the_cache_is_replaced(world: World, role: str) -> None:
    world.trust_current()
    cached = world.layout.metadata_dir / f"{role}.json"
    cached.write_bytes(b"\x00garbage{{{")
    updater, _ = world.updater()
    assert updater.update() == "1.1.0"
    served = world.repo / "metadata" / f"{role}.json"
    assert cached.read_bytes() == served.read_bytes()


def test_garbage_trusted_root_is_restored_from_the_bundle(world: World) -> None:
    """The trust anchor itself damaged: never taken from the network; the root the installed
    bundle carries (what setup trusted) replaces it and the signed chain is walked again."""
    trusted = world.layout.metadata_dir / "root.json"
    trusted.write_bytes(b"not json")
    updater, _ = world.updater()
    assert updater.update() == "1.1.0"
    bundled = world.layout.version_dir("1.0.0") / ".update" / "root.json"
    assert trusted.read_bytes() == bundled.read_bytes()


def test_garbage_trusted_root_and_bundle_root_is_reported_clearly(world: World) -> None:
    (world.layout.metadata_dir / "root.json").write_bytes(b"not json")
    bundled = world.layout.version_dir("1.0.0") / ".update" / "root.json"
    bundled.write_bytes(b"also not json")
    world.before = tree_digest(world.layout.version_dir("1.0.0"))
    world.refused(("trusted root metadata", "damaged", "reinstall"), "verification")


# -- two updaters at once -----------------------------------------------------------------------


def test_two_processes_update_one_install_root(world: World) -> None:
    gate = Gate()

    def hook(h) -> bool:
        if h.path.startswith("/targets/") and not gate.reached.is_set():
            gate.stall(60)  # the first updater holds the lock while its download hangs
        return False

    world.hook = hook
    world.configure(read_timeout_seconds=90, deadline_seconds=120)
    command = world.cli_command("--json", "update")
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert gate.reached.wait(60)
        started = time.monotonic()
        second = world.cli("--json", "update", timeout=60)
        assert second.returncode == 3, second.stderr  # busy, after waiting its lock timeout
        assert "another updater is working on" in second.stderr
        assert json.loads(second.stdout)["kind"] == "busy"
        assert time.monotonic() - started < 30
        assert world.layout.current_version() == "1.0.0"
    finally:
        gate.release.set()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    third = world.cli("--json", "update", timeout=60)
    assert third.returncode == 2  # nothing left to do: one consistent install
    assert world.layout.kept_versions() == ["1.0.0", "1.1.0"]
    assert launch(world.root).startswith("app 1.1.0")


def test_two_processes_started_together_both_end_consistent(world: World) -> None:
    command = world.cli_command("update")
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)
    ]
    codes = sorted(p.wait(90) for p in procs)
    for p in procs:
        p.communicate()
    assert codes in ([0, 2], [0, 3]), codes
    assert world.layout.current_version() == "1.1.0"
    assert sorted(p.name for p in world.layout.versions.iterdir()) == ["1.0.0", "1.1.0"]
    assert launch(world.root).startswith("app 1.1.0")


# -- server errors ------------------------------------------------------------------------------


def test_404_for_the_next_root_is_the_normal_end_of_the_chain(world: World) -> None:
    world.hook = lambda h: h.path.endswith("/2.root.json") and answer(h, b"", status=404)
    updater, _ = world.updater()
    assert updater.update() == "1.1.0"
    assert any(r.endswith("/2.root.json") for r in world.server.requests)


@pytest.mark.parametrize("path", ["/2.root.json", "/timestamp.json", ".snapshot.json", "/targets/"])
def test_http_500(world: World, path: str) -> None:
    world.hook = lambda h: path in h.path and answer(h, b"oops", status=500)
    world.refused(("update server error", "http 500"), "http")


def test_500_on_first_mirror_second_mirror_serves(world: World, https_server) -> None:
    broken = https_server(world.repo, lambda h: answer(h, b"oops", status=500))
    world.mirrors(broken.url, world.url)
    updater, _ = world.updater()
    assert updater.update() == "1.1.0"
    assert broken.requests


@pytest.mark.parametrize("path", ["/timestamp.json", "/targets/"])
def test_connection_reset(world: World, path: str) -> None:
    world.hook = lambda h: path in h.path and reset_connection(h)
    error = world.refused(())
    assert error.kind in ("unreachable", "slow"), error.message
    assert any(w in error.message for w in ("unreachable", "interrupted", "reset", "aborted"))


def test_connection_reset_mid_target_then_resumed(world: World) -> None:
    """Reset half way through the pack: the next attempt resumes with Range and completes."""
    without_delta_base(world.layout, "1.0.0")
    resets = []
    honest = serve_ranges(world.repo)

    def hook(h) -> bool:
        if h.path.endswith(".tar.zst") and not resets:
            size = local_file(world.repo, h).stat().st_size
            resets.append(size)
            return reset_connection(
                h, after=local_file(world.repo, h).read_bytes()[: size // 2], total=size
            )
        return honest(h)

    world.hook = hook
    updater, _ = world.updater()
    from client.errors import UpdateError

    with pytest.raises(UpdateError):
        updater.update()
    assert world.layout.current_version() == "1.0.0"
    ranges: list[str | None] = []
    inner = world.hook

    def spy(h) -> bool:
        if h.path.endswith(".tar.zst"):
            ranges.append(h.headers.get("Range"))
        return inner(h)

    world.hook = spy
    updater, _ = world.updater()
    assert updater.update() == "1.1.0"
    assert ranges and ranges[0] and ranges[0].startswith("bytes=")


def test_untrusted_tls_certificate_is_refused(world: World, tmp_path) -> None:
    from tests.support.https_server import StaticServer, make_test_ca

    (tmp_path / "other-ca").mkdir()
    other = make_test_ca(tmp_path / "other-ca")  # a valid certificate, from a CA not trusted

    impostor = StaticServer(world.repo, other.server_context)
    try:
        world.mirrors(impostor.url)
        world.refused(("tls verification failed", "not trusted"), "unreachable")
        assert not impostor.requests  # refused during the handshake: not one request made
    finally:
        impostor.close()


def test_plain_http_server_is_refused_by_the_settings(world: World) -> None:
    world.mirrors("http://127.0.0.1:9")
    updater, events = world.updater()
    assert updater.settings_error is not None
    result = world.cli("update")
    assert result.returncode == 4
    assert "http" in result.stderr
    assert world.layout.current_version() == "1.0.0"
