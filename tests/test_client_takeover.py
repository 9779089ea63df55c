"""The client updating itself: every bundle embeds its own client, so client N+1 takes over an
install root client N wrote, and after a rollback client N reads what N+1 wrote.

The old client is the one this project shipped at OLD_CLIENT_COMMIT (taken from git history
with `git archive`); the new one is this checkout's. Each bundle's app.py puts its own folder
first on sys.path, so the client that runs is the bundle's (the app prints which one). Real
releases over real HTTPS; every step is a real process of the installed app.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.support.install import server_entry
from tests.support.publisher import Publisher, release_bundle, set_config

ROOT = Path(__file__).resolve().parent.parent
# the client as shipped at the end of an earlier session (tuf 7, state.json without a format)
OLD_CLIENT_COMMIT = "90d21d23322f9196f9ed3c58bf03766968065ea0"

APP = """\
import json, pathlib, sys
here = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(here))  # this bundle's own client, not whatever else is installed
import client
from client import Updater

version = json.loads((here / ".update" / "release.json").read_text())["version"]
marker = (here / "client_marker.txt").read_text().strip()
own = pathlib.Path(client.__file__).resolve().parent == here / "client"
updater = Updater.from_config(install_root=here.parent.parent)
updater.running_version = version
command = sys.argv[1] if len(sys.argv) > 1 else ""
if command == "update":
    print("result", updater.update())
elif command == "rollback":
    print("result", updater.rollback())
elif command == "check":
    info = updater.check()
    print("result", info.version if info else None)
elif command == "history":
    print("result", len(updater.history()))
elif command == "set":
    updater.set_setting(sys.argv[2], json.loads(sys.argv[3]))
    print("result", getattr(updater.settings, sys.argv[2]))
updater.confirm_healthy()
print("app", version, "client", marker, "own" if own else "NOT OWN")
"""


def old_client_files() -> bytes:
    """The `client/` package of OLD_CLIENT_COMMIT as a tar (from this repository's history)."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", OLD_CLIENT_COMMIT, "client"],
        capture_output=True, timeout=60,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(
            f"commit {OLD_CLIENT_COMMIT[:10]} is not in this clone's history: "
            f"{done.stderr.decode(errors='replace').strip()} (clone without --depth)"
        )
    return done.stdout


def write_bundle(bundle: Path, client: str) -> None:
    """The app with the `old` client (from git) or the `new` one (this checkout)."""
    shutil.rmtree(bundle, ignore_errors=True)
    bundle.mkdir(parents=True)
    (bundle / "app.py").write_text(APP)
    if client == "old":
        with tarfile.open(fileobj=io.BytesIO(old_client_files())) as archive:
            archive.extractall(bundle, filter="data")
    else:
        shutil.copytree(ROOT / "client", bundle / "client",
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (bundle / "client_marker.txt").write_text(client + "\n")


class Field:
    """One publisher, one user's install root, and the installed app run as a process."""

    def __init__(self, tmp: Path, https_server, ca_file: Path) -> None:  # type: ignore[no-untyped-def]
        self.publisher = Publisher(tmp / "publisher")
        server = https_server(self.publisher.repo)
        settings = {"servers": [server_entry(server.url)], "ca_bundle": str(ca_file)}
        set_config(self.publisher.repo, client_settings=settings)
        self.bundle, self.root = tmp / "bundle", tmp / "install"
        # no PYTHONPATH: the only client on the path is the bundle's own
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def release(self, version: str, client: str) -> None:
        write_bundle(self.bundle, client)
        release_bundle(self.publisher.repo, self.publisher.keys, self.bundle, "--version", version)

    def setup_with_old_client(self) -> None:
        """The first install, made by the old client's own `setup`."""
        archive = self.publisher.archive("1.0.0")
        unpacked = self.root.parent / "unpacked"
        with tarfile.open(archive) as tar:
            tar.extractall(unpacked, filter="data")
        code = (
            f"import sys; sys.path.insert(0, {str(unpacked)!r}); "
            "from client.cli import run; sys.exit(run(sys.argv[1:]))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, "setup", "--install-root", str(self.root),
             "--from", str(archive)],
            capture_output=True, text=True, timeout=120, env=self.env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    def state(self) -> dict:  # type: ignore[type-arg]
        return json.loads((self.root / "state.json").read_text())

    def run(self, *args: str) -> list[str]:
        """The current version's app; its output lines (it must exit 0 without a traceback)."""
        done = subprocess.run(
            [sys.executable, str(self.root / "current" / "app.py"), *args],
            capture_output=True, text=True, timeout=120, env=self.env,
        )  # fmt: skip
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return done.stdout.strip().splitlines()


@pytest.fixture
def field(tmp_path: Path, https_server, test_ca) -> Field:  # type: ignore[no-untyped-def]
    return Field(tmp_path, https_server, test_ca.ca_file)


def test_a_newer_client_takes_over_and_an_older_one_reads_it_back(field: Field) -> None:
    field.release("1.0.0", "old")
    field.setup_with_old_client()
    assert field.run("check") == ["result None", "app 1.0.0 client old own"]

    field.release("1.1.0", "new")
    assert field.run("update") == ["result 1.1.0", "app 1.0.0 client old own"]
    # the new client starts in what the old one wrote, checks and confirms
    assert field.run("check") == ["result None", "app 1.1.0 client new own"]
    assert field.run("history")[-1] == "app 1.1.0 client new own"
    assert field.state()["format"] == 2  # the new client says which format it wrote
    # a setting changed by the new client stays readable by the old one
    assert field.run("set", "check_interval_hours", "12")[0] == "result 12"

    # back to the old version (and client): it reads what the new client wrote
    assert field.run("rollback") == ["result 1.0.0", "app 1.1.0 client new own"]
    assert field.run("check") == ["result None", "app 1.0.0 client old own"]  # 1.1.0 skipped
    assert field.run("history")[-1] == "app 1.0.0 client old own"
    assert "format" not in field.state()  # the old client wrote last: format 1, read as such
    settings = json.loads((field.root / "updater_config.json").read_text())
    assert settings["check_interval_hours"] == 12 and "format" not in settings

    # and the old client still updates, into a newer new-client release
    field.release("1.2.0", "new")
    assert field.run("update") == ["result 1.2.0", "app 1.0.0 client old own"]
    assert field.run("check") == ["result None", "app 1.2.0 client new own"]
    state = field.state()
    assert state["app"] == "demo" and not state.get("pending") and state["format"] == 2
