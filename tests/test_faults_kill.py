"""kill -9 of a real `update-client update` process at 30 precise points of an update.

How the process is stopped at a precise point, with no hook in product code:
* download: the HTTPS server itself sends K bytes of a file and stalls; the test waits until
  the client has written those K bytes, then kills it (byte offsets into metadata, the delta
  and the full pack);
* everything after the network: the subprocess runs the real CLI under a small test-only shim
  (SHIM below) that wraps one library or product function (os.rename, os.replace, os.symlink,
  os.sync, os.link, tarfile extraction, hdiffpatch.apply, the pack's stream, state/history
  writes) and sends itself
  SIGSTOP right before or after its n-th matching call; the test sees the stopped process
  (waitpid WUNTRACED) and kills it with SIGKILL, exactly there.

After every kill: the application launches from `current`, and the folder it runs from is
byte for byte either 1.0.0 or 1.1.0 (never a mix); then the next update completes, leaving
1.1.0 complete and launchable, staging empty.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support.files import tree_digest
from tests.support.hostile_servers import Gate, local_file, serve_ranges
from tests.support.install import launch, without_delta_base
from tests.support.world import World

pytestmark = pytest.mark.timeout(120)

SHIM = r"""
import importlib, json, os, signal, sys

spec = json.loads(sys.argv[1])
parts = spec["target"].split(".")
for i in range(len(parts) - 1, 0, -1):
    try:
        owner = importlib.import_module(".".join(parts[:i]))
        break
    except ImportError:
        continue
for name in parts[i:-1]:
    owner = getattr(owner, name)
original = getattr(owner, parts[-1])
seen = [0]

def stop():
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGSTOP)

def wrapper(*args, **kwargs):
    hit = spec.get("match") is None or spec["match"] in repr(args)
    if hit:
        seen[0] += 1
        hit = seen[0] == spec.get("nth", 1)
    if hit and spec["when"] == "before":
        stop()
    result = original(*args, **kwargs)
    if hit and spec["when"] == "after":
        stop()
    return result

setattr(owner, parts[-1], wrapper)
sys.argv = ["update-client", *sys.argv[2:]]
from client.cli import main
main()
"""

# (id, "patch" | "full" update path, where): where is ("bytes", url suffix, fraction of the
# file sent before the stall) or ("call", function, before/after, substring of args, n)
POINTS = [
    # download: metadata and targets, at byte offsets where the server stalls
    ("meta-timestamp-half", "patch", ("bytes", "/timestamp.json", 0.5)),
    ("meta-snapshot-half", "patch", ("bytes", ".snapshot.json", 0.5)),
    ("meta-targets-half", "patch", ("bytes", ".targets.json", 0.5)),
    ("patch-byte-0", "patch", ("bytes", ".delta", 0.0)),
    ("patch-half", "patch", ("bytes", ".delta", 0.5)),
    ("patch-last-byte", "patch", ("bytes", ".delta", -1)),
    ("archive-byte-0", "full", ("bytes", ".tar.zst", 0.0)),
    ("archive-third", "full", ("bytes", ".tar.zst", 0.33)),
    ("archive-last-byte", "full", ("bytes", ".tar.zst", -1)),
    # building the new version from a delta (hard links, patches) or the pack
    ("before-apply-patch", "patch", ("call", "hdiffpatch.apply", "before", None, 1)),
    ("after-apply-patch", "patch", ("call", "hdiffpatch.apply", "after", None, 1)),
    ("before-built-tree-in-place", "patch", ("call", "os.rename", "before", "ready/1.1.0')", 1)),
    ("after-built-tree-in-place", "patch", ("call", "os.rename", "after", "ready/1.1.0')", 1)),
    ("before-unpack", "full", ("call", "client.tree_install.stream_pack", "before", None, 1)),
    ("after-unpack", "full", ("call", "client.tree_install.stream_pack", "after", None, 1)),
    (
        "before-downloaded-state",
        "patch",
        ("call", "client.layout.atomic_write_text", "before", '"downloaded": {', 1),
    ),  # noqa: E501
    (
        "after-downloaded-state",
        "patch",
        ("call", "client.layout.atomic_write_text", "after", '"downloaded": {', 1),
    ),  # noqa: E501
    # extraction
    ("extract-member-1", "patch", ("call", "os.link", "before", None, 1)),
    ("extract-member-3", "patch", ("call", "os.link", "after", None, 1)),
    ("extract-member-5", "full", ("call", "client.extract._write_file", "after", None, 4)),
    ("extracted-before-sync", "patch", ("call", "os.sync", "before", None, 1)),
    # install
    (
        "before-rename-into-versions",
        "patch",
        ("call", "os.rename", "before", "versions/1.1.0')", 1),
    ),  # noqa: E501
    ("after-rename-into-versions", "full", ("call", "os.rename", "after", "versions/1.1.0')", 1)),
    (
        "before-pending-state",
        "patch",
        ("call", "client.layout.atomic_write_text", "before", '"pending": {', 1),
    ),  # noqa: E501
    (
        "after-pending-state",
        "patch",
        ("call", "client.layout.atomic_write_text", "after", '"pending": {', 1),
    ),  # noqa: E501
    # switch
    ("before-new-link", "patch", ("call", "os.symlink", "before", ".current.tmp", 1)),
    ("after-new-link", "patch", ("call", "os.symlink", "after", ".current.tmp", 1)),
    ("before-switch", "patch", ("call", "os.replace", "before", "install/current')", 1)),
    ("after-switch", "full", ("call", "os.replace", "after", "install/current')", 1)),
    ("before-prune-cache", "patch", ("call", "client.install.prune_cache", "before", None, 1)),
    (
        "before-history-installed",
        "patch",
        ("call", "client.history.append", "before", "'installed'", 1),
    ),  # noqa: E501
]


def _wait_stopped(proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status = os.waitpid(proc.pid, os.WNOHANG | os.WUNTRACED)
        if pid and os.WIFSTOPPED(status):
            return
        if pid:
            out, err = proc.communicate()
            raise AssertionError(f"updater ended before the kill point: {status} {out} {err}")
        time.sleep(0.01)
    raise AssertionError("the kill point was never reached")


def _stall_hook(world: World, suffix: str, fraction: float, gate: Gate):
    honest = serve_ranges(world.repo)

    def hook(h) -> bool:
        if h.path.endswith(suffix) and not gate.reached.is_set():
            data = local_file(world.repo, h).read_bytes()
            sent = len(data) - 1 if fraction < 0 else int(len(data) * fraction)
            gate.sent = sent
            h.send_response(200)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[:sent])
            h.wfile.flush()
            h.close_connection = True
            gate.stall(60)
            return True
        return honest(h)

    return hook


def _versions_consistent(world: World, expected: dict[str, dict[str, str]]) -> str:
    """The app launches; the folder `current` points at is exactly one release."""
    current = world.layout.current_version()
    assert current in expected, current
    assert tree_digest(world.layout.version_dir(current)) == expected[current]
    assert launch(world.root).startswith(f"app {current}")
    return current


@pytest.fixture
def expected(world: World) -> dict[str, dict[str, str]]:
    from client.extract import extract_tar

    trees = {"1.0.0": world.before}
    (archive,) = (world.repo / "targets").glob("*.demo-1.1.0.tar.gz")  # the same tree
    extract_tar(archive, world.tmp / "expected-1.1.0", 1 << 40)
    trees["1.1.0"] = tree_digest(world.tmp / "expected-1.1.0")
    return trees


@pytest.mark.parametrize(("point", "path", "where"), POINTS, ids=[p[0] for p in POINTS])
def test_kill_9_then_launch_then_update(world: World, expected, point, path, where) -> None:
    if path == "full":
        without_delta_base(world.layout, "1.0.0")
    world.configure(read_timeout_seconds=60, deadline_seconds=120)
    gate = Gate()
    if where[0] == "bytes":
        world.hook = _stall_hook(world, where[1], where[2], gate)
        command = world.cli_command("update")
    else:
        shim = world.tmp / "shim.py"
        shim.write_text(SHIM)
        _, target, when, match, nth = where
        spec = {"target": target, "when": when, "match": match, "nth": nth}
        world.hook = serve_ranges(world.repo)
        command = [sys.executable, str(shim), json.dumps(spec)]
        command += ["--config", str(world.layout.config_file), "update"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if where[0] == "bytes":
            assert gate.reached.wait(60), "the server never saw the request"
            # give the client time to take in (and write, past its file buffer) what was sent
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                part = list(world.layout.targets_dir.glob(".*.part"))
                if part and part[0].stat().st_size >= gate.sent - 8192 > 0:
                    break
                time.sleep(0.05)
        else:
            _wait_stopped(proc)
        assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL
    finally:
        gate.release.set()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()

    # right after the kill: whole old or whole new, and it runs
    _versions_consistent(world, expected)

    # the next update completes (or finds the new version already in place)
    world.hook = serve_ranges(world.repo)
    updater, events = world.updater()
    result = updater.update()
    assert result in ("1.1.0", None), [e.message for e in events]
    assert _versions_consistent(world, expected) == "1.1.0"
    assert not any(world.layout.staging.iterdir())
    for version in world.layout.kept_versions():
        assert tree_digest(world.layout.version_dir(version)) == expected[version]
    assert sorted(p.name for p in world.layout.versions.iterdir()) == sorted(
        world.layout.kept_versions()
    ), "an incomplete version folder was left behind"


def test_kill_points_cover_every_stage() -> None:
    assert len(POINTS) >= 20
    text = " ".join(p[0] for p in POINTS)
    for stage in ("meta", "patch", "archive", "extract", "rename", "switch"):
        assert stage in text
