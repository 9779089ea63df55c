"""What `update-client` shows and hears in a terminal while it works: download progress bars
(sizes, speed and time left in the words of `client.words`, the same as the GUI's) and Ctrl-C,
which cancels a download cleanly (`Updater.cancel()`) instead of killing it.

Only the command line imports this (tqdm loads when a bar is first needed); it never changes
what an operation does, only how it is shown and stopped.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import click


def progress_bars(as_json: bool, updater: Any) -> None:
    """tqdm bars on stderr for downloads, only in an interactive terminal; sizes, speed and
    time left in the words of `client.words` (the GUI's words)."""
    if as_json or not sys.stderr.isatty():
        return
    from tqdm import tqdm

    from client.words import duration_text, rate_text, size_text

    class Bar(tqdm):  # type: ignore[misc,type-arg]
        @property
        def format_dict(self) -> dict[str, Any]:
            d = super().format_dict
            n, total, rate = d["n"], d["total"] or 0, d["rate"]
            words = f"{size_text(n)} of {size_text(total)}"
            if rate:
                words += f", {rate_text(rate)}, {duration_text((total - n) / rate)} left"
            return {**d, "words": words}

    bars: dict[str, Any] = {}

    def on_event(event: Any) -> None:
        if event.kind != "download_progress":
            return
        name, done, total = event.data["name"], event.data["done"], event.data["total"]
        bar = bars.get(name)
        if bar is None:
            layout = "{desc}: {percentage:3.0f}%|{bar}| {words}"
            bar = bars[name] = Bar(total=total, desc=name, leave=True, bar_format=layout)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    updater.on_event(on_event)


@contextlib.contextmanager
def ctrl_c_cancels(updater: Any) -> Iterator[None]:
    """The first Ctrl-C cancels a download at its next step (kept for the next run to resume,
    exit 7); a second one interrupts at once. Only where signals can be handled."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        click.echo("\ncancelling the download at its next step (Ctrl-C again: at once)", err=True)
        updater.cancel()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
