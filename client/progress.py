"""What an application's update UI should show, derived from updater events.

A pure reducer: `view = reduce(view, event)`. A GUI keeps one `UpdateView`, feeds it every
event (on its own UI thread), and renders `title`, `detail`, `progress` and `actions`; it
shows `notification` as a toast when set. No toolkit here, so every rule is tested without a
screen, and Tk, Qt or a web view render the same states (see examples/gui_app.py).
"""

from __future__ import annotations

from typing import Any

from client.words import size_text as _size  # sizes in MB, as everywhere


class UpdateView:
    """Immutable snapshot of the update UI."""

    __slots__ = (
        "state",
        "title",
        "detail",
        "progress",
        "actions",
        "notification",
        "version",
        "expected_bytes",
        "received",
    )

    def __init__(
        self,
        state: str = "idle",
        title: str = "",
        detail: str = "",
        progress: float | None = None,
        actions: tuple[str, ...] = (),
        notification: str | None = None,
        version: str | None = None,
        expected_bytes: int = 0,
        received: dict[str, int] | None = None,
    ) -> None:
        self.state = state
        self.title = title
        self.detail = detail
        self.progress = progress  # 0.0-1.0 while downloading, else None
        self.actions = actions
        self.notification = notification  # a one-off message worth a toast, or None
        self.version = version
        self.expected_bytes = expected_bytes
        self.received = dict(received or {})  # bytes so far per target (a chain has several)

    def but(self, **changes: Any) -> UpdateView:
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        values["notification"] = changes.get("notification")  # a toast is shown once
        return UpdateView(**values)

    def __repr__(self) -> str:
        return f"UpdateView({self.state!r}, {self.title!r}, progress={self.progress})"


def reduce(
    view: UpdateView, kind: str, message: str, data: dict[str, Any], notify: bool = True
) -> UpdateView:
    """The view after one event (kind, message, data as carried by `client.Event`)."""
    toast = message if notify else None
    if kind == "update_available":
        size = _size(int(data.get("download_bytes", 0)))
        method = {"patch": "patch", "kept": "already on this computer"}.get(
            str(data.get("method")), "full download"
        )
        title = f"Version {data.get('version')} is available"
        detail = f"{data.get('notes') or 'No release notes.'} ({size}, {method})"
        if data.get("withdrawn"):
            title = f"Version {data.get('from_version')} was withdrawn by the publisher"
            detail = f"{data['withdrawn']}. Move to version {data.get('version')} ({method})."
        return view.but(
            state="available",
            title=title,
            detail=detail,
            progress=None,
            actions=("download", "dismiss"),
            notification=toast,
            version=data.get("version"),
            expected_bytes=int(data.get("download_bytes", 0)),
            received={},
        )
    if kind == "download_progress":
        received = {**view.received, str(data.get("name")): int(data.get("done", 0))}
        expected = view.expected_bytes or int(data.get("total", 0)) or 1
        done = sum(received.values())
        return view.but(
            state="downloading",
            title=f"Downloading version {view.version or ''}".rstrip(),
            detail=f"{_size(done)} of {_size(expected)}",
            progress=min(done / expected, 1.0),
            actions=(),
            received=received,
        )
    if kind == "downloaded":
        kept = data.get("method") == "kept"
        return view.but(
            state="ready",
            title=f"Version {data.get('version')} is ready to install",
            detail="Already on this computer: switching back is instant."
            if kept
            else "Verified and waiting.",
            progress=None,
            actions=("install", "dismiss"),
            version=data.get("version"),
        )
    if kind == "installed":
        return view.but(
            state="installed",
            title=f"Version {data.get('version', view.version)} is installed",
            detail="Restart the application to use it.",
            progress=None,
            actions=("restart", "dismiss"),
            notification=toast,
        )
    if kind == "rolled_back":
        needs_restart = bool(data.get("restart_required", True))
        return view.but(
            state="rolled_back",
            title=f"Rolled back to version {data.get('version')}",
            detail=message,
            progress=None,
            actions=("restart", "dismiss") if needs_restart else ("dismiss",),
            notification=toast,
        )
    if kind == "error":
        return view.but(
            state="error",
            title="The update did not complete",
            detail=message,
            progress=None,
            actions=("retry", "dismiss"),
            notification=toast,
        )
    if kind == "no_update" and view.state in ("idle", "checking", "up_to_date", "error"):
        if data.get("withdrawn"):  # nowhere to move to: say so, every time
            return view.but(
                state="up_to_date",
                title="This version was withdrawn by the publisher",
                detail=message,
                actions=("dismiss",),
                notification=toast,
            )
        return view.but(state="up_to_date", title="Up to date", detail=message, actions=())
    return view.but()  # checked, health_confirmed, ...: nothing new to show


def dismiss(view: UpdateView) -> UpdateView:
    """The user closed the banner: back to idle (the updater keeps its own state)."""
    return UpdateView()
