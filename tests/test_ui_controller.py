"""The update UI controller against a real updater, a real HTTPS server and real releases.

No toolkit: the test thread plays the GUI thread (it drains what `schedule` queued), so what
is checked is what a Tk or Qt adapter would render. Only `restart()` is recorded instead of
replacing the pytest process; the GUI tests (tests/test_gui_tk.py, tests/test_gui_qt.py)
restart for real in their child processes.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable

from client import Updater
from client.ui.controller import Action, MenuItem, Phase, UpdateController, View
from client.ui.prefs import Prefs


class RecordingUpdater(Updater):
    """The real updater, except that restart() is recorded (it would replace pytest)."""

    restarts: list[str | None]

    def restart(self) -> None:
        self.restarts.append(self.layout.current_version())


class Gui:
    """The GUI thread of these tests: `schedule` queues, `pump` runs what was queued."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        self.thread = threading.get_ident()
        self.seen: list[View] = []

    def schedule(self, job: Callable[[], None]) -> None:
        self.jobs.put(job)

    def pump(self, controller: UpdateController, until: Callable[[View], bool], what: str) -> View:
        deadline = time.monotonic() + 60
        while not until(controller.view):
            assert time.monotonic() < deadline, f"never reached {what}: {controller.view!r}"
            try:
                job = self.jobs.get(timeout=0.05)
            except queue.Empty:
                continue
            job()
        return controller.view


def open_ui(root, **settings) -> tuple[UpdateController, Gui, RecordingUpdater]:  # type: ignore[no-untyped-def]
    if settings:
        config = root / "updater_config.json"
        config.write_text(json.dumps({**json.loads(config.read_text()), **settings}))
    updater = RecordingUpdater.from_config(install_root=root)
    updater.restarts = []
    gui = Gui()
    controller = UpdateController(updater, gui.schedule)

    def on_gui_thread(view: View) -> None:
        assert threading.get_ident() == gui.thread, "a listener ran off the GUI thread"
        gui.seen.append(view)

    controller.subscribe(on_gui_thread)
    return controller, gui, updater


def test_check_download_install_and_restart_through_the_controller(installed_app) -> None:
    publisher, root = installed_app.publisher, installed_app.root
    publisher.release("--version", "1.1.0", "--notes", "dark mode")
    publisher.release("--version", "1.2.0", "--notes", "faster order book")
    controller, gui, updater = open_ui(root, auto_check=False)
    assert controller.view.menu >= {MenuItem.CHECK, MenuItem.HISTORY, MenuItem.SETTINGS}
    assert MenuItem.ROLLBACK not in controller.view.menu  # nothing kept to go back to yet

    controller.perform(MenuItem.CHECK)
    assert controller.view.phase == Phase.CHECKING and controller.view.visible
    view = gui.pump(controller, lambda v: v.phase == Phase.AVAILABLE, "an available update")
    assert view.headline == "Version 1.2.0 is available (you have 1.0.0)."
    assert view.notes == (("1.2.0", "faster order book"), ("1.1.0", "dark mode"))
    assert not view.notify  # the user asked: they are looking already

    controller.perform(Action.DOWNLOAD)
    view = gui.pump(controller, lambda v: v.phase == Phase.READY, "the download")
    assert any(v.phase == Phase.DOWNLOADING for v in gui.seen)
    assert view.headline == "Version 1.2.0 is ready to install."

    controller.perform(Action.INSTALL)
    gui.pump(controller, lambda v: bool(updater.restarts), "a restart")
    assert updater.restarts == ["1.2.0"]
    assert controller.view.phase == Phase.RESTART_PENDING
    assert MenuItem.ROLLBACK in controller.view.menu and controller.view.previous_version == "1.0.0"


def test_remind_me_later_is_remembered_across_starts(installed_app) -> None:
    installed_app.publisher.release("--version", "1.1.0")
    controller, gui, _ = open_ui(installed_app.root, auto_check=False)
    controller.perform(MenuItem.CHECK)
    gui.pump(controller, lambda v: v.phase == Phase.AVAILABLE, "an available update")
    controller.perform(Action.LATER)
    assert not controller.view.visible
    prefs = Prefs.load(installed_app.root)
    assert prefs.reminded_version(time.time()) == "1.1.0"
    assert prefs.reminded_version(time.time() + 2 * 86400) is None  # the next day it is back


def test_settings_are_validated_like_the_file_saved_atomically_and_applied(installed_app) -> None:
    controller, _, updater = open_ui(installed_app.root)
    config = installed_app.root / "updater_config.json"
    before = config.read_bytes()
    problem = controller.check_setting("check_interval_hours", "0")
    assert problem and problem.startswith("Hours between checks:"), problem
    assert controller.save_settings({"check_interval_hours": "0", "update_channel": "beta"}) == {
        "check_interval_hours": problem
    }
    assert config.read_bytes() == before  # nothing half-saved
    assert controller.save_settings({"check_interval_hours": "12", "update_channel": "beta"}) == {}
    saved = json.loads(config.read_text())
    assert saved["check_interval_hours"] == 12 and saved["update_channel"] == "beta"
    assert updater.settings.update_channel == "beta"  # applied at once
    fields = {f.key: f.value for f in controller.setting_fields()}
    assert fields["check_interval_hours"] == "12"


def test_history_window_rolls_back_to_a_kept_version(installed_app) -> None:
    installed_app.publisher.release("--version", "1.1.0")
    controller, gui, updater = open_ui(installed_app.root, auto_check=False)
    assert updater.update() == "1.1.0"
    rows = controller.history_rows()
    installed = [r for r in rows if r.event == "Installed"]
    assert installed[0].change == "1.0.0 -> 1.1.0" and not installed[0].can_roll_back
    updater.running_version = "1.1.0"  # as if restarted into it
    controller.roll_back_to("1.0.0")
    gui.pump(controller, lambda v: v.phase == Phase.ROLLED_BACK, "the rollback")
    gui.pump(controller, lambda v: bool(updater.restarts), "the restart into 1.0.0")
    assert updater.restarts == ["1.0.0"]
    assert controller.history_rows()[0].event == "Rolled back"


def test_a_failure_is_a_sentence_with_the_technical_detail_kept(installed_app) -> None:
    installed_app.server.close()
    controller, gui, _ = open_ui(installed_app.root, auto_check=False)
    controller.perform(MenuItem.CHECK)
    view = gui.pump(controller, lambda v: v.phase == Phase.ERROR, "an error")
    assert view.visible and view.headline == "Could not reach the update server."
    assert "127.0.0.1" in view.detail and view.actions == (Action.RETRY, Action.DISMISS)
    controller.perform(Action.DISMISS)
    assert not controller.view.visible and controller.view.phase == Phase.IDLE
