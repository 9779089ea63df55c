"""UI steps for tests of the frozen trading bot, which a test cannot import and drive itself.

When the environment variable TRADING_BOT_UI_STEPS names a JSON file, the trading bot
(examples/trading_bot.py) runs, once its window is up, the steps listed there under its own
version, and prints one line `ui-step {...}` (JSON) on stdout per step. Every step does what a
person's click does, through the same menu entry or button (`invoke()`), so the update runs
exactly as it does for a user; nothing else is reachable from here. Unset, as it is for users,
this module is not even imported. tests/test_frozen_gui.py uses it.

    {"1.0.0": [["menu", "CHECK"], ["wait", "AVAILABLE", 60], ["button", "DOWNLOAD"],
               ["wait", "READY", 120], ["button", "INSTALL"]],
     "1.1.0": [["report"], ["wait_file", "/tmp/shot-taken", 60], ["quit"]]}

The steps:
  ["menu", ITEM]                 choose the Update menu's entry (a client.ui MenuItem name)
  ["button", ACTION]             press the notice's button (an Action name); fails if not shown
  ["wait", PHASE, SECONDS]       until the notice shows that phase (a Phase name)
  ["confirm_next"]               accept the next confirmation dialog when it opens
  ["pause", SECONDS]             let the window run that long (e.g. to draw the notice)
  ["report"]                     print the window's title, footer, notice and place on screen
  ["wait_file", PATH, SECONDS]   until PATH exists (e.g. a test took its screenshot)
  ["quit"]                       close the window, as File > Quit does
A step that cannot be done, or a wait that times out, prints `ui-step {"failed": ...}`, closes
the window and makes the bot exit with status 3. Steps are run in order; a version with no
steps listed runs as usual.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client.ui.controller import Action, MenuItem, Phase

VARIABLE = "TRADING_BOT_UI_STEPS"
POLL_MS = 50
FAILED_EXIT = 3


def say(**fields: Any) -> None:
    print("ui-step " + json.dumps(fields), flush=True)


class Steps:
    """Runs the steps of one version inside the bot's Tk loop (polled with `after`)."""

    def __init__(self, bot: Any, steps: list[list[Any]]) -> None:
        self.bot, self.ui, self.root = bot, bot.ui, bot.root
        self.steps, self.index = steps, 0
        self.started = time.monotonic()
        self.failed = False

    @classmethod
    def from_environment(cls, bot: Any) -> Steps | None:
        path = os.environ.get(VARIABLE)
        if not path:
            return None
        plan = json.loads(Path(path).read_text())
        return cls(bot, [list(step) for step in plan.get(bot.version, [])])

    def start(self) -> None:
        say(version=self.bot.version, steps=len(self.steps), executable=sys.executable)
        self.root.after(POLL_MS, self.poll)

    @property
    def notice(self) -> Any:
        return self.ui.notices[0]

    def poll(self) -> None:
        if self.index >= len(self.steps):
            return
        step = self.steps[self.index]
        try:
            done = self.do(step[0], *step[1:])
        except Exception as error:  # a step that cannot be done ends the run, saying why
            self.fail(step, f"{type(error).__name__}: {error}")
            return
        if done:
            say(done=step, seconds=round(time.monotonic() - self.started, 2))
            self.index += 1
            self.started = time.monotonic()
        if self.index < len(self.steps) and not self.failed:
            self.root.after(POLL_MS, self.poll)

    def fail(self, step: list[Any], why: str) -> None:
        view = self.ui.controller.view
        say(failed=step, why=why, phase=view.phase.name, headline=view.headline)
        self.failed = True
        self.root.destroy()

    def waited(self, seconds: float) -> bool:
        if time.monotonic() - self.started > float(seconds):
            raise TimeoutError(f"not within {seconds} s")
        return False

    def do(self, name: str, *args: Any) -> bool:
        """One poll of a step; True when it is done."""
        if name == "menu":
            item = MenuItem[args[0]]
            menu = self.ui.menus[0]
            index = self.ui.menu_index(item)
            if str(menu.entrycget(index, "state")) != "normal":
                raise RuntimeError(f"the menu entry {menu.entrycget(index, 'label')!r} is off")
            menu.invoke(index)
            return True
        if name == "button":
            button = self.notice.button(Action[args[0]])
            if not (self.notice.body.winfo_ismapped() and button.winfo_ismapped()):
                raise RuntimeError(f"the notice shows no {button.cget('text')!r} button")
            button.invoke()
            return True
        if name == "wait":
            phase = Phase[args[0]]
            shown = self.ui.controller.view.phase == phase and self.notice.body.winfo_ismapped()
            return shown or self.waited(args[1])
        if name == "confirm_next":
            self.accept_next_dialog(time.monotonic() + 30)
            return True
        if name == "report":
            self.report()
            return True
        if name == "pause":
            return time.monotonic() - self.started >= float(args[0])
        if name == "wait_file":
            return Path(args[0]).exists() or self.waited(args[1])
        if name == "quit":
            self.root.destroy()
            return True
        raise ValueError(f"unknown step {name!r}")

    def accept_next_dialog(self, deadline: float) -> None:
        """Press the confirmation's OK button once it is on the screen (a person's click)."""
        dialog = self.ui.dialog
        if dialog is not None and dialog.winfo_viewable():
            say(confirm=str(dialog.ok.cget("text")))
            dialog.ok.invoke()
        elif time.monotonic() < deadline:
            self.root.after(POLL_MS, lambda: self.accept_next_dialog(deadline))
        else:
            self.fail(["confirm_next"], "no confirmation opened within 30 s")

    def report(self) -> None:
        root, notice = self.root, self.notice
        root.update_idletasks()
        menubar = root.winfo_y()  # Tk draws the menu bar above the window's client area
        say(
            version=self.bot.version,
            title=root.title(),
            footer=str(self.bot.footer.cget("text")),
            notice=bool(notice.body.winfo_ismapped()),
            headline=str(notice.headline.cget("text")),
            phase=self.ui.controller.view.phase.name,
            executable=sys.executable,
            box=[
                root.winfo_rootx(),
                root.winfo_rooty() - menubar,
                root.winfo_width(),
                root.winfo_height() + menubar,
            ],
        )


def run_from_environment(bot: Any) -> Callable[[], bool]:
    """Start the steps of TRADING_BOT_UI_STEPS, if any; returns whether a step failed."""
    steps = Steps.from_environment(bot)
    if steps is None:
        return lambda: False
    bot.root.after_idle(steps.start)
    return lambda: steps.failed
