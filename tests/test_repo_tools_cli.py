"""repo-tools end to end as a real subprocess: releases, refresh, verify, prune, bad inputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.bundles import make_bundle
from tests.support.publisher import published_digest, release_bundle, run_tools, tools_command


@pytest.fixture
def repo_env(tmp_path: Path) -> tuple[Path, Path, Path]:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    result = run_tools(
        repo, keys, "init", "--app-name", "bot", "--root-keys", "3", "--root-threshold", "2"
    )
    assert result.returncode == 0, result.stderr
    return repo, keys, make_bundle(tmp_path / "bundle")


def test_init_creates_keys_outside_repository_and_refuses_overwrite(repo_env) -> None:
    repo, keys, _ = repo_env
    assert sorted(p.name for p in (keys / "offline").iterdir()) == [
        "root-1.pem",
        "root-2.pem",
        "root-3.pem",
    ]
    assert oct((keys / "online" / "timestamp.pem").stat().st_mode & 0o777) == "0o600"
    assert not list(repo.rglob("*.pem"))
    root = json.loads((repo / "metadata" / "1.root.json").read_text())
    assert root["signed"]["roles"]["root"]["threshold"] == 2
    assert root["signed"]["consistent_snapshot"] is True
    again = run_tools(repo, keys, "init", "--app-name", "bot")
    assert again.returncode == 1
    assert "--force" in again.stderr


def test_init_refuses_keys_inside_repository(tmp_path: Path) -> None:
    result = run_tools(tmp_path / "repo", tmp_path / "repo" / "keys", "init", "--app-name", "x")
    assert result.returncode == 1
    assert "inside the repository folder" in result.stderr
    assert not (tmp_path / "repo" / "keys").exists()


def test_init_refuses_git_trackable_keys(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = run_tools(tmp_path / "repo", tmp_path / "mykeys", "init", "--app-name", "x")
    assert result.returncode == 1
    assert "git could track it" in result.stderr
    (tmp_path / ".gitignore").write_text("mykeys/\n")
    assert (
        run_tools(tmp_path / "repo", tmp_path / "mykeys", "init", "--app-name", "x").returncode == 0
    )


def test_release_sequence_with_channels_hotfix_and_promotion(repo_env) -> None:
    repo, keys, bundle = repo_env
    assert release_bundle(repo, keys, bundle, "--bump", "major") == "1.0.0"
    make_bundle(bundle, "beta")
    assert release_bundle(repo, keys, bundle, "--bump", "minor", "--channel", "beta") == "1.1.0b1"
    make_bundle(bundle, "hotfix")
    assert release_bundle(repo, keys, bundle, "--bump", "patch", "--notes", "fix") == "1.0.1"
    assert release_bundle(repo, keys, bundle, "--channel", "stable") == "1.1.0"
    status = json.loads(run_tools(repo, keys, "status", "--json").stdout)
    assert status["latest"] == {"stable": "1.1.0", "beta": "1.1.0", "alpha": "1.1.0"}
    assert status["releases"] == ["1.0.0", "1.0.1", "1.1.0b1", "1.1.0"]
    targets = json.loads((repo / "metadata" / "targets.json").read_text())["signed"]["targets"]
    hotfix = targets["bot-1.0.1.tar.gz"]["custom"]["updater"]
    assert hotfix["notes"] == "fix" and hotfix["channel"] == "stable"
    # the promotion gets a delta from the hotfix and one from the beta (format 2)
    assert targets["bot-1.1.0.tar.gz"]["custom"]["updater"]["tree"]["bases"] == ["1.0.1", "1.1.0b1"]
    assert {"bot-1.1.0.from-1.0.1.delta", "bot-1.1.0.from-1.1.0b1.delta"} <= set(targets)
    verify = run_tools(repo, keys, "verify")
    assert verify.returncode == 0, verify.stderr


def test_bundle_carries_root_and_release_info(repo_env, tmp_path: Path) -> None:
    repo, keys, bundle = repo_env
    release_bundle(repo, keys, bundle, "--bump", "minor")
    archive = next((repo / "targets").glob("*.bot-0.1.0.tar.gz"))
    shutil.unpack_archive(archive, tmp_path / "out", format="gztar")
    info = json.loads((tmp_path / "out" / ".update" / "release.json").read_text())
    assert info == {"app": "bot", "version": "0.1.0", "channel": "stable"}
    shipped_root = (tmp_path / "out" / ".update" / "root.json").read_bytes()
    assert shipped_root == (repo / "metadata" / "root.json").read_bytes()
    assert not (bundle / ".update").exists()  # the publisher's folder is not modified


def test_refresh_is_idempotent_and_reports_missing_root_keys(repo_env, tmp_path: Path) -> None:
    repo, keys, _ = repo_env
    assert run_tools(repo, keys, "refresh").stdout.strip() == "nothing due"
    before = published_digest(repo)
    assert run_tools(repo, keys, "refresh").stdout.strip() == "nothing due"
    assert published_digest(repo) == before
    forced = run_tools(repo, keys, "refresh", "--force")
    assert forced.returncode == 0 and "timestamp" in forced.stdout
    shutil.move(keys / "offline", tmp_path / "vault")
    blocked = run_tools(repo, keys, "refresh", "--force")
    assert blocked.returncode == 1
    assert "root expires" in blocked.stderr and "2 of its key(s)" in blocked.stderr


def test_verify_fails_within_expiry_margin(repo_env) -> None:
    repo, keys, _ = repo_env
    result = run_tools(repo, keys, "verify", "--within", "10")
    assert result.returncode == 1
    assert "timestamp expires" in result.stderr


def test_prune_keeps_channel_heads_and_a_verifiable_repository(repo_env) -> None:
    repo, keys, bundle = repo_env
    for n in range(4):
        make_bundle(bundle, f"v{n}")
        release_bundle(repo, keys, bundle, "--bump", "patch")
    make_bundle(bundle, "beta")
    release_bundle(repo, keys, bundle, "--bump", "minor", "--channel", "beta")
    result = run_tools(repo, keys, "prune", "--keep", "2")
    assert result.returncode == 0, result.stderr
    status = json.loads(run_tools(repo, keys, "status", "--json").stdout)
    assert status["releases"] == ["0.0.4", "0.1.0b1"]
    names = [p.name.split(".", 1)[1] for p in (repo / "targets").iterdir()]
    assert sorted(names) == [
        "bot-0.0.4.manifest.zst",
        "bot-0.0.4.tar.gz",
        "bot-0.0.4.tar.zst",
        "bot-0.1.0b1.from-0.0.4.delta",
        "bot-0.1.0b1.manifest.zst",
        "bot-0.1.0b1.tar.gz",
        "bot-0.1.0b1.tar.zst",
    ]
    assert run_tools(repo, keys, "verify").returncode == 0


# --- bad input: clear error, non-zero exit, repository unchanged -------------------------


def assert_refused(repo: Path, keys: Path, before: dict, result, *fragments: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert published_digest(repo) == before


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_missing_or_empty_bundle(repo_env, tmp_path: Path, kind: str) -> None:
    repo, keys, _ = repo_env
    bundle = tmp_path / "nothing"
    if kind == "empty":
        bundle.mkdir()
    before = published_digest(repo)
    result = run_tools(repo, keys, "release", "--bump", "patch", "--bundle", str(bundle))
    assert_refused(repo, keys, before, result, str(bundle))


def test_symlink_out_of_bundle(repo_env) -> None:
    repo, keys, bundle = repo_env
    (bundle / "secrets").symlink_to("/etc/passwd")
    before = published_digest(repo)
    result = run_tools(repo, keys, "release", "--bump", "patch", "--bundle", str(bundle))
    assert_refused(repo, keys, before, result, "points outside the bundle")


def test_unreadable_file_in_bundle(repo_env, tmp_path: Path) -> None:
    repo, keys, bundle = repo_env
    (bundle / "locked.dat").write_text("x")
    (bundle / "locked.dat").chmod(0)
    before = published_digest(repo)
    command = tools_command(repo, keys, "release", "--bump", "patch", "--bundle", str(bundle))
    if os.geteuid() == 0:  # root reads everything: drop the capabilities that allow it
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert_refused(repo, keys, before, result, "cannot read", "locked.dat")


def test_version_not_higher_than_its_series(repo_env) -> None:
    repo, keys, bundle = repo_env
    release_bundle(repo, keys, bundle, "--version", "1.0.2")
    before = published_digest(repo)
    result = run_tools(repo, keys, "release", "--version", "1.0.1", "--bundle", str(bundle))
    assert_refused(repo, keys, before, result, "not higher than 1.0.2")


def test_release_without_keys(repo_env, tmp_path: Path) -> None:
    repo, _, bundle = repo_env
    before = published_digest(repo)
    result = run_tools(
        repo, tmp_path / "nokeys", "release", "--bump", "patch", "--bundle", str(bundle)
    )
    assert_refused(repo, tmp_path / "nokeys", before, result, "no usable key for the targets role")


def test_wrong_key_for_a_role(repo_env, tmp_path: Path) -> None:
    repo, keys, bundle = repo_env
    other = tmp_path / "other"
    run_tools(tmp_path / "repo2", other, "init", "--app-name", "bot")
    shutil.copy(other / "online" / "snapshot.pem", keys / "online" / "snapshot.pem")
    before = published_digest(repo)
    result = run_tools(repo, keys, "release", "--bump", "patch", "--bundle", str(bundle))
    assert_refused(repo, keys, before, result, "snapshot role")


def test_corrupted_metadata_on_disk(repo_env) -> None:
    repo, keys, bundle = repo_env
    release_bundle(repo, keys, bundle, "--bump", "patch")
    snapshot = next(p for p in (repo / "metadata").glob("*.snapshot.json") if p.name[0] == "2")
    snapshot.write_text(snapshot.read_text()[:-40])
    before = published_digest(repo)
    result = run_tools(repo, keys, "release", "--bump", "patch", "--bundle", str(bundle))
    assert_refused(repo, keys, before, result, "corrupted", snapshot.name)
    assert run_tools(repo, keys, "verify").returncode == 1


def test_disk_full_simulated_by_file_size_limit(repo_env) -> None:
    repo, keys, bundle = repo_env
    release_bundle(repo, keys, bundle, "--bump", "patch")
    (bundle / "big.bin").write_bytes(os.urandom(3 << 20))
    before = published_digest(repo)
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20)); "
        "from repo_tools.cli import main; sys.argv[0] = 'repo-tools'; main()"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "--repo",
            str(repo),
            "--keys",
            str(keys),
            "release",
            "--bump",
            "patch",
            "--bundle",
            str(bundle),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_refused(repo, keys, before, result, "too large")
    assert not (repo / ".repo-tools-staging").exists()


def test_disk_full_on_a_small_filesystem(repo_env, tmp_path: Path) -> None:
    repo, keys, bundle = repo_env
    mount = tmp_path / "small"
    mount.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("this machine does not allow mounting a tmpfs (covered by the size-limit test)")
    try:
        small_repo = mount / "repo"
        shutil.copytree(repo, small_repo)
        (bundle / "big.bin").write_bytes(os.urandom(1 << 20))
        before = published_digest(small_repo)
        result = run_tools(small_repo, keys, "release", "--bump", "patch", "--bundle", str(bundle))
        assert_refused(small_repo, keys, before, result, "disk full")
        assert not (small_repo / ".repo-tools-staging").exists()
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_release_killed_half_way_leaves_repository_as_before(repo_env) -> None:
    repo, keys, bundle = repo_env
    release_bundle(repo, keys, bundle, "--bump", "patch")
    # enough real content that patching takes a noticeable moment
    site = Path(shutil.__file__).parent
    shutil.copytree(site / "email", bundle / "email")
    shutil.copytree(site / "asyncio", bundle / "asyncio")
    (bundle / "blob.bin").write_bytes(b"".join(p.read_bytes() for p in site.glob("*.py")) * 4)
    before = published_digest(repo)
    command = tools_command(repo, keys, "release", "--bump", "patch", "--bundle", str(bundle))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    staged = repo / ".repo-tools-staging" / "targets"
    deadline = time.monotonic() + 60
    while not (staged.exists() and any(staged.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert published_digest(repo) == before
    assert run_tools(repo, keys, "verify").returncode == 0
    assert release_bundle(repo, keys, bundle, "--bump", "patch") == "0.0.2"
    assert not (repo / ".repo-tools-staging").exists()


def test_publish_copies_in_upload_order_and_is_incremental(repo_env, tmp_path: Path) -> None:
    repo, keys, bundle = repo_env
    release_bundle(repo, keys, bundle, "--bump", "patch")
    site = tmp_path / "site"
    first = run_tools(repo, keys, "publish", "--to", str(site))
    assert first.returncode == 0, first.stderr
    assert published_digest(site) == published_digest(repo)
    make_bundle(bundle, "two")
    release_bundle(repo, keys, bundle, "--bump", "patch")
    run_tools(repo, keys, "prune", "--keep", "1")
    second = run_tools(repo, keys, "publish", "--to", str(site), "--delete")
    assert second.returncode == 0, second.stderr
    assert published_digest(site) == published_digest(repo)
    from repo_tools.publish import upload_plan

    (tmp_path / "a-file").write_text("")
    refused = run_tools(repo, keys, "publish", "--to", str(tmp_path / "a-file"))
    assert refused.returncode == 1 and "it is a file; give a folder" in refused.stderr
    inside = run_tools(repo, keys, "publish", "--to", str(repo / "targets"))
    assert inside.returncode == 1 and "into itself" in inside.stderr
    order = [p.name for p in upload_plan(repo)]
    assert order[-1] == "timestamp.json"
    assert max(i for i, n in enumerate(order) if n.endswith(".tar.gz")) < order.index("1.root.json")


def test_client_settings_ship_in_the_bundle_and_are_validated(repo_env, tmp_path: Path) -> None:
    repo, keys, bundle = repo_env
    config_file = repo / "repo-tools.json"
    config = json.loads(config_file.read_text())
    config["client_settings"] = {
        "servers": [{"metadata_url": "http://plain/m", "targets_url": "x"}]
    }
    config_file.write_text(json.dumps(config))
    before = published_digest(repo)
    refused = run_tools(repo, keys, "release", "--bump", "patch", "--bundle", str(bundle))
    assert_refused(repo, keys, before, refused, "client_settings", "plain http://")
    servers = [{"metadata_url": "https://u.example/m", "targets_url": "https://u.example/t"}]
    config["client_settings"] = {"servers": servers, "update_channel": "beta"}
    config_file.write_text(json.dumps(config))
    release_bundle(repo, keys, bundle, "--bump", "patch")
    archive = next((repo / "targets").glob("*.bot-0.0.1.tar.gz"))
    shutil.unpack_archive(archive, tmp_path / "out", format="gztar")
    shipped = json.loads((tmp_path / "out" / ".update" / "updater_config.json").read_text())
    assert shipped == {"servers": servers, "update_channel": "beta"}


@pytest.mark.parametrize("damage", ["tampered", "missing"])
def test_verify_names_a_damaged_target_file(repo_env, damage: str) -> None:
    repo, keys, bundle = repo_env
    release_bundle(repo, keys, bundle, "--bump", "patch")
    archive = next((repo / "targets").glob("*.bot-0.0.1.tar.gz"))
    if damage == "tampered":
        data = bytearray(archive.read_bytes())
        data[len(data) // 2] ^= 0xFF
        archive.write_bytes(bytes(data))
    else:
        archive.unlink()
    result = run_tools(repo, keys, "verify")
    assert result.returncode == 1
    assert "target bot-0.0.1.tar.gz" in result.stderr


def test_world_readable_private_key_is_refused(repo_env) -> None:
    repo, keys, bundle = repo_env
    (keys / "online" / "targets.pem").chmod(0o644)
    before = published_digest(repo)
    result = run_tools(repo, keys, "release", "--bump", "patch", "--bundle", str(bundle))
    assert_refused(repo, keys, before, result, "can be read by other users", "chmod 600")
    (keys / "online" / "targets.pem").chmod(0o600)
    assert release_bundle(repo, keys, bundle, "--bump", "patch") == "0.0.1"


def test_old_metadata_versions_do_not_pile_up(repo_env) -> None:
    repo, keys, bundle = repo_env
    for n in range(5):
        make_bundle(bundle, f"v{n}")
        release_bundle(repo, keys, bundle, "--bump", "patch")
    targets = sorted(p.name for p in (repo / "metadata").glob("[0-9]*.targets.json"))
    snapshots = sorted(p.name for p in (repo / "metadata").glob("[0-9]*.snapshot.json"))
    assert targets == ["4.targets.json", "5.targets.json", "6.targets.json"]
    assert snapshots == ["4.snapshot.json", "5.snapshot.json", "6.snapshot.json"]
    assert (repo / "metadata" / "1.root.json").exists()
    assert run_tools(repo, keys, "verify").returncode == 0


def test_release_dry_run_checks_and_tells_but_changes_nothing(repo_env, tmp_path: Path) -> None:
    repo, keys, bundle = repo_env
    release_bundle(repo, keys, bundle, "--bump", "patch")
    before = published_digest(repo)
    args = ("release", "--bundle", str(bundle), "--bump", "minor", "--channel", "beta")
    planned = run_tools(repo, keys, *args, "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.strip() == "0.1.0b1"
    assert "archive:      bot-0.1.0b1.tar.gz" in planned.stderr
    assert "deltas from: 0.0.1" in planned.stderr
    assert published_digest(repo) == before and not (repo / ".repo-tools-staging").exists()
    shutil.move(keys / "online", tmp_path / "elsewhere")
    refused = run_tools(repo, keys, *args, "--dry-run")
    assert_refused(repo, keys, before, refused, "no usable key for the targets role")
    shutil.move(tmp_path / "elsewhere", keys / "online")
    assert release_bundle(repo, keys, bundle, *args[3:]) == "0.1.0b1"  # the plan was the real thing


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ('"str"', "expected a JSON object"),
        ('{"app_name": "bot", "expiry_days": [1]}', "expected a JSON object"),
        ('{"app_name": "bot", "bundle": 5}', "bundle is 5: give a string"),
        ('{"app_name": "bot", "build_command": 5}', "build_command is 5: give a string"),
        ('{"app_name": "bot", "keep_releases": true}', "keep_releases is True"),
    ],
)
def test_bad_configuration_values_are_named(repo_env, config: str, fragment: str) -> None:
    repo, keys, bundle = repo_env
    (repo / "repo-tools.json").write_text(config)
    before = published_digest(repo)
    result = run_tools(repo, keys, "release", "--bundle", str(bundle), "--bump", "patch")
    assert_refused(repo, keys, before, result, fragment)


def test_release_controls_take_any_spelling_and_skip_no_op_changes(repo_env) -> None:
    repo, keys, bundle = repo_env
    release_bundle(repo, keys, bundle, "--version", "1.0.0")
    changed = run_tools(repo, keys, "rollout", "1.0", "50")  # 1.0 is 1.0.0
    assert changed.returncode == 0 and "rollout 100% -> 50%" in changed.stdout
    before = published_digest(repo)
    assert run_tools(repo, keys, "rollout", "1.0.0", "50").returncode == 0
    assert run_tools(repo, keys, "yank", "1.0.0", "--undo").returncode == 0
    assert published_digest(repo) == before  # nothing changed, so nothing was re-signed
    both = run_tools(repo, keys, "release", "--bundle", str(bundle), "--version", "2.0.0",
                     "--bump", "major")  # fmt: skip
    assert_refused(repo, keys, before, both, "give either --bump or --version")
    nothing = run_tools(repo, keys, "ceremony", "abort")
    assert_refused(repo, keys, before, nothing, "no ceremony in progress")
