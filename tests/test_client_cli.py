"""update-client as a real subprocess: every command, --json, exit codes, bad input."""

from __future__ import annotations

import json

import pytest

from tests.support.install import run_client, server_entry
from tests.support.publisher import Publisher


@pytest.fixture
def installed(tmp_path, https_server, test_ca):
    publisher = Publisher(tmp_path / "pub")
    publisher.release("--version", "1.0.0")
    server = https_server(publisher.repo)
    root = tmp_path / "install"
    entry = server_entry(server.url)
    result = run_client(
        None,
        "--json", "setup", "--install-root", str(root), "--from", str(publisher.archive("1.0.0")),
        "--server", entry["metadata_url"], entry["targets_url"],
        "--ca-bundle", str(test_ca.ca_file),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["version"] == "1.0.0"
    return publisher, root


def test_check_update_rollback_history_status(installed) -> None:
    publisher, root = installed
    result = run_client(root, "check")
    assert result.returncode == 2 and "1.0.0 is up to date" in result.stdout
    publisher.release("--bump", "minor", "--notes", "faster orders")
    result = run_client(root, "--json", "check")
    assert result.returncode == 0, result.stderr
    update = json.loads(result.stdout)["update"]
    assert update["version"] == "1.1.0" and update["notes"] == "faster orders"
    result = run_client(root, "check")
    assert "1.0.0 -> 1.1.0" in result.stdout and "faster orders" in result.stdout

    status = json.loads(run_client(root, "--json", "status").stdout)
    assert status["current_version"] == "1.0.0" and status["channel"] == "stable"
    assert status["kept_versions"] == ["1.0.0"] and status["pending_update"]["version"] == "1.1.0"

    assert run_client(root, "install").returncode == 2  # nothing downloaded yet
    assert run_client(root, "download").returncode == 0
    result = run_client(root, "install")
    assert result.returncode == 0 and "installed 1.1.0" in result.stdout
    assert run_client(root, "update").returncode == 2

    status = json.loads(run_client(root, "--json", "status").stdout)
    assert status["current_version"] == "1.1.0" and status["kept_versions"] == ["1.0.0", "1.1.0"]
    assert "unconfirmed" in run_client(root, "status").stdout

    result = run_client(root, "--json", "rollback")
    assert result.returncode == 0 and json.loads(result.stdout)["current_version"] == "1.0.0"
    assert run_client(root, "rollback", "7.7.7").returncode == 1
    assert "kept versions: 1.0.0, 1.1.0" in run_client(root, "rollback", "7.7.7").stderr
    assert run_client(root, "update").returncode == 2  # 1.1.0 is skipped after the rollback

    history = json.loads(run_client(root, "--json", "history").stdout)
    assert [h["event"] for h in history][:1] == ["setup"]
    assert {"checked", "downloaded", "installed", "rolled_back"} <= {h["event"] for h in history}
    text = run_client(root, "history", "--limit", "2").stdout.strip().splitlines()
    assert len(text) == 2


def test_config_get_set_and_bad_values(installed) -> None:
    _, root = installed
    assert run_client(root, "config", "get", "max_backups").stdout.strip() == "5"
    assert run_client(root, "config", "set", "update_channel", "beta").returncode == 0
    assert json.loads((root / "updater_config.json").read_text())["update_channel"] == "beta"
    before = (root / "updater_config.json").read_text()
    for key, value, expected in [
        ("update_channel", "nightly", "update_channel: 'nightly' is not allowed"),
        ("max_backups", "-2", "max_backups: -2 is out of range"),
        ("check_interval_hours", "often", "check_interval_hours: 'often' is not allowed"),
        ("no_such_key", "1", "unknown key 'no_such_key'"),
        ("servers", '[{"metadata_url": "http://x/m", "targets_url": "http://x/t"}]', "http://"),
    ]:
        result = run_client(root, "config", "set", key, value)
        assert result.returncode == 4, (key, result.stderr)
        assert expected in result.stderr
    assert (root / "updater_config.json").read_text() == before  # nothing lost
    assert run_client(root, "config", "get", "nope").returncode == 4


def test_invalid_settings_file_exits_non_zero(installed) -> None:
    _, root = installed
    (root / "updater_config.json").write_text('{"auto_check": "sometimes"}')
    result = run_client(root, "check")
    assert result.returncode == 4 and "auto_check: 'sometimes'" in result.stderr
    result = run_client(root, "--json", "check")
    assert json.loads(result.stdout)["kind"] == "config"
    # status still works and says why updates are off; rollback still works offline
    assert "SETTINGS INVALID" in run_client(root, "status").stdout


def test_usage_errors_and_not_set_up(tmp_path) -> None:
    assert run_client(None, "frobnicate").returncode == 64
    assert run_client(tmp_path, "history", "--limit", "0").returncode == 64
    result = run_client(tmp_path / "none", "check")
    assert result.returncode == 5 and "update-client setup" in result.stderr
    result = run_client(
        None, "setup", "--install-root", str(tmp_path / "i"), "--from", str(tmp_path / "x")
    )
    assert result.returncode != 0
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_client(None, "setup", "--install-root", str(tmp_path / "i"), "--from", str(empty))
    assert result.returncode == 1 and "error:" in result.stderr


def test_launch_keeps_a_version_that_never_confirms_but_runs_fine(installed) -> None:
    """The old rule rolled this back at the second start; a clean exit is a good start."""
    publisher, root = installed
    publisher.release("--bump", "patch")
    assert run_client(root, "update").returncode == 0
    first = run_client(root, "launch", "--flag")  # the app never calls confirm_healthy()
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("app 1.0.1") and "--flag" in first.stdout
    for _ in range(3):
        assert run_client(root, "launch").stdout.startswith("app 1.0.1")
    history = json.loads(run_client(root, "--json", "history").stdout)
    confirmed = [r for r in history if r["event"] == "health_confirmed"]
    assert len(confirmed) == 1 and confirmed[0]["how"] == "exited"
    assert not [r for r in history if r["event"] == "rolled_back"]


def test_launch_keeps_a_confirmed_version(installed) -> None:
    publisher, root = installed
    publisher.release("--bump", "patch")
    assert run_client(root, "update").returncode == 0
    assert run_client(root, "launch").stdout.startswith("app 1.0.1")
    assert run_client(root, "confirm").returncode == 0
    assert run_client(root, "launch").stdout.startswith("app 1.0.1")
    assert run_client(root, "launch").stdout.startswith("app 1.0.1")


def test_pin_holds_a_version_and_clear_follows_the_channel(installed) -> None:
    publisher, root = installed
    publisher.release("--bump", "minor")
    publisher.release("--bump", "minor")
    result = run_client(root, "--json", "pin", "1.1.0")
    assert result.returncode == 0 and json.loads(result.stdout)["pinned_version"] == "1.1.0"
    assert run_client(root, "update").returncode == 0
    assert json.loads(run_client(root, "--json", "status").stdout)["current_version"] == "1.1.0"
    assert run_client(root, "update").returncode == 2  # pinned: 1.2.0 is not taken
    assert run_client(root, "pin", "--clear").returncode == 0
    assert run_client(root, "update").returncode == 0
    assert json.loads(run_client(root, "--json", "status").stdout)["current_version"] == "1.2.0"


@pytest.mark.parametrize("args", [("pin",), ("pin", "1.0", "--clear"), ("pin", "not-a-version")])
def test_pin_bad_input(installed, args) -> None:
    _, root = installed
    result = run_client(root, *args)
    assert result.returncode in (1, 64) and "error:" in result.stderr
    assert json.loads(run_client(root, "--json", "status").stdout)["pinned_version"] is None
