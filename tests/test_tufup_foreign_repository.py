"""Our client and repo-tools in front of a repository stock tufup made (issue 12): each says
what it is and what to do, with a non-zero exit; never "up to date", never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.install import install_root, run_client
from tests.support.publisher import Publisher, refused, run_tools
from tests.support.stock_tufup import TufupPublisher


@pytest.fixture
def tufup_repo(tmp_path: Path) -> TufupPublisher:
    tufup = TufupPublisher(tmp_path / "tufup")
    tufup.release("1.0.0", "one")
    tufup.release("1.1.0", "two")
    return tufup


def test_our_client_says_the_repository_is_one_it_cannot_read(
    tmp_path: Path, tufup_repo: TufupPublisher, https_server, test_ca
):
    """An install of ours that trusts the tufup repository's root (its publisher shipped
    that root.json in the bundle) sees two releases of its app without our metadata."""
    ours = Publisher(tmp_path / "ours")
    ours.release("--version", "1.0.0")
    server = https_server(tufup_repo.repo)
    layout = install_root(tmp_path / "install", ours, "1.0.0", [server.url], test_ca.ca_file)
    trusted = layout.root / "cache" / "metadata"
    for path in trusted.iterdir():
        path.unlink()
    tufup_root = tufup_repo.repo / "metadata" / "root.json"
    shutil.copyfile(tufup_root, layout.root / "current" / ".update" / "root.json")
    shutil.copyfile(tufup_root, trusted / "root.json")
    for command in ("check", "update"):
        result = run_client(layout.root, command)
        assert result.returncode == 1, (command, result.returncode, result.stdout, result.stderr)
        assert "up to date" not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        (line,) = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
        assert "has releases of demo (1.0.0, 1.1.0) but none this client can read" in line
        assert "tufup repository" in line and "repo-tools adopt-tufup" in line
    assert (layout.root / "current").resolve().name == "1.0.0"


@pytest.mark.parametrize("command", [("status",), ("refresh",), ("verify",)])
def test_repo_tools_on_a_tufup_repository_says_adopt_it_first(
    tmp_path: Path, tufup_repo: TufupPublisher, command: tuple[str, ...]
):
    before = sorted(p.name for p in (tufup_repo.repo / "metadata").iterdir())
    result = run_tools(tufup_repo.repo, tmp_path / "keys", *command)
    if command == ("verify",):  # verify reads as a client does: tufup's layout verifies
        assert "Traceback" not in result.stderr, result.stderr
        return
    refused(result, "no versioned snapshot and targets metadata", "adopt-tufup --tufup-keys")
    assert sorted(p.name for p in (tufup_repo.repo / "metadata").iterdir()) == before


def test_the_catalog_tells_foreign_releases_from_none(tmp_path: Path):
    """Pure: archives named like ours without our metadata are "foreign"; one readable
    release of ours, or no release at all, is not that case."""
    from types import SimpleNamespace

    from client.selection import catalog, unreadable_message

    def target(custom=None):
        return SimpleNamespace(custom=custom, length=10, hashes={"sha256": "0" * 64})

    tufup_made = {
        "demo-1.0.0.tar.gz": target({"user": None, "tufup": {"required": False}}),
        "demo-1.1.0.patch": target({"user": None, "tufup": {}}),
        "demo-2.0.0rc1.tar.gz": target(),
        "other-3.0.0.tar.gz": target(),
        "demo-notes.tar.gz": target(),
    }
    cat = catalog("demo", tufup_made)
    assert sorted(cat.foreign) == ["1.0.0", "2.0.0rc1"]
    message = unreadable_message("demo", cat)
    assert message is not None and "(1.0.0, 2.0.0rc1)" in message
    assert unreadable_message("demo", catalog("demo", {})) is None
    assert unreadable_message("other", catalog("other", tufup_made)) is not None
