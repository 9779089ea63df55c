"""What the client reports is what happened: a failure after the switch of `current` (the
history file cannot be written, say) does not turn a done install into "failed, untouched"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from client import Updater

CLIENT = str(Path(sys.executable).parent / "update-client")


def test_a_history_write_failing_after_the_switch_is_a_warning_of_a_done_install(
    installed_app,
) -> None:
    installed_app.publisher.release("--version", "1.1.0")
    history = installed_app.layout.history_file
    history.unlink()
    history.mkdir()  # every append now fails with an OSError, as on a full or broken disk
    result = subprocess.run(
        [CLIENT, "--install-root", str(installed_app.root), "update"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "installed 1.1.0" in result.stdout
    assert "warning: the update history could not be written" in result.stderr
    assert "untouched" not in result.stderr
    assert installed_app.layout.current_version() == "1.1.0"


def test_the_installed_event_is_sent_when_only_the_history_failed(installed_app) -> None:
    installed_app.publisher.release("--version", "1.1.0")
    history = installed_app.layout.history_file
    history.unlink()
    history.mkdir()
    updater = Updater.from_config(install_root=installed_app.root)
    seen = []
    updater.on_event(seen.append)
    result = updater.update_result()
    assert result.version == "1.1.0" and result.warnings
    installed = [e for e in seen if e.kind == "installed"]
    assert installed and installed[0].data["warnings"] == result.warnings
    assert not [e for e in seen if e.kind == "error"]


def test_pin_and_skip_name_what_is_not_a_version(installed_app) -> None:
    from client import UpdateError, Updater

    updater = Updater.from_config(install_root=installed_app.root)
    for call, action in ((updater.pin, "pin"), (updater.skip_version, "skip")):
        with pytest.raises(UpdateError, match=f"cannot {action} 'latest': not a version") as info:
            call("latest")
        assert info.value.kind == "invalid_input"
    assert updater.pin("1.2") == "1.2"
    updater.skip_version("01.3")
    assert updater.status()["skipped_versions"] == ["1.3"]  # written canonical
