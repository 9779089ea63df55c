"""`git_tag` in repo-tools.json: a release ends by tagging the source tree's HEAD."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from repo_tools.git_tag import tag_name
from tests.support.bundles import make_bundle
from tests.support.publisher import published_digest, run_tools

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Release Bot",
    "GIT_AUTHOR_EMAIL": "release@example.org",
    "GIT_COMMITTER_NAME": "Release Bot",
    "GIT_COMMITTER_EMAIL": "release@example.org",
}


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git work tree with one commit, the release's working directory."""
    for key, value in GIT_IDENTITY.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    tree = tmp_path / "source"
    make_bundle(tree)
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "first"]):
        subprocess.run(["git", "-C", str(tree), *command], check=True, timeout=60)
    return tree


def git(tree: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(tree), *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def init_with_tagging(tmp_path: Path, template: str) -> tuple[Path, Path]:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    assert run_tools(repo, keys, "init", "--app-name", "bot").returncode == 0
    config = json.loads((repo / "repo-tools.json").read_text())
    (repo / "repo-tools.json").write_text(json.dumps({**config, "git_tag": template}))
    return repo, keys


def test_a_release_tags_head_with_the_version(source: Path, tmp_path: Path) -> None:
    repo, keys = init_with_tagging(tmp_path, "v{version}")
    args = ("release", "--bundle", str(source), "--bump", "minor", "--channel", "beta")
    result = run_tools(repo, keys, *args, cwd=source)
    assert result.returncode == 0, result.stderr
    assert "tagged v0.1.0b1" in result.stderr
    assert git(source, "tag", "--list") == "v0.1.0b1"
    assert git(source, "rev-list", "-n", "1", "v0.1.0b1") == git(source, "rev-parse", "HEAD")
    assert git(source, "tag", "--list", "--format=%(contents:subject)") == "bot 0.1.0b1 (beta)"


def test_a_tag_that_exists_fails_after_the_release_and_says_what_to_run(
    source: Path, tmp_path: Path
) -> None:
    repo, keys = init_with_tagging(tmp_path, "release-{version}")
    git(source, "tag", "release-0.0.1")
    result = run_tools(
        repo, keys, "release", "--bundle", str(source), "--bump", "patch", cwd=source
    )
    assert result.returncode == 1
    assert "released 0.0.1, but tagging failed" in result.stderr
    assert "already exists" in result.stderr
    assert "git tag -a release-0.0.1 -m 'bot 0.0.1 (stable)'" in result.stderr
    assert run_tools(repo, keys, "verify").returncode == 0  # the release itself stands


def test_outside_a_git_work_tree_the_error_says_so(tmp_path: Path) -> None:
    repo, keys = init_with_tagging(tmp_path, "v{version}")
    bundle = make_bundle(tmp_path / "bundle")
    outside = tmp_path / "not-git"
    outside.mkdir()
    result = run_tools(
        repo, keys, "release", "--bundle", str(bundle), "--bump", "patch", cwd=outside
    )
    assert result.returncode == 1
    assert "tagging failed: git could not tag" in result.stderr and "Traceback" not in result.stderr


def test_an_invalid_template_stops_the_release_before_anything_changes(tmp_path: Path) -> None:
    repo, keys = init_with_tagging(tmp_path, "v {version}")
    bundle = make_bundle(tmp_path / "bundle")
    before = published_digest(repo)
    result = run_tools(repo, keys, "release", "--bundle", str(bundle), "--bump", "patch")
    assert result.returncode == 1 and "not a valid git tag" in result.stderr
    assert published_digest(repo) == before


def test_tag_names() -> None:
    assert tag_name("v{version}", "1.2.0b1") == "v1.2.0b1"
    assert tag_name("bot/{version}", "2.0.0") == "bot/2.0.0"
    for bad in ("v", "v {version}", "-{version}", "{version}.lock", "a..{version}", "v{version}/"):
        with pytest.raises(ValueError):
            tag_name(bad, "1.0.0")
