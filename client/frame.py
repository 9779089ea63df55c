"""The frame every updater operation runs in: readiness, the lock, state, history, events.

`Core.operation(action)` is the one way an operation starts, so none can forget a step:
it checks the install root is ready, takes the lock (a file lock across processes and an RLock
across threads), reads state.json, and hands the body an `Operation`. The body records what
history should say and which events to send; the frame writes the history line and sends the
events after the lock is released (a callback may call back into the updater). Any failure
becomes an `UpdateError` with a clear message, a `failed` history line and an `error` event.

Standard library at import: tuf, requests and filelock load when an operation first runs.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from client.errors import BusyError, ErrorKind, UpdateError, describe
from client.events import Emitter, EventKind
from client.layout import Layout, State
from client.settings import Settings, SettingsError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from client.tuf_session import Session

    T = TypeVar("T")


def _history() -> Any:
    from client import history

    return history


class Operation:
    """What one operation's body reads (`state`) and leaves for the frame to report."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.started = time.monotonic()
        self.history: tuple[str, dict[str, Any]] | None = None
        self.events: list[tuple[EventKind, str, dict[str, Any]]] = []
        # what went wrong after the operation's point of no return (it still succeeded)
        self.warnings: list[str] = []

    def after_commit(self, what: str, step: Callable[[], T]) -> T | None:
        """Run a step that follows the point of no return (e.g. the switch of `current`): if it
        fails, the operation has still happened; the failure becomes a warning."""
        try:
            return step()
        except Exception as error:  # noqa: BLE001 - reported as a warning, never lost
            self.warnings.append(f"{what} failed: {describe(error).message}")
            return None

    def record(self, action: str, **fields: Any) -> None:
        """The history line this operation writes when it succeeds."""
        self.history = (action, fields)

    def emit(self, event_kind: EventKind, message: str, /, **data: Any) -> None:
        """An event to send when the operation has succeeded."""
        self.events.append((event_kind, message, data))


class Online:
    """The network side of one operation: what an `action` returned and what it cost."""

    def __init__(self, result: Any, transport: Any, mirror: str) -> None:
        self.result = result
        self.requests = transport.requests_made
        self.bytes = transport.bytes_received
        self.mirror = mirror


class Core:
    """What every operation shares: install root, settings, events, locks, running version."""

    def __init__(
        self,
        layout: Layout,
        settings: Settings,
        config_path: Path,
        settings_error: SettingsError | None,
        running_version: str | None,
    ) -> None:
        self.layout = layout
        self.settings = settings
        self.config_path = config_path
        self.settings_error = settings_error
        self.running_version = running_version
        self.events = Emitter(lambda: self.settings.notifications)
        self.lock_timeout = 5.0  # seconds a second process waits before reporting busy
        self._guard = threading.RLock()  # one operation at a time inside this process
        self._filelock: Any = None
        self._last_metadata: dict[str, bytes] = {}

    # -- the frame ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def operation(
        self, action: str, ready: bool = True, installed: bool = True, **failure: Any
    ) -> Iterator[Operation]:
        """Run an operation's body under the lock with the current state (see module doc).

        `ready=False` only requires an install root (rollback works with broken settings),
        `installed=False` not even that; `failure` adds fields to the history line written if
        the operation fails."""
        started = time.monotonic()
        try:
            if ready:
                self.require_ready()
            elif installed and not self.layout.is_set_up():
                self.raise_not_set_up()
            with self.exclusive():
                op = Operation(self.layout.read_state())
                yield op
        except Exception as error:
            raise self.fail(
                error, action, duration=time.monotonic() - started, **failure
            ) from error
        if op.history is not None:
            name, fields = op.history
            try:
                fields = {**fields, "warnings": op.warnings} if op.warnings else fields
                self.record(name, duration=time.monotonic() - op.started, **fields)
            except OSError as error:  # it happened: a full history disk must not say otherwise
                op.warnings.append(f"the update history could not be written: {error}")
        for kind, message, data in op.events:
            self.events.emit(
                kind, message, **{**data, "warnings": op.warnings} if op.warnings else data
            )

    def record(self, action: str, **fields: Any) -> None:
        """Append one history line (the channel is added unless given)."""
        fields.setdefault("channel", self.settings.update_channel)
        _history().append(self.layout.history_file, action, **fields)

    def fail(self, error: BaseException, action: str, **record: Any) -> UpdateError:
        """Turn any failure into an UpdateError, log it to history, send an error event."""
        problem = describe(
            error,
            last_metadata=self._last_metadata,
            root_file=self.layout.metadata_dir / "root.json",
        )
        # a download the user cancelled is no failure to worry about: history says so
        result = "cancelled" if problem.kind == ErrorKind.CANCELLED else "failed"
        with contextlib.suppress(OSError):
            self.record(action, result=result, error=problem.message, kind=problem.kind, **record)
        self.events.emit(
            EventKind.ERROR,
            problem.message,
            kind=problem.kind,
            action=action,
            detail=problem.detail,
        )
        return problem

    # -- readiness and locking -----------------------------------------------------------------

    def require_ready(self) -> None:
        if self.settings_error is not None:
            raise UpdateError(
                ErrorKind.CONFIG, f"updates disabled: invalid settings: {self.settings_error}"
            )
        if not self.layout.is_set_up():
            self.raise_not_set_up()

    def raise_not_set_up(self) -> None:
        problem = self.layout.setup_problem() or ""
        if problem.startswith("the application name"):  # set up once, but its name is lost
            raise UpdateError(ErrorKind.NOT_SET_UP, problem)
        raise UpdateError(
            ErrorKind.NOT_SET_UP,
            f"{self.layout.root} is not an install root: run `update-client setup "
            f"--install-root {self.layout.root} --from ARCHIVE_OR_FOLDER` first",
        )

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """One updater per install root (file lock across processes, RLock across threads)."""
        from filelock import FileLock, Timeout

        if self._filelock is None:
            self.layout.root.mkdir(parents=True, exist_ok=True)
            self._filelock = FileLock(str(self.layout.lock_file), thread_local=False)
        with self._guard:
            try:
                self._filelock.acquire(timeout=self.lock_timeout)
            except Timeout:
                raise BusyError(
                    f"another updater is working on {self.layout.root}: try again when it is done"
                ) from None
            try:
                yield
            finally:
                self._filelock.release()

    # -- the network -----------------------------------------------------------------------------

    def transport(self) -> Any:
        from client.transport import Transport

        s = self.settings
        transport = Transport(
            connect_timeout=s.connect_timeout_seconds,
            read_timeout=s.read_timeout_seconds,
            deadline_seconds=s.deadline_seconds,
            max_download_bytes=int(s.max_download_mb * (1 << 20)),
            ca_bundle=s.ca_bundle,
            allow_http_loopback=s.dev_allow_http_loopback,
            proxy=s.proxy,
        )
        self._last_metadata = transport.last_metadata
        return transport

    def online(self, action: Callable[[Session, Any], T], full_refresh: bool = True) -> Online:
        """`action(session, transport)` on the mirrors with a fresh transport, closed after."""
        from client.tuf_session import on_mirrors

        servers = self.settings.servers
        if not servers:
            raise UpdateError(
                ErrorKind.CONFIG,
                f"no update servers configured: set `servers` in {self.config_path} "
                '(e.g. [{"metadata_url": "https://.../metadata", "targets_url": "https://.../targets"}])',
            )
        transport = self.transport()
        try:
            result, mirror = on_mirrors(
                self.layout, servers, transport, lambda s: action(s, transport), full_refresh
            )
        finally:
            transport.close()
        return Online(result, transport, mirror)
