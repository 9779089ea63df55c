"""A stable way to start the application: the launcher and desktop entry survive every update
and rollback (real releases over real HTTPS, the launcher run as a real process)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from client.errors import UpdateError
from client.shortcuts import desktop_entry, write_launcher
from tests.support.install import install_root, run_client


def run(launcher: Path, *args: str) -> str:
    done = subprocess.run([str(launcher), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def odd_root(tmp_path: Path, installed_app, test_ca) -> Path:  # type: ignore[no-untyped-def]
    """The installed app again, in a folder whose name needs quoting everywhere."""
    root = tmp_path / 'my $HOME "apps" `x`'
    url = installed_app.server.url
    install_root(root, installed_app.publisher, "1.0.0", [url], test_ca.ca_file)
    return root


def test_the_launcher_follows_every_update_and_rollback(installed_app, odd_root: Path) -> None:
    from client.layout import Layout

    layout = Layout(odd_root)
    launcher = write_launcher(layout, "demo", "app.py")
    assert launcher == odd_root / "demo" and os.access(launcher, os.X_OK)
    before = launcher.read_bytes()
    assert run(launcher, "--ticker", "a b") == "app 1.0.0 --version 1.0.0 --ticker a b"
    installed_app.publisher.release("--version", "1.1.0")
    assert run_client(odd_root, "update").returncode == 0
    assert run(launcher).startswith("app 1.1.0")
    assert run_client(odd_root, "rollback").returncode == 0
    assert run(launcher).startswith("app 1.0.0")
    assert launcher.read_bytes() == before  # shortcuts pointing at it never change


def test_the_desktop_entry_is_valid_and_starts_the_launcher(odd_root: Path, tmp_path: Path) -> None:
    from client.layout import Layout

    layout = Layout(odd_root)
    launcher = write_launcher(layout, "demo", "app.py")
    entry = desktop_entry(
        layout, "demo", "Trading Bot", launcher, comment="Trades for you", icon="icon.png",
        applications_dir=tmp_path / "applications",
    )  # fmt: skip
    text = entry.read_text()
    assert "Name=Trading Bot\n" in text and "Terminal=false\n" in text
    assert f"Icon={odd_root / 'current' / 'icon.png'}\n" in text
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        if os.environ.get("CI"):
            pytest.fail("desktop-file-validate is missing: .ci/packages.d lists desktop-file-utils")
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    checked = subprocess.run([validator, str(entry)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr
    # the Exec line, unquoted as the desktop would, names the launcher exactly
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    quoted = exec_line[len("Exec=") : -len(" %U")]
    unquoted = quoted[1:-1].replace('\\"', '"').replace("\\`", "`").replace("\\$", "$")
    assert unquoted.replace("\\\\", "\\") == str(launcher)


@pytest.mark.parametrize("name", ["../evil", "a/b", "", ".", "x" * 65, "-rf"])
def test_names_that_could_escape_or_break_are_refused(installed_app, name: str) -> None:
    before = sorted(p.name for p in installed_app.root.parent.rglob("*"))
    with pytest.raises(UpdateError, match="cannot name a launcher"):
        write_launcher(installed_app.layout, name, "app.py")
    assert sorted(p.name for p in installed_app.root.parent.rglob("*")) == before


def test_a_desktop_entry_value_is_one_line(installed_app, tmp_path: Path) -> None:
    with pytest.raises(UpdateError, match="one line"):
        desktop_entry(installed_app.layout, "demo", "Bot\nExec=evil", tmp_path / "l",
                      applications_dir=tmp_path)  # fmt: skip
    assert not list(tmp_path.glob("*.desktop"))
