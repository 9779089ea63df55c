"""`make demo-gui`: the story of `make demo`, but the installed trading bot opens in a window.

A publisher releases the windowed trading bot (examples/trading_bot.py) 1.0.0 into a demo
repository served over HTTPS on 127.0.0.1; the user installs it; the publisher releases 1.1.0
and 1.2.0 with release notes; then the installed 1.0.0 starts (`update-client launch`) for a
person to watch: a few seconds later the notice shows the new version with the notes of both
releases, and Update > Install and Restart brings the window back as 1.2.0. Close the window
to end the demo. Needs a display (DISPLAY); uses `.demo/` like `make demo`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo import (  # noqa: E402 - the headless demo's steps, reused
    BIN,
    BUILD,
    INSTALL,
    REPO,
    ROOT,
    WORK,
    repo_tools,
    serve,
    step,
    update_client,
)

NOTES = {
    "1.0.0": "First release of the trading bot.",
    "1.1.0": "Faster order book: quotes refresh every 50 ms instead of 200 ms.",
    "1.2.0": "New: trailing stop orders.\nFixed: the daily report missed the last trade.",
}


def build_bot(version: str) -> Path:
    """The publisher's build step: the windowed trading bot as the bundle's app.py."""
    shutil.rmtree(BUILD, ignore_errors=True)
    shutil.copytree(
        ROOT / "examples" / "demo_app", BUILD, ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "examples" / "trading_bot.py", BUILD / "app.py")
    (BUILD / "strategy.py").write_text(
        (BUILD / "strategy.py").read_text().replace("= 20", f"= {20 + int(version[2]) * 5}")
    )
    return BUILD


def release(version: str) -> None:
    repo_tools(
        "release", "--version", version, "--bundle", build_bot(version), "--notes", NOTES[version]
    )


def main() -> None:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        sys.exit("make demo-gui opens a window: run it on a desktop (DISPLAY is not set)")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir()

    step("Publisher: create a repository (demonstration keys) and release the trading bot 1.0.0")
    repo_tools("init", "--app-name", "trading-bot")
    release("1.0.0")

    step("Serve the repository over HTTPS on 127.0.0.1 (throwaway certificate authority)")
    url, ca_file = serve()
    print(f"  {url}/metadata/ and {url}/targets/, CA {ca_file.relative_to(ROOT)}")

    step("User: first install of 1.0.0 from its release archive")
    archive = next((REPO / "targets").glob("*.trading-bot-1.0.0.tar.gz"))
    update_client(
        "setup", "--install-root", INSTALL, "--from", archive,
        "--server", f"{url}/metadata", f"{url}/targets", "--ca-bundle", ca_file,
    )  # fmt: skip

    step("Publisher: release 1.1.0 and 1.2.0, each with release notes")
    release("1.1.0")
    release("1.2.0")

    step("User: start the installed 1.0.0 (close the window to end the demo)")
    print(
        "  In a few seconds the notice shows 1.2.0 with the notes of 1.1.0 and 1.2.0.\n"
        "  Install and Restart: the window comes back as 1.2.0. Then try Update > Roll Back,\n"
        "  Update History... and Update Settings...; Place order marks the bot busy.",
        flush=True,
    )
    print("$ update-client --install-root .demo/install launch", flush=True)
    subprocess.run([str(BIN / "update-client"), "--install-root", str(INSTALL), "launch"])

    step("Update history")
    update_client("history")


if __name__ == "__main__":
    main()
