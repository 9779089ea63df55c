"""The transport's policy against a hostile mirror: no redirect is followed (it could leave
https or the mirror), and the deadline bounds a whole operation, not each request."""

from __future__ import annotations

import time

import pytest

from client import UpdateError, Updater
from tests.support.hostile_servers import answer_endless


def test_a_redirecting_mirror_is_not_followed(installed_app, https_server) -> None:
    elsewhere = https_server(installed_app.publisher.repo)  # valid content, another host:port

    def redirect(handler) -> bool:
        handler.send_response(302)
        handler.send_header("Location", f"{elsewhere.url}{handler.path}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return True

    installed_app.server.hook = redirect
    installed_app.publisher.release("--version", "1.1.0")
    with pytest.raises(UpdateError, match="302"):
        Updater.from_config(install_root=installed_app.root).check()
    assert elsewhere.requests == []
    assert installed_app.layout.current_version() == "1.0.0"


def test_the_deadline_bounds_the_whole_operation_not_each_request(installed_app) -> None:
    installed_app.publisher.release("--version", "1.1.0")
    updater = Updater.from_config(install_root=installed_app.root)
    updater.set_setting("deadline_seconds", 3)

    def slow(handler) -> bool:
        time.sleep(1.2)  # each request well under the deadline; five of them are not
        return False

    installed_app.server.hook = slow
    started = time.monotonic()
    with pytest.raises(UpdateError) as caught:
        updater.update()
    elapsed = time.monotonic() - started
    assert caught.value.kind == "slow", caught.value.message
    assert elapsed < 3 + 2.5, elapsed  # the deadline, plus room for a loaded machine
    assert installed_app.layout.current_version() == "1.0.0"


def test_endless_target_data_stops_at_its_signed_length_on_disk(installed_app) -> None:
    """Our own length check, not python-tuf's check after the stream ends, stops the write."""
    installed_app.publisher.release("--version", "1.1.0")
    updater = Updater.from_config(install_root=installed_app.root)
    updater.set_setting("deadline_seconds", 20)  # without the check only this would end it

    def endless(handler) -> bool:
        if not handler.path.endswith((".tar.zst", ".delta", ".manifest.zst")):
            return False
        return answer_endless(handler)

    installed_app.server.hook = endless
    with pytest.raises(UpdateError, match="endless data") as caught:
        updater.update()
    assert caught.value.kind == "too_large"
    signed = max(p.stat().st_size for p in (installed_app.publisher.repo / "targets").iterdir())
    for left in installed_app.layout.targets_dir.iterdir():
        assert left.stat().st_size <= signed + (256 << 10), left
    assert installed_app.layout.current_version() == "1.0.0"
