"""A frozen application updates itself: the demo, built with PyInstaller onedir, over HTTPS.

Publisher: the demo frozen (the client embedded by its own PyInstaller hook, no hidden imports
by hand), `repo-tools release` with `bundle` and `client_settings.entry_point` from
repo-tools.json, 1.0.0 then 1.1.0 (a patch). User: `update-client setup` from the 1.0.0
archive, then only the frozen executables: 1.0.0 updates itself with the client inside it,
restarts into 1.1.0, whose different embedded client shows it is the one running, and
1.1.0 rolls back to 1.0.0. Both builds are made once per test run (`frozen_builds`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.frozen import (
    EXECUTABLE,
    MARKER,
    FrozenBuilds,
    build_demo,
    build_pair,
    bundled_modules,
    folder_size,
    user_environment,
)
from tests.support.install import run_client, server_entry
from tests.support.publisher import Publisher, set_config, tools_ok

# two PyInstaller builds (~1 min, once per run) and two releases of a 100 MB bundle (~1.5 min)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TOOLKITS = ("tkinter", "_tkinter", "PySide6", "PyQt6", "PyQt5", "desktop_notifier", "click")


@pytest.fixture(scope="session")
def frozen_builds(tmp_path_factory: pytest.TempPathFactory) -> FrozenBuilds:
    """1.0.0 with this checkout's client; 1.1.0 with one that prints MARKER, and a changed
    strategy (window 30 instead of 20)."""
    return build_pair(
        tmp_path_factory.mktemp("frozen"),
        lambda folder, client: build_demo(folder, 20 if client is None else 30, client),
    )


def run_frozen(executable: Path, *args: str) -> str:
    """Start a frozen executable as a user would (nothing of this test's Python in its way:
    no PYTHONPATH, started from its own folder); its stdout and stderr, which must exit 0."""
    result = subprocess.run(
        [str(executable), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=user_environment(),
        cwd=executable.parent,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_the_bundle_embeds_the_client_without_forcing_a_toolkit(frozen_builds) -> None:
    build = frozen_builds.first
    modules = bundled_modules(build)
    # imported inside functions only: collected by the hook or followed from what it collects
    for needed in (
        "client.operations",
        "client.tuf_session",
        "client.transport",
        "client.codec",
        "client.ui.controller",
        "client.words",
        "tuf.ngclient",
        "securesystemslib.signer",
        "requests",
        "filelock",
        "hdiffpatch",
        "packaging.version",
    ):
        assert needed in modules, needed
    assert (build.bundle / "_internal" / "certifi" / "cacert.pem").is_file()
    forced = {m for m in modules if m.split(".")[0] in TOOLKITS}
    assert not forced, sorted(forced)
    assert not list(build.bundle.rglob("_tkinter*")), "tkinter's binary module in the bundle"
    assert not {"client.cli", "client.conformance", "client._pyinstaller"} & modules
    print(f"\nbundle: {folder_size(build.bundle) / 1e6:.1f} MB, {len(modules)} modules")


def test_the_frozen_app_updates_itself_restarts_and_rolls_back(
    tmp_path: Path, frozen_builds: FrozenBuilds, https_server, test_ca
) -> None:
    publisher = Publisher(tmp_path / "publisher", app="demo-app")
    server = https_server(publisher.repo)
    set_config(
        publisher.repo,
        bundle=str(frozen_builds.first.bundle),
        client_settings={
            "entry_point": EXECUTABLE,
            "servers": [server_entry(server.url)],
            "ca_bundle": str(test_ca.ca_file),
        },
    )
    started = time.perf_counter()
    tools_ok(publisher.repo, publisher.keys, "release", "--version", "1.0.0")
    first_release = time.perf_counter() - started

    root = tmp_path / "install"
    setup = run_client(
        None, "setup", "--install-root", str(root), "--from", str(publisher.archive("1.0.0"))
    )
    assert setup.returncode == 0, setup.stderr
    executable = root / "current" / EXECUTABLE
    out = run_frozen(executable)
    assert "demo-app 1.0.0 running from" in out and "(frozen)" in out, out
    assert "client embedded in this bundle" in out, out
    assert MARKER not in out

    set_config(publisher.repo, bundle=str(frozen_builds.second.bundle))
    started = time.perf_counter()
    tools_ok(publisher.repo, publisher.keys, "release", "--bump", "minor", "--notes", "faster")
    second_release = time.perf_counter() - started

    # 1.0.0 updates itself with its own client, then restarts into 1.1.0 (same arguments)
    started = time.perf_counter()
    out = run_frozen(executable, "--self-update")
    update_seconds = time.perf_counter() - started
    before, restarted = out.split("restarting into 1.1.0", 1)
    assert "demo-app 1.0.0" in before and "client embedded in this bundle" in before, out
    assert MARKER not in before, out  # the update ran in 1.0.0's client ...
    assert "[downloaded] demo-app 1.1.0 downloaded and verified" in before, out
    assert MARKER in restarted, out  # ... and 1.1.0 runs its own, different one
    assert "demo-app 1.1.0 running from" in restarted and "versions/1.1.0" in restarted, out
    assert "client embedded in this bundle" in restarted, out
    history = json.loads(run_client(root, "--json", "history").stdout)
    (downloaded,) = [r for r in history if r["event"] == "downloaded"]
    assert downloaded["method"] == "patch", downloaded

    out = run_frozen(executable)  # started again: 1.1.0, healthy (it confirmed)
    assert "demo-app 1.1.0" in out and MARKER in out, out

    # rollback from inside the frozen 1.1.0, with its embedded client
    out = run_frozen(executable, "--rollback")
    assert MARKER in out and "rolled back to 1.0.0" in out, out
    out = run_frozen(executable)
    assert "demo-app 1.0.0" in out and MARKER not in out, out
    status = json.loads(run_client(root, "--json", "status").stdout)
    assert status["current_version"] == "1.0.0" and "1.1.0" in status["kept_versions"]
    archive_mb = publisher.archive("1.1.0").stat().st_size / 1e6
    print(
        f"\nreleases: 1.0.0 {first_release:.1f} s, 1.1.0 {second_release:.1f} s "
        f"(archive {archive_mb:.1f} MB); "
        f"patch {downloaded.get('bytes', '?')} bytes; frozen self-update + restart "
        f"{update_seconds:.1f} s; {sys.platform}"
    )
