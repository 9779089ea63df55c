"""Staged rollout: signed percentages, per-install buckets, halting a bad release."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from client import Updater
from client.formats import FormatError, archive_name, parse_custom
from client.selection import choose_update
from tests.support.catalog import release
from tests.support.install import install_root
from tests.support.publisher import Publisher, run_tools, tools_ok


def rolled(version: str, percent: int):
    base = release(version)
    return replace(base, info=replace(base.info, rollout=percent))


def test_bucket_below_percentage_is_offered() -> None:
    releases = [release("1.0.0"), rolled("1.1.0", 30)]
    assert choose_update(releases, "1.0.0", "stable", bucket=29).info.version == "1.1.0"
    assert choose_update(releases, "1.0.0", "stable", bucket=30) is None


def test_halted_release_is_passed_over_for_an_older_one() -> None:
    releases = [release("1.0.0"), release("1.1.0"), rolled("1.2.0", 0)]
    assert choose_update(releases, "1.0.0", "stable", bucket=0).info.version == "1.1.0"


def test_pin_ignores_rollout() -> None:
    releases = [release("1.0.0"), rolled("1.1.0", 0)]
    assert choose_update(releases, "1.0.0", "stable", pinned="1.1.0", bucket=99) is not None


@pytest.mark.parametrize("value", [-1, 101, "50", True])
def test_invalid_rollout_in_metadata_is_rejected(value) -> None:
    custom = release("1.0.0").info.to_custom()
    custom["updater"]["rollout"] = value
    with pytest.raises(FormatError, match="rollout"):
        parse_custom(archive_name("app", "1.0.0"), custom)


def test_publisher_halts_then_widens_a_rollout(tmp_path: Path, https_server, test_ca) -> None:
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0")
    server = https_server(publisher.repo)
    root = tmp_path / "install"
    install_root(root, publisher, "1.0.0", [server.url], test_ca.ca_file)
    state = json.loads((root / "state.json").read_text())
    state["rollout_bucket"] = 50
    (root / "state.json").write_text(json.dumps(state))

    assert publisher.release("--bump", "minor", "--rollout", "50") == "1.1.0"
    updater = Updater.from_config(install_root=root)
    assert updater.check() is None  # bucket 50 is not in the first 50%
    tools_ok(publisher.repo, publisher.keys, "rollout", "1.1.0", "51")
    assert updater.check().version == "1.1.0"
    tools_ok(publisher.repo, publisher.keys, "rollout", "1.1.0", "0")  # halt: a bad release
    assert updater.check() is None
    status = json.loads(tools_ok(publisher.repo, publisher.keys, "status", "--json"))
    assert status["rollouts"] == {"1.1.0": 0}
    assert updater.status()["rollout_bucket"] == 50


@pytest.mark.parametrize(
    ("version", "message"),
    [("9.9.9", "9.9.9 is not released"), ("not-a-version", "invalid version")],
)
def test_rollout_of_unknown_version_fails_clearly(tmp_path: Path, version, message) -> None:
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0")
    result = run_tools(publisher.repo, publisher.keys, "rollout", version, "10")
    assert result.returncode == 1 and message in result.stderr
    assert "Traceback" not in result.stderr
