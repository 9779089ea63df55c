"""First start without a command line: an unpacked release sets up its install root and moves.

Real releases over real HTTPS; the unpacked archive is started as a user would (a real
subprocess) with its per-user data folder redirected into the test's folder (XDG_DATA_HOME).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from client.firstrun import Start, install_from_bundle
from client.layout import Layout
from tests.support.install import run_client, server_entry
from tests.support.publisher import Publisher, release_bundle, set_config

ROOT = Path(__file__).resolve().parent.parent
APP = """\
import json, pathlib, sys
from client.firstrun import first_run

shortcut = "Demo Bot" if "--shortcut" in sys.argv else None
result = first_run("demo", portable="--portable" in sys.argv, desktop_name=shortcut)
here = pathlib.Path(__file__).resolve().parent
version = json.loads((here / ".update" / "release.json").read_text())["version"]
print("running", version, "from", here, result.start.value, *sys.argv[1:], flush=True)
"""


class Unpacked:
    """Releases of an app that calls first_run, served over HTTPS, and a user's machine."""

    def __init__(self, tmp: Path, https_server, ca_file: Path) -> None:  # type: ignore[no-untyped-def]
        self.publisher = Publisher(tmp / "publisher")
        self.server = https_server(self.publisher.repo)
        settings = {"servers": [server_entry(self.server.url)], "ca_bundle": str(ca_file)}
        set_config(self.publisher.repo, client_settings=settings)
        self.home = tmp / "home"
        self.data = self.home / "share"
        self.bundle = tmp / "bundle"

    def release(self, version: str, marker: str = "") -> Path:
        self.bundle.mkdir(exist_ok=True)
        (self.bundle / "app.py").write_text(APP + f"# {marker or version}\n")
        release_bundle(self.publisher.repo, self.publisher.keys, self.bundle, "--version", version)
        return self.publisher.archive(version)

    def unpack(self, version: str, where: Path) -> Path:
        """What a user does with the archive they downloaded."""
        where.mkdir(parents=True)
        with tarfile.open(self.publisher.archive(version)) as archive:
            archive.extractall(where, filter="data")
        return where

    def start(self, folder: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
        env = {**os.environ, "XDG_DATA_HOME": str(self.data), "PYTHONPATH": str(ROOT)}
        return subprocess.run(
            [sys.executable, str(folder / "app.py"), *args],
            capture_output=True, text=True, timeout=120, env=env, cwd=folder, **kwargs,
        )  # fmt: skip


@pytest.fixture
def user(tmp_path: Path, https_server, test_ca) -> Unpacked:  # type: ignore[no-untyped-def]
    return Unpacked(tmp_path, https_server, test_ca.ca_file)


def test_an_unpacked_archive_sets_itself_up_and_restarts_from_there(user: Unpacked) -> None:
    user.release("1.0.0")
    unpacked = user.unpack("1.0.0", user.home / "Downloads" / "demo-1.0.0")
    first = user.start(unpacked, "--shortcut")
    root = user.data / "demo"
    assert first.returncode == 0, first.stderr
    # the process that printed is the installed one, with the same arguments
    assert first.stdout.strip() == (
        f"running 1.0.0 from {root / 'versions' / '1.0.0'} installed --shortcut"
    )
    desktop = (user.data / "applications" / "demo.desktop").read_text()
    assert "Name=Demo Bot\n" in desktop and f'Exec="{root / "demo"}" %U' in desktop
    layout = Layout(root)
    assert layout.current_version() == "1.0.0"
    assert (layout.metadata_dir / "root.json").read_bytes() == (
        unpacked / ".update" / "root.json"
    ).read_bytes()
    settings = json.loads(layout.config_file.read_text())
    assert settings["servers"] == [server_entry(user.server.url)]

    # the user changes a setting and keeps data in the install root; an update keeps both
    run_client(root, "config", "set", "check_interval_hours", "12").check_returncode()
    (root / "user-data").mkdir()
    (root / "user-data" / "orders.db").write_text("open orders")
    user.release("1.1.0")
    assert run_client(root, "update").returncode == 0
    # starting the old unpacked copy again runs the installed (updated) application
    again = user.start(unpacked)
    assert again.stdout.strip() == f"running 1.1.0 from {root / 'versions' / '1.1.0'} installed"
    launched = subprocess.run([str(root / "demo")], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert launched.stdout.strip() == again.stdout.strip()  # the shortcut follows the update
    assert json.loads(layout.config_file.read_text())["check_interval_hours"] == 12
    assert (root / "user-data" / "orders.db").read_text() == "open orders"


def test_a_portable_copy_sets_up_beside_itself(user: Unpacked) -> None:
    user.release("1.0.0")
    stick = user.home / "usb-stick"
    unpacked = user.unpack("1.0.0", stick / "demo")
    started = user.start(unpacked, "--portable")
    assert started.returncode == 0, started.stderr
    root = stick / "demo-data"
    assert started.stdout.split()[:4] == ["running", "1.0.0", "from", str(root / "versions/1.0.0")]
    assert not (user.data / "demo").exists()


def test_when_setting_up_fails_the_unpacked_copy_keeps_running(user: Unpacked) -> None:
    user.release("1.0.0")
    unpacked = user.unpack("1.0.0", user.home / "Downloads" / "demo")
    user.data.write_text("")  # the data folder cannot be made (a file is in the way)
    started = user.start(unpacked)
    assert started.returncode == 0 and "Traceback" not in started.stderr, started.stderr
    assert started.stdout.strip() == f"running 1.0.0 from {unpacked} unpacked"
    assert f"could not set up {user.data / 'demo'}" in started.stderr


def test_an_installer_sets_up_through_the_library_and_refuses_a_second_time(
    user: Unpacked, tmp_path: Path
) -> None:
    archive = user.release("1.0.0")
    root = tmp_path / "Program Files" / "demo"
    release = install_from_bundle(archive, root, {"update_channel": "beta"})
    assert release["version"] == "1.0.0" and Layout(root).current_version() == "1.0.0"
    assert json.loads((root / "updater_config.json").read_text())["update_channel"] == "beta"
    from client.errors import UpdateError

    with pytest.raises(UpdateError, match="is already set up"):
        install_from_bundle(archive, root)


def test_running_from_an_install_root_is_left_alone(user: Unpacked, tmp_path: Path) -> None:
    user.release("1.0.0")
    root = tmp_path / "root"
    install_from_bundle(user.publisher.archive("1.0.0"), root)
    started = user.start(root / "current")
    assert started.stdout.split()[-1] == Start.INSTALLED.value, started


def test_two_copies_started_at_once_set_up_one_install_root(user: Unpacked) -> None:
    user.release("1.0.0")
    unpacked = user.unpack("1.0.0", user.home / "Downloads" / "demo")
    env = {**os.environ, "XDG_DATA_HOME": str(user.data), "PYTHONPATH": str(ROOT)}
    both = [
        subprocess.Popen(
            [sys.executable, str(unpacked / "app.py")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in both]
    root = user.data / "demo"
    for out, err in outputs:
        assert out.strip() == f"running 1.0.0 from {root / 'versions' / '1.0.0'} installed", err
    from client import history

    setups = [r for r in history.read(root / "history.jsonl") if r["event"] == "setup"]
    assert len(setups) == 1
