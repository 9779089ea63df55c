"""Offline root ceremonies: thresholds are enforced, rotated keys take over, clients follow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.bundles import make_bundle
from tests.support.publisher import published_digest, run_tools


@pytest.fixture
def threshold_repo(tmp_path: Path) -> tuple[Path, Path, Path]:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    args = ("init", "--app-name", "bot", "--root-keys", "3", "--root-threshold", "2")
    assert run_tools(repo, keys, *args).returncode == 0
    bundle = make_bundle(tmp_path / "bundle")
    assert (
        run_tools(repo, keys, "release", "--bump", "minor", "--bundle", str(bundle)).returncode == 0
    )
    vault = tmp_path / "vault"  # root keys live with their holders, not on the release machine
    shutil.move(keys / "offline", vault)
    return repo, keys, vault


def root_of(repo: Path) -> dict:
    return json.loads((repo / "metadata" / "root.json").read_text())["signed"]


def test_rotation_needs_a_threshold_of_root_holders(threshold_repo, tmp_path: Path) -> None:
    repo, keys, vault = threshold_repo
    old_timestamp_key = root_of(repo)["roles"]["timestamp"]["keyids"]
    before = published_digest(repo)
    started = run_tools(repo, keys, "rotate-key", "timestamp")
    assert started.returncode == 1 and "0/2 signatures" in started.stdout
    assert (
        run_tools(
            repo, keys, "ceremony", "sign", "--yes", "--key", str(vault / "root-2.pem")
        ).returncode
        == 0
    )
    early = run_tools(repo, keys, "ceremony", "finish")
    assert early.returncode == 1 and "not enough signatures" in early.stderr
    assert published_digest(repo) == before  # nothing published before the threshold is met

    outsider = tmp_path / "outsider.pem"
    assert run_tools(repo, keys, "keygen", "--no-encrypt", "--out", str(outsider)).returncode == 0
    refused = run_tools(repo, keys, "ceremony", "sign", "--yes", "--key", str(outsider))
    assert refused.returncode == 1 and "not a root key" in refused.stderr

    assert (
        run_tools(
            repo, keys, "ceremony", "sign", "--yes", "--key", str(vault / "root-3.pem")
        ).returncode
        == 0
    )
    finished = run_tools(repo, keys, "ceremony", "finish")
    assert finished.returncode == 0, finished.stderr
    root = root_of(repo)
    assert root["version"] == 2
    assert root["roles"]["timestamp"]["keyids"] != old_timestamp_key
    assert len(list((keys / "retired").glob("timestamp-*.pem"))) == 1
    # the new key signs from now on, and a new client walks root 1 -> 2
    bundle = tmp_path / "bundle"
    assert (
        run_tools(repo, keys, "release", "--bump", "patch", "--bundle", str(bundle)).returncode == 0
    )
    assert run_tools(repo, keys, "verify").returncode == 0


def test_adding_a_root_holder_and_raising_the_threshold(threshold_repo, tmp_path: Path) -> None:
    repo, keys, vault = threshold_repo
    new_holder = tmp_path / "holder4.pem"
    assert run_tools(repo, keys, "keygen", "--no-encrypt", "--out", str(new_holder)).returncode == 0
    begin = run_tools(
        repo,
        keys,
        "ceremony",
        "begin",
        "--add-root-key",
        str(new_holder) + ".pub.json",
        "--root-threshold",
        "3",
    )
    assert begin.returncode == 0, begin.stderr
    for holder in (vault / "root-1.pem", vault / "root-2.pem"):
        assert (
            run_tools(repo, keys, "ceremony", "sign", "--yes", "--key", str(holder)).returncode == 0
        )
    # two old signatures satisfy the old root, but the new root wants three
    early = run_tools(repo, keys, "ceremony", "finish")
    assert early.returncode == 1
    assert "2/3 from the new root keys" in early.stderr + early.stdout, early.stderr
    assert (
        run_tools(repo, keys, "ceremony", "sign", "--yes", "--key", str(new_holder)).returncode == 0
    )
    assert run_tools(repo, keys, "ceremony", "finish").returncode == 0
    root = root_of(repo)
    assert root["roles"]["root"]["threshold"] == 3 and len(root["roles"]["root"]["keyids"]) == 4
    assert run_tools(repo, keys, "verify").returncode == 0


def test_abort_removes_draft_and_new_keys(threshold_repo) -> None:
    repo, keys, _ = threshold_repo
    assert run_tools(repo, keys, "ceremony", "begin", "--rotate", "targets").returncode == 0
    assert (keys / "online" / "targets.next.pem").exists()
    again = run_tools(repo, keys, "ceremony", "begin", "--rotate", "snapshot")
    assert again.returncode == 1 and "already in progress" in again.stderr
    assert run_tools(repo, keys, "ceremony", "abort").returncode == 0
    assert not (keys / "online" / "targets.next.pem").exists()
    assert not (repo / "ceremony").exists()


def test_impossible_threshold_is_refused(threshold_repo) -> None:
    repo, keys, _ = threshold_repo
    result = run_tools(repo, keys, "ceremony", "begin", "--root-threshold", "5")
    assert result.returncode == 1 and "needs between 1 and 3" in result.stderr
    assert not (repo / "ceremony").exists()


def test_finish_refuses_a_draft_overtaken_by_a_newer_root(threshold_repo) -> None:
    repo, keys, vault = threshold_repo
    assert run_tools(repo, keys, "ceremony", "begin", "--rotate", "timestamp").returncode == 0
    for holder in ("root-1.pem", "root-2.pem"):
        signed = run_tools(repo, keys, "ceremony", "sign", "--yes", "--key", str(vault / holder))
        assert signed.returncode == 0, signed.stderr
    shutil.copytree(vault, keys / "offline")  # a refresh with the root keys at hand: root v2
    assert run_tools(repo, keys, "refresh", "--force").returncode == 0
    before = published_digest(repo)
    result = run_tools(repo, keys, "ceremony", "finish")
    assert result.returncode == 1 and "root changed since this ceremony began" in result.stderr
    assert published_digest(repo) == before


def test_a_rotation_that_cannot_sign_is_abandoned_cleanly(threshold_repo) -> None:
    repo, keys, vault = threshold_repo
    shutil.copytree(vault, keys / "offline")
    (keys / "offline" / "root-1.pem").chmod(0o644)  # other users could read it: refused
    before = published_digest(repo)
    result = run_tools(repo, keys, "rotate-key", "timestamp")
    assert result.returncode == 1 and "the rotation was abandoned" in result.stderr
    assert published_digest(repo) == before
    assert not (repo / "ceremony").exists() and not list(keys.rglob("*.next.pem"))
