"""A plain python-tuf client (no project code) trusts and downloads everything we publish."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from tuf.ngclient import Updater
from tuf.ngclient.requests_fetcher import RequestsFetcher

from tests.support.bundles import make_bundle
from tests.support.publisher import run_tools


def test_python_tuf_updater_verifies_every_target_over_https(
    tmp_path: Path, https_server, test_ca, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    assert run_tools(repo, keys, "init", "--app-name", "bot").returncode == 0
    bundle = make_bundle(tmp_path / "bundle")
    steps = [
        ("--bump", "major"),  # 1.0.0 stable
        ("--bump", "minor", "--channel", "beta"),  # 1.1.0b1
        ("--bump", "patch"),  # 1.0.1 hotfix while the beta is out
        ("--bump", "minor", "--channel", "beta"),  # 1.1.0b2
        ("--channel", "stable"),  # 1.1.0 promotion
        ("--bump", "minor", "--channel", "alpha"),  # 1.2.0a1
    ]
    for number, step in enumerate(steps):
        make_bundle(bundle, f"build {number}")
        result = run_tools(repo, keys, "release", "--bundle", str(bundle), *step)
        assert result.returncode == 0, result.stderr
    # a root rotation in between: clients must walk 1 -> 2
    assert run_tools(repo, keys, "refresh", "--force").returncode == 0

    server = https_server(repo)
    # tuf 7's default fetcher (urllib3) ignores REQUESTS_CA_BUNDLE; its requests fetcher honours it
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(test_ca.ca_file))
    trusted = tmp_path / "client"
    (trusted / "targets").mkdir(parents=True)
    updater = Updater(
        metadata_dir=str(trusted),
        metadata_base_url=f"{server.url}/metadata/",
        target_dir=str(trusted / "targets"),
        target_base_url=f"{server.url}/targets/",
        fetcher=RequestsFetcher(),
        bootstrap=(repo / "metadata" / "1.root.json").read_bytes(),
    )
    updater.refresh()

    targets = json.loads((repo / "metadata" / "targets.json").read_text())["signed"]["targets"]
    assert len(targets) >= 6 + 5  # six archives and at least one patch per later release
    for name, entry in targets.items():
        info = updater.get_targetinfo(name)
        assert info is not None
        path = Path(updater.download_target(info))
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["hashes"]["sha256"]
    assert json.loads((trusted / "root.json").read_text())["signed"]["version"] == 2
    assert any(r.startswith("/metadata/2.root.json") for r in server.requests)
