"""`make demo`: a publisher releases, an installed application updates itself, rolls back.

Runs on local defaults in `.demo/` (recreated each run): demonstration keys, a repository
served over HTTPS on 127.0.0.1 with a throwaway certificate authority, and an install root.
Every step is a real command a publisher or a user would run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".demo"
BIN = Path(sys.executable).parent
REPO, KEYS, INSTALL, BUILD = WORK / "repository", WORK / "keys", WORK / "install", WORK / "build"


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def run(*command: str | Path, ok_codes: tuple[int, ...] = (0,)) -> str:
    shown = " ".join(str(c).replace(str(WORK), ".demo") for c in command)
    print(f"$ {shown}", flush=True)
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=ROOT)
    output = (result.stdout + result.stderr).strip()
    if output:
        print("  " + output.replace(str(WORK), ".demo").replace("\n", "\n  "), flush=True)
    if result.returncode not in ok_codes:
        sys.exit(f"demo failed: exit code {result.returncode}")
    return result.stdout


def repo_tools(*args: str | Path) -> str:
    return run(BIN / "repo-tools", "--repo", REPO, "--keys", KEYS, *args)


def update_client(*args: str | Path, ok_codes: tuple[int, ...] = (0,)) -> str:
    return run(BIN / "update-client", "--install-root", INSTALL, *args, ok_codes=ok_codes)


def build_app(window: int) -> Path:
    """The publisher's build step: the demo app with a changed strategy parameter."""
    shutil.rmtree(BUILD, ignore_errors=True)
    shutil.copytree(
        ROOT / "examples" / "demo_app", BUILD, ignore=shutil.ignore_patterns("__pycache__")
    )
    strategy = BUILD / "strategy.py"
    strategy.write_text(strategy.read_text().replace("= 20", f"= {window}"))
    return BUILD


def serve() -> tuple[str, Path]:
    from repo_tools.serve import make_server

    server, ca_file = make_server(REPO, "127.0.0.1", 0, WORK / "tls", quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    assert ca_file is not None
    return f"https://127.0.0.1:{server.server_address[1]}", ca_file


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()

    step("Publisher: create a repository (demonstration keys) and release 1.0.0")
    repo_tools("init", "--app-name", "demo-app")
    repo_tools(
        "release", "--version", "1.0.0", "--bundle", build_app(20), "--notes", "first release"
    )

    step("Serve the repository over HTTPS on 127.0.0.1 (throwaway certificate authority)")
    url, ca_file = serve()
    print(f"  {url}/metadata/ and {url}/targets/, CA {ca_file.relative_to(ROOT)}")

    step("User: first install of 1.0.0 from its release archive")
    archive = next((REPO / "targets").glob("*.demo-app-1.0.0.tar.gz"))
    update_client(
        "setup",
        "--install-root",
        INSTALL,
        "--from",
        archive,
        "--server",
        f"{url}/metadata",
        f"{url}/targets",
        "--ca-bundle",
        ca_file,
    )
    update_client("launch")

    step("Publisher: release 1.1.0 (one command; a patch from 1.0.0 is made)")
    repo_tools("release", "--bump", "minor", "--bundle", build_app(30), "--notes", "faster signals")
    repo_tools("verify")

    step("User: the application checks, downloads the patch, verifies and installs 1.1.0")
    update_client("check")
    update_client("update")
    update_client("launch")  # the new version starts and confirms it is healthy

    step("Publisher: release 1.2.0; the user updates again")
    repo_tools("release", "--bump", "minor", "--bundle", build_app(50), "--notes", "new model")
    update_client("update")
    update_client("launch")

    step("User: 1.2.0 misbehaves: roll back to 1.1.0 in one step, without network")
    update_client("rollback")
    update_client("launch")
    step("Automatic updates now skip 1.2.0 until a newer release appears")
    update_client("check", ok_codes=(0, 2))
    step("Publisher: release 1.3.0 with the fix; the running application updates itself")
    repo_tools("release", "--bump", "minor", "--bundle", build_app(40), "--notes", "model fixed")
    update_client("launch", "--self-update")

    step("Publisher: 1.3.0 turns out bad: withdraw it in one command")
    repo_tools("yank", "1.3.0", "--reason", "orders were sent twice")
    step("User: the next check moves off 1.3.0: an instant switch back to 1.1.0, no download")
    update_client("check")
    update_client("update")
    update_client("launch")
    step("Publisher: release 1.3.1 with the real fix; the user updates to it")
    repo_tools("release", "--bump", "patch", "--bundle", build_app(45), "--notes", "fills fixed")
    update_client("update")
    update_client("launch")

    step("Update history and status")
    update_client("history")
    status = json.loads(update_client("--json", "status"))
    print(f"\ncurrent version {status['current_version']}, kept {status['kept_versions']}")
    repo_tools("status")


if __name__ == "__main__":
    main()
