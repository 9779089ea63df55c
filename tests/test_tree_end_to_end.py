"""The tree format end to end with what `repo-tools release` publishes (no hand-made targets):
updates by delta from version to version, by the command line, each new version sharing its
unchanged files with the one before, the install root growing by about the changed files, and
`verify --repair`, rollback and pruning on versions made that way."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support.files import disk_bytes
from tests.support.install import install_root, launch, run_client
from tests.support.publisher import Publisher

FILES = 40


def test_release_after_release_by_delta(tmp_path: Path, https_server, test_ca) -> None:
    publisher = Publisher(tmp_path / "publisher")
    lib = publisher.bundle / "lib" / "site"
    lib.mkdir(parents=True)
    for number in range(FILES):
        (lib / f"m{number}.py").write_bytes(os.urandom(30_000))
    publisher.release("--version", "1.0.0")
    requests: list[str] = []
    server = https_server(publisher.repo, lambda h: bool(requests.append(h.path)))
    layout = install_root(tmp_path / "install", publisher, "1.0.0", [server.url], test_ca.ca_file)
    root = layout.root
    for version in ("1.1.0", "1.2.0"):
        (lib / "m7.py").write_bytes(os.urandom(30_000))  # one library file changes too
        publisher.release("--version", version)
        before = disk_bytes(root)
        requests.clear()
        result = run_client(root, "--json", "update")
        assert result.returncode == 0, result.stderr
        assert layout.current_version() == version
        assert launch(root).startswith(f"app {version}")
        fetched = [p.rsplit(".", 2)[-2:] for p in requests if "/targets/" in p]
        assert ["from-" in p for p in requests if "/targets/" in p].count(True) == 1, requests
        assert not any(p.endswith(".tar.zst") or p.endswith(".tar.gz") for p in requests), fetched
        history = [json.loads(line) for line in layout.history_file.open()]
        downloaded = [r for r in history if r["event"] == "downloaded"][-1]
        assert downloaded["method"] == "patch" and downloaded["patch_fallback"] is None
        changed = 300_000 + 30_000  # lib/data.bin (write_app) and m7.py; app.py, state: slack
        assert disk_bytes(root) - before < changed + 64 * 1024, disk_bytes(root) - before
        new = layout.version_dir(version)
        previous = sorted(layout.kept_versions())[-2]
        before_file = layout.version_dir(previous) / "lib" / "site" / "m3.py"
        assert (new / "lib" / "site" / "m3.py").stat().st_ino == before_file.stat().st_ino
        assert not list(root.rglob("*.tar")) and not list(layout.targets_dir.iterdir())
    # verify --repair on a version made by two deltas; then prune its bases
    (layout.version_dir("1.2.0") / "lib" / "site" / "m3.py").unlink()
    verify = run_client(root, "--json", "verify")
    assert verify.returncode != 0 and "m3.py" in verify.stdout
    repaired = run_client(root, "--json", "verify", "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert run_client(root, "verify").returncode == 0
    rollback = run_client(root, "rollback")
    assert rollback.returncode == 0, rollback.stderr
    assert launch(root).startswith("app 1.1.0")
    assert run_client(root, "verify").returncode == 0
    from client.install import prune_versions

    assert prune_versions(layout, 0, "1.1.0", set()) == ["1.0.0", "1.2.0"]
    assert run_client(root, "verify").returncode == 0
    assert launch(root).startswith("app 1.1.0")
