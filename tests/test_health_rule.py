"""The health rule with real processes: an app that runs fine keeps its update without ever
calling confirm_healthy(); one that fails at start on K starts in a row is rolled back, and
the user is told (by `launch` on stderr and by `rollback_notice()`); `launch` runs the app as
a child, forwards SIGTERM/SIGINT and passes its exit status through. The pure decisions
(client.health) are at the end."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from client import Updater
from client.health import StartOutcome, decide, exit_outcome, finished, rollback_reason
from client.layout import Layout
from tests.support.health_app import plan_env, release_health_app, start_app
from tests.support.install import client_command, install_root, run_client
from tests.support.publisher import Publisher

HEALTHY_AFTER = 2  # seconds (healthy_after_seconds): short, so the tests are


@pytest.fixture
def updated(tmp_path, https_server, test_ca) -> Layout:
    """The health app 1.0.0 installed, then 1.1.0 installed over it (pending, never started)."""
    publisher = Publisher(tmp_path / "pub")
    release_health_app(publisher, "--version", "1.0.0")
    server = https_server(publisher.repo)
    layout = install_root(
        tmp_path / "install", publisher, "1.0.0", [server.url], test_ca.ca_file,
        healthy_after_seconds=HEALTHY_AFTER,
    )  # fmt: skip
    release_health_app(publisher, "--version", "1.1.0")
    assert Updater.from_config(install_root=layout.root).update() == "1.1.0"
    return layout


def launch(layout: Layout, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return run_client(layout.root, "launch", *args, env=env, timeout=60)


def events(layout: Layout, name: str) -> list[dict]:
    history = Updater.from_config(install_root=layout.root).history()
    return [r for r in history if r["event"] == name]


# -- an app that runs fine keeps its update ---------------------------------------------------


def test_under_launch_a_fine_app_that_never_confirms_keeps_the_update(updated) -> None:
    """Alive past healthy_after_seconds, then an error exit: still a good start (it ran);
    the exit code is passed through."""
    env = plan_env(**{"1_1_0": [f"sleep:{HEALTHY_AFTER + 0.5}", "exit:5"]})
    for _ in range(3):
        result = launch(updated, env, "--x")
        assert result.returncode == 5, result.stderr
        assert result.stdout.startswith("app 1.1.0 --x") and result.stderr == ""
        assert updated.current_version() == "1.1.0"
    assert updated.read_state().pending is None
    (confirmed,) = events(updated, "health_confirmed")
    assert confirmed["how"] == "alive" and confirmed["to_version"] == "1.1.0"


def test_embedded_a_fine_app_that_never_confirms_keeps_the_update(updated) -> None:
    """No `launch`: the thread started by start() confirms by itself after the time."""
    env = plan_env(**{"1_1_0": ["embed", f"sleep:{HEALTHY_AFTER + 1}", "exit:1"]})
    for _ in range(3):
        result = start_app(updated.root, env)
        assert result.returncode == 1 and result.stdout.startswith("app 1.1.0"), result.stderr
        assert updated.current_version() == "1.1.0"
    assert updated.read_state().pending is None
    assert [r["how"] for r in events(updated, "health_confirmed")] == ["alive"]


# -- a version that fails at start is rolled back, and the user told --------------------------


def test_a_version_crashing_at_start_is_rolled_back_by_launch_and_the_user_told(updated) -> None:
    env = plan_env(**{"1_1_0": ["crash"], "1_0_0": ["embed"]})
    first = launch(updated, env)  # default failed_starts_before_rollback: 2
    assert first.returncode == 3 and first.stdout.startswith("app 1.1.0")
    assert updated.current_version() == "1.1.0" and updated.read_state().pending["failed"] == 1
    second = launch(updated, env)  # the second failed start: rolled back, 1.0.0 started at once
    assert second.returncode == 0, second.stderr
    reason = f"version 1.1.0 stopped within {HEALTHY_AFTER} seconds on 2 starts in a row"
    told = f"demo 1.1.0 was rolled back to 1.0.0, which is running now: {reason}.\n"
    assert second.stderr == told
    # the previous version runs, and the notice waits for the app's GUI until acknowledged
    assert second.stdout.splitlines() == ["app 1.1.0", "app 1.0.0", "notice 1.1.0 1.0.0"]
    assert updated.current_version() == "1.0.0"
    updater = Updater.from_config(install_root=updated.root)
    notice = updater.rollback_notice()
    assert notice is not None and time.time() - notice.pop("time") < 60
    assert notice == {"failed_version": "1.1.0", "version": "1.0.0", "reason": reason}
    failures = events(updated, "start_failed")
    assert len(failures) == 2
    assert all(r["error"].startswith("version 1.1.0 exited with code 3 after") for r in failures)
    (rolled,) = events(updated, "rolled_back")
    assert rolled["automatic"] is True and rolled["reason"] == reason
    updater.acknowledge_rollback_notice()
    again = launch(updated, env)
    assert again.stdout.splitlines() == ["app 1.0.0"] and again.stderr == ""
    assert "1.1.0" in updated.read_state().skipped  # not offered again until a newer release


def test_an_embedded_app_crashing_at_start_is_rolled_back_by_start(updated) -> None:
    """No `launch`: each crash is found at the next start (still marked running, never good)."""
    env = plan_env(**{"1_1_0": ["embed", "crash"], "1_0_0": ["embed"]})
    for _ in range(2):
        assert start_app(updated.root, env).returncode == 3
        assert updated.current_version() == "1.1.0"
    third = start_app(updated.root, env)  # start() rolls back; this process still runs 1.1.0
    assert third.stdout.splitlines() == ["app 1.1.0", "notice 1.1.0 1.0.0"]
    assert updated.current_version() == "1.0.0"
    fourth = start_app(updated.root, env)
    assert fourth.returncode == 0 and fourth.stdout.splitlines() == [
        "app 1.0.0",
        "notice 1.1.0 1.0.0",
    ]
    assert len(events(updated, "start_failed")) == 2


def test_one_crash_then_a_good_start_does_not_roll_back(updated) -> None:
    env_crash = plan_env(**{"1_1_0": ["crash"]})
    assert launch(updated, env_crash).returncode == 3
    assert launch(updated, plan_env()).returncode == 0  # a clean exit: a good start
    assert updated.read_state().pending is None
    for _ in range(3):  # kept: later crashes are not the update's first starts
        assert launch(updated, env_crash).returncode == 3
    assert updated.current_version() == "1.1.0"
    assert Updater.from_config(install_root=updated.root).rollback_notice() is None


def test_death_by_a_signal_is_a_failed_start_and_passed_through(updated) -> None:
    env = plan_env(**{"1_1_0": ["kill:SIGSEGV"]})
    result = launch(updated, env)
    assert result.returncode == -signal.SIGSEGV, result.stderr
    (failed,) = events(updated, "start_failed")
    assert "was killed by SIGSEGV" in failed["error"]
    Updater.from_config(install_root=updated.root).set_setting("failed_starts_before_rollback", 1)
    result = launch(updated, env)  # 1 failed start is enough now
    assert result.stdout.startswith("app 1.0.0") and "rolled back to 1.0.0" in result.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_launch_forwards_a_stop_signal_and_the_stop_is_not_a_failed_start(updated, signum) -> None:
    env = plan_env(**{"1_1_0": ["wait-term:7"]})
    command = client_command("--install-root", str(updated.root), "launch")
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        lines = lines_of(process)
        assert lines.get(timeout=30) == "app 1.1.0\n"
        waiting, app_pid = lines.get(timeout=30).split()
        assert waiting == "waiting" and int(app_pid) != process.pid  # a child, not an exec
        process.send_signal(signum)
        try:
            assert lines.get(timeout=10) == f"got {signal.Signals(signum).name}\n"
            assert process.wait(30) == 7  # the child's exit code, passed through
        except (AssertionError, queue.Empty):
            process.kill()  # not forwarded: leave neither launch nor the app behind
            os.kill(int(app_pid), signal.SIGKILL)
            raise
    pending = updated.read_state().pending
    assert pending["failed"] == 0 and pending["open"] is None  # stopped by the user
    assert events(updated, "start_failed") == []


def lines_of(process: subprocess.Popen) -> queue.Queue[str]:
    """The lines a process prints, read on a thread (a test waits for each with a timeout)."""
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout or ():
            found.put(line)

    threading.Thread(target=read, daemon=True).start()
    return found


def test_an_open_start_whose_process_still_runs_is_not_a_failed_start(updated) -> None:
    """A second instance starting while the first one still runs (not yet good)."""
    Updater.from_config(install_root=updated.root).set_setting("healthy_after_seconds", 60)
    env = plan_env(**{"1_1_0": ["embed", "sleep:60"]})
    command = [sys.executable, str(updated.root / "current" / "app.py")]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None and first.stdout.readline() == "app 1.1.0\n"
        deadline = time.monotonic() + 30
        while (updated.read_state().pending or {}).get("open", {}).get("pid") != first.pid:
            assert time.monotonic() < deadline, updated.read_state().pending
            time.sleep(0.05)
        second = start_app(updated.root, plan_env(**{"1_1_0": ["embed"]}))
        assert second.returncode == 0
        assert updated.read_state().pending["failed"] == 0  # the first one still runs
    finally:
        first.kill()
        first.wait()
    assert updated.current_version() == "1.1.0"


# -- state written by an older client ---------------------------------------------------------


def test_an_older_clients_state_still_works(updated) -> None:
    """`pending` without the new fields, and fields this client does not know, in state.json."""
    data = json.loads(updated.state_file.read_text())
    assert data["pending"] == {"version": "1.1.0", "previous": "1.0.0", "starts": 0}
    data["pending"]["starts"] = 1  # the old rule's trial start, never confirmed
    data["pending"]["from_the_future"] = True
    data["some_new_field"] = {"x": 1}
    updated.state_file.write_text(json.dumps(data))
    result = launch(updated, plan_env(**{"1_1_0": ["crash"]}))  # the second failed start
    assert result.stdout.splitlines() == ["app 1.1.0", "app 1.0.0"], result.stderr
    assert result.returncode == 0 and "rolled back to 1.0.0" in result.stderr


# -- the pure rule (client.health) ------------------------------------------------------------


def test_the_decision_on_plain_data() -> None:
    gone, running = (lambda pid: False), (lambda pid: True)
    pending = {"version": "2.0", "previous": "1.0", "starts": 0}
    assert decide(None, "2.0", "2.0", 2, gone) == "ok"
    assert decide(pending, "2.0", "2.0", 2, gone) == "trial"
    assert decide(pending, "2.0", "1.0", 2, gone) == "ok"  # an old copy starting: not counted
    assert decide(pending, "1.0", "1.0", 2, gone) == "clear"
    one = {**pending, "starts": 1, "failed": 0, "open": {"pid": 9, "time": 0.0}}
    assert decide(one, "2.0", "2.0", 2, gone) == "trial"
    assert decide(one, "2.0", "2.0", 1, gone) == "rollback"
    assert decide(one, "2.0", "2.0", 1, running) == "trial"
    judged = {**one, "failed": 2, "open": None}  # two failures `launch` saw
    assert decide(judged, "2.0", "2.0", 2, running) == "rollback"
    assert decide(judged, "2.0", "2.0", 3, running) == "trial"


def test_judging_a_start() -> None:
    one = {"version": "2.0", "previous": "1.0", "starts": 1, "failed": 1, "open": {"pid": 9}}
    assert finished(one, (9,), StartOutcome.GOOD) == (None, True)
    assert finished(one, (9,), StartOutcome.FAILED)[0] == {**one, "failed": 2, "open": None}
    assert finished(one, (9,), StartOutcome.STOPPED)[0] == {**one, "open": None}
    assert finished(one, (8,), StartOutcome.FAILED) == (one, False)  # not our start
    assert exit_outcome(0, 0.1, 30, False) == "good"
    assert exit_outcome(1, 31, 30, False) == "good"
    assert exit_outcome(1, 5, 30, False) == "failed"
    assert exit_outcome(-15, 5, 30, True) == "stopped"
    assert rollback_reason("1.3.0", 2, 30) == (
        "version 1.3.0 stopped within 30 seconds on 2 starts in a row"
    )
    assert rollback_reason("1.3.0", 1, 1) == "version 1.3.0 stopped within 1 second of starting"
