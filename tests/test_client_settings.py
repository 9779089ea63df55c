"""Settings: defaults, every kind of bad value, atomic save. Pure functions, no server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client import settings as s


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    loaded = s.load(tmp_path / "updater_config.json")
    assert loaded == s.Settings()
    assert loaded.auto_check is True
    assert loaded.check_interval_hours == 6
    assert loaded.auto_download is True
    assert loaded.auto_install is False
    assert loaded.backup_before_update is True
    assert loaded.max_backups == 5
    assert loaded.update_channel == "stable"
    assert loaded.notifications is True
    assert loaded.rollback_enabled is True
    assert loaded.servers == []


def test_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    servers = [{"metadata_url": "https://a/m", "targets_url": "https://a/t"}]
    path.write_text(json.dumps({"update_channel": "beta", "servers": servers}))
    loaded = s.load(path)
    assert loaded.update_channel == "beta" and loaded.servers == servers
    assert loaded.max_backups == 5


BAD = [
    ({"auto_chek": True}, "unknown key 'auto_chek'"),
    ({"auto_check": "yes"}, "auto_check: 'yes'"),
    ({"auto_download": 1}, "auto_download: 1"),
    ({"auto_install": None}, "auto_install: None"),
    ({"backup_before_update": "true"}, "backup_before_update"),
    ({"notifications": 0}, "notifications"),
    ({"rollback_enabled": []}, "rollback_enabled"),
    ({"dev_allow_http_loopback": "on"}, "dev_allow_http_loopback"),
    ({"check_interval_hours": 0}, "check_interval_hours: 0 is out of range"),
    ({"check_interval_hours": -1}, "out of range"),
    ({"check_interval_hours": "6"}, "check_interval_hours: '6' is not allowed"),
    ({"check_interval_hours": True}, "check_interval_hours: True"),
    ({"max_backups": -1}, "max_backups: -1 is out of range"),
    ({"max_backups": 2.5}, "max_backups: 2.5 is not allowed; expected an integer"),
    ({"max_backups": 1000}, "out of range"),
    ({"max_download_mb": 0}, "max_download_mb: 0 is out of range"),
    ({"connect_timeout_seconds": 0}, "connect_timeout_seconds"),
    ({"read_timeout_seconds": "x"}, "read_timeout_seconds"),
    ({"deadline_seconds": 0}, "deadline_seconds"),
    (
        {"update_channel": "nightly"},
        "update_channel: 'nightly' is not allowed; use one of stable, beta, alpha",
    ),
    ({"update_channel": None}, "update_channel"),
    ({"ca_bundle": 5}, "ca_bundle: 5"),
    ({"ca_bundle": ""}, "ca_bundle"),
    ({"install_root": []}, "install_root"),
    ({"entry_point": "/abs/app.py"}, "entry_point: '/abs/app.py'"),
    ({"entry_point": "../escape.py"}, "entry_point"),
    ({"entry_point": ""}, "entry_point"),
    ({"backup_paths": "data"}, "backup_paths: 'data'"),
    ({"backup_paths": [1]}, "backup_paths"),
    ({"servers": "https://x"}, "servers: 'https://x' is not allowed"),
    ({"servers": [{"metadata_url": "https://x/m"}]}, "servers[0]"),
    (
        {"servers": [{"metadata_url": "http://example.com/m", "targets_url": "https://x/t"}]},
        "servers[0].metadata_url: 'http://example.com/m' uses plain http://",
    ),
    (
        {"servers": [{"metadata_url": "http://127.0.0.1:8000/m", "targets_url": "https://x/t"}]},
        "only https:// is allowed",
    ),
    (
        {
            "dev_allow_http_loopback": True,
            "servers": [{"metadata_url": "http://example.com/m", "targets_url": "https://x/t"}],
        },
        "uses plain http://",
    ),
    (
        {"servers": [{"metadata_url": "ftp://x/m", "targets_url": "https://x/t"}]},
        "not an https:// URL",
    ),
    ({"servers": [{"metadata_url": "https:///m", "targets_url": "https://x/t"}]}, "metadata_url"),
]


@pytest.mark.parametrize(("data", "expected"), BAD, ids=[str(d) for d, _ in BAD])
def test_every_bad_setting_is_named(tmp_path: Path, data: dict, expected: str) -> None:
    errors = s.validate(data)
    assert errors and any(expected in e for e in errors), errors
    path = tmp_path / "updater_config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(s.SettingsError) as caught:
        s.load(path)
    assert expected in str(caught.value) and str(path) in str(caught.value)


def test_http_loopback_allowed_only_with_dev_flag() -> None:
    server = {"metadata_url": "http://127.0.0.1:8000/m", "targets_url": "http://[::1]:8000/t"}
    assert s.validate({"servers": [server]})
    assert s.validate({"servers": [server], "dev_allow_http_loopback": True}) == []


def test_not_json_and_not_object(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("{oops")
    with pytest.raises(s.SettingsError, match="not valid JSON at line 1"):
        s.load(path)
    path.write_text("[1, 2]")
    with pytest.raises(s.SettingsError, match="must be a JSON object"):
        s.load(path)
    path.write_text("")
    assert s.load(path) == s.Settings()


def test_several_errors_reported_together() -> None:
    errors = s.validate({"max_backups": -3, "update_channel": "x", "bogus": 1})
    assert len(errors) == 3


def test_save_is_atomic_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "updater_config.json"
    changed = s.with_value(s.Settings(), "check_interval_hours", 12)
    s.save(path, changed)
    assert s.load(path) == changed
    assert [p.name for p in path.parent.iterdir()] == ["updater_config.json"]  # no temp left
    with pytest.raises(s.SettingsError, match="max_backups"):
        s.with_value(changed, "max_backups", "many")
    assert s.load(path) == changed  # a refused change leaves the file as it was


def test_parse_cli_value() -> None:
    assert s.parse_cli_value("auto_check", "false") is False
    assert s.parse_cli_value("check_interval_hours", "12") == 12
    assert s.parse_cli_value("update_channel", "beta") == "beta"
    with pytest.raises(s.SettingsError, match="unknown key"):
        s.parse_cli_value("nope", "1")
