"""`update-client verify [--repair]`: the installed files against the signed release.

Unit part: compare_tree/repair_tree on real folders. End to end: a real install over HTTPS,
damaged on disk (edited, deleted, a folder swapped for a link leading outside), verified and
repaired by the real CLI.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from client.integrity import compare_tree, repair_tree
from tests.support.install import launch, run_client


def make_tree(root: Path) -> Path:
    (root / "lib" / "deep").mkdir(parents=True)
    (root / "app.py").write_text("print('app')\n")
    (root / "lib" / "engine.py").write_text("RATE = 1\n")
    (root / "lib" / "deep" / "data.bin").write_bytes(bytes(range(256)) * 10)
    os.symlink("engine.py", root / "lib" / "alias.py")
    return root


def test_compare_finds_every_difference_and_repair_restores_without_leaving_the_folder(
    tmp_path: Path,
) -> None:
    reference = make_tree(tmp_path / "reference")
    installed = tmp_path / "installed"
    shutil.copytree(reference, installed, symlinks=True)
    assert compare_tree(reference, installed).intact

    (installed / "lib" / "engine.py").write_text("RATE = 9\n")  # same size, other bytes
    (installed / "app.py").unlink()
    (installed / "lib" / "alias.py").unlink()
    os.symlink("/etc/passwd", installed / "lib" / "alias.py")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.bin").write_text("not yours")
    shutil.rmtree(installed / "lib" / "deep")
    os.symlink(outside, installed / "lib" / "deep")  # a folder swapped for a link out
    (installed / "notes.log").write_text("the app's own log")
    (installed / "lib" / "__pycache__").mkdir()
    (installed / "lib" / "__pycache__" / "engine.cpython-311.pyc").write_bytes(b"\0")
    (installed / "extra").mkdir()
    (installed / "extra" / "inside.txt").write_text("x")

    found = compare_tree(reference, installed)
    assert found.missing == ["app.py"]
    assert sorted(found.modified) == [
        "lib/alias.py",
        "lib/deep",
        "lib/deep/data.bin",
        "lib/engine.py",
    ]
    assert found.extra == ["extra", "notes.log"]  # __pycache__ is Python's, not extra
    assert not found.intact

    repaired = repair_tree(reference, installed, found)
    assert set(repaired) == set(found.missing + found.modified)
    assert compare_tree(reference, installed).intact
    assert (outside / "data.bin").read_text() == "not yours"  # never written through the link
    assert not (installed / "lib" / "deep").is_symlink()
    assert os.readlink(installed / "lib" / "alias.py") == "engine.py"
    assert (installed / "notes.log").read_text() == "the app's own log"  # extra files stay
    assert not list(installed.rglob(".*.repair"))


def test_an_interrupted_repair_is_finished_by_the_next(tmp_path: Path) -> None:
    reference = make_tree(tmp_path / "reference")
    installed = tmp_path / "installed"
    shutil.copytree(reference, installed, symlinks=True)
    (installed / "lib" / "engine.py").write_text("RATE = 2\n")
    # what a repair killed after writing its temporary file leaves behind
    (installed / "lib" / ".engine.py.repair").write_text("RATE")
    found = compare_tree(reference, installed)
    assert found.modified == ["lib/engine.py"] and found.extra == ["lib/.engine.py.repair"]
    repair_tree(reference, installed, found)
    assert compare_tree(reference, installed).intact


def test_verify_reports_damage_and_repair_puts_the_signed_files_back(installed_app) -> None:
    layout = installed_app.layout
    assert run_client(layout.root, "verify").returncode == 0
    version_dir = layout.version_dir("1.0.0")
    data = version_dir / "lib" / "data.bin"
    original = data.read_bytes()
    data.write_bytes(original[:-1] + b"!")
    (version_dir / "app.py").unlink()
    assert "No such file" in launch(layout.root, check=False)

    damaged = run_client(layout.root, "--json", "verify")
    assert damaged.returncode == 6, damaged.stderr
    report = json.loads(damaged.stdout)
    assert report["missing"] == ["app.py"] and report["modified"] == ["lib/data.bin"]
    assert not report["intact"]

    repaired = run_client(layout.root, "verify", "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert "repaired (2)" in repaired.stdout
    assert data.read_bytes() == original
    assert launch(layout.root, check=False).startswith("app 1.0.0")
    assert run_client(layout.root, "verify").returncode == 0
    events = [record["event"] for record in map(json.loads, layout.history_file.open())]
    assert events[-3:] == ["verified", "repaired", "verified"]


def test_repair_downloads_the_archive_when_no_tar_is_cached(installed_app) -> None:
    server, layout = installed_app.server, installed_app.layout
    assert not layout.base_tar("demo", "1.0.0").exists()  # setup keeps no tar (issue 11)
    (layout.version_dir("1.0.0") / "app.py").write_text("print('tampered')\n")
    server.requests.clear()
    result = run_client(layout.root, "verify", "--repair")
    assert result.returncode == 0, result.stderr
    assert any(path.endswith("demo-1.0.0.tar.zst") for path in server.requests)  # the pack
    assert launch(layout.root, check=False).startswith("app 1.0.0")
    assert not list(layout.root.rglob("*.tar")) and not list(layout.targets_dir.iterdir())


def test_verify_without_the_server_is_a_clear_error_and_changes_nothing(installed_app) -> None:
    server, layout = installed_app.server, installed_app.layout
    app = layout.version_dir("1.0.0") / "app.py"
    app.write_text("print('tampered')\n")
    server.close()
    result = run_client(layout.root, "verify", "--repair")
    assert result.returncode == 1
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    assert app.read_text() == "print('tampered')\n"
    assert json.loads(layout.history_file.read_text().splitlines()[-1])["result"] == "failed"
