"""`repo-tools yank`: a withdrawn release is offered to no one, and its users move off it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.install import install_root, launch, run_client
from tests.support.publisher import Publisher, run_tools, tools_ok


def last_history(root: Path) -> dict:
    return json.loads((root / "history.jsonl").read_text().splitlines()[-1])


def test_users_of_a_withdrawn_release_switch_back_then_get_the_fix(installed_app) -> None:
    publisher, server, layout = installed_app.publisher, installed_app.server, installed_app.layout
    root = layout.root
    publisher.release("--bump", "minor")
    assert run_client(root, "update").returncode == 0 and layout.current_version() == "1.1.0"

    tools_ok(publisher.repo, publisher.keys, "yank", "1.1.0", "--reason", "orders sent twice")
    offered = run_client(root, "--json", "check")
    assert offered.returncode == 0, offered.stderr
    update = json.loads(offered.stdout)["update"]
    assert update["version"] == "1.0.0" and update["method"] == "kept"
    assert update["withdrawn"] == "orders sent twice" and update["download_bytes"] == 0

    server.requests.clear()
    assert "1.1.0 was withdrawn by the publisher (orders sent twice): move to 1.0.0" in (
        run_client(root, "check").stdout
    )
    moved = run_client(root, "update")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip() == "switched back to 1.0.0"
    assert layout.current_version() == "1.0.0" and launch(root).startswith("app 1.0.0")
    assert not [p for p in server.requests if p.startswith("/targets/")]  # nothing downloaded
    record = last_history(root)
    assert record["event"] == "rolled_back" and record["reason"] == "1.1.0 was withdrawn"
    events = [json.loads(line)["event"] for line in (root / "history.jsonl").open()]
    assert events[-2:] == ["checked", "rolled_back"]  # no download was recorded
    assert run_client(root, "check").returncode == 2  # 1.1.0 is never offered again

    status = json.loads(run_tools(publisher.repo, publisher.keys, "status", "--json").stdout)
    assert status["withdrawn"] == {"1.1.0": "orders sent twice"}
    assert status["latest"]["stable"] == "1.0.0"

    assert publisher.release("--bump", "patch") == "1.1.1"
    assert list((publisher.repo / "targets").glob("*.demo-1.1.1.from-1.0.0.delta"))
    fixed = run_client(root, "update")
    assert fixed.returncode == 0, fixed.stderr
    assert layout.current_version() == "1.1.1"
    assert json.loads((root / "history.jsonl").read_text().splitlines()[-2])["method"] == "patch"


def test_without_an_older_version_on_disk_the_good_release_is_downloaded(
    tmp_path: Path, https_server, test_ca
) -> None:
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0")
    publisher.release("--bump", "minor")
    server = https_server(publisher.repo)
    root = tmp_path / "install"
    layout = install_root(root, publisher, "1.1.0", [server.url], test_ca.ca_file)
    tools_ok(publisher.repo, publisher.keys, "yank", "1.1.0", "--reason", "bad fills")

    result = run_client(root, "--json", "update")
    assert result.returncode == 0, result.stderr
    assert layout.current_version() == "1.0.0" and launch(root).startswith("app 1.0.0")
    assert any(p.endswith("demo-1.0.0.tar.zst") for p in server.requests)
    assert last_history(root)["event"] == "installed"

    # 1.0.0 withdrawn too: nowhere to go, and every check says so
    tools_ok(publisher.repo, publisher.keys, "yank", "1.0.0", "--reason", "stale prices")
    for command in ("check", "update", "check"):  # the third answers from the up-to-date memo
        stranded = run_client(root, command)
        assert stranded.returncode == 2, stranded.stderr
        assert "1.0.0 was withdrawn by the publisher (stale prices) and no other release" in (
            stranded.stdout
        )


def test_yank_bad_input_and_undo(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0")
    repo, keys = publisher.repo, publisher.keys
    unknown = run_tools(repo, keys, "yank", "9.9.9", "--reason", "x")
    assert unknown.returncode == 1 and "9.9.9 is not released" in unknown.stderr
    neither = run_tools(repo, keys, "yank", "1.0.0")
    assert neither.returncode == 1 and "give either --reason" in neither.stderr
    blank = run_tools(repo, keys, "yank", "1.0.0", "--reason", "  ")
    assert blank.returncode == 1 and "give a --reason users will see" in blank.stderr
    assert run_tools(repo, keys, "yank", "1.0.0", "--reason", "oops").returncode == 0
    assert run_tools(repo, keys, "verify").returncode == 0
    undone = run_tools(repo, keys, "yank", "1.0.0", "--undo")
    assert undone.returncode == 0 and "offered again" in undone.stdout
    status = json.loads(run_tools(repo, keys, "status", "--json").stdout)
    assert status["withdrawn"] == {} and status["latest"]["stable"] == "1.0.0"
