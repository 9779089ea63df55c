"""An application that stock tufup installed moves over to this client on its first start.

A release that embeds this client reaches users of the tufup-based application the usual way:
their stock tufup client installs it into its in-place folder. At the top of the new
version's main, `take_over_tufup(app, tufup_metadata_dir=..., install_root=...)` does what
`first_run` does for an unpacked bundle (set up the install root from the running bundle,
trusting the bundle's signed root.json, then restart from there) and carries over what tufup's
client knew:

- trusted metadata: tufup's ``timestamp.json``, ``snapshot.json`` and ``targets.json`` (files
  its client verified) seed this client's cache/metadata. They are floors, not trust: the
  client verifies them again against its trusted root and refuses anything older on the
  server (rollback protection carries over); ones it cannot verify it fetches anew. Root is
  never taken from there: the bundle's root is what setup trusts, the chain walks forward.
- user data: nothing is moved or deleted. The install root is usually the folder the tufup
  application kept its data in (its per-user data folder); setup adds versions/, current,
  state.json and cache/ beside what is there. tufup's in-place folder is left as it is (the
  old copy starts the installed one, as `first_run` does for a copy started again).

Same rules as client.firstrun: cheap when already running from an install root, never raises
into the application, one setup at a time.
"""

from __future__ import annotations

import os
from pathlib import Path

from client.firstrun import FirstRun, Start, first_run

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# what tufup's client keeps in its metadata folder, besides root.json
CARRIED = ("timestamp.json", "snapshot.json", "targets.json")
MAX_CARRIED_BYTES = 64 * 1024 * 1024  # a targets.json bigger than this is fetched anew


def carry_trusted_metadata(tufup_metadata_dir: Path, metadata_dir: Path) -> list[str]:
    """Copy tufup's verified timestamp, snapshot and targets into this client's metadata
    folder where it has none yet; the names copied. Links and oversized files are skipped."""
    from client.files import atomic_write_bytes

    carried = []
    for name in CARRIED:
        source = tufup_metadata_dir / name
        target = metadata_dir / name
        if target.exists() or source.is_symlink() or not source.is_file():
            continue
        if source.stat().st_size > MAX_CARRIED_BYTES:
            continue
        atomic_write_bytes(target, source.read_bytes())
        carried.append(name)
    return carried


def take_over_tufup(
    app: str,
    *,
    tufup_metadata_dir: str | os.PathLike[str] | None = None,
    install_root: str | os.PathLike[str] | None = None,
    restart: bool = True,
    settings: dict[str, Any] | None = None,
    portable: bool = False,
) -> FirstRun:
    """At the top of main of the first release that embeds this client: move an application
    installed by stock tufup into an install root, keeping tufup's trusted metadata as floors.
    Returns like `first_run` (with `restart`, only when it did not move)."""
    outcome = first_run(
        app, portable=portable, install_root=install_root, restart=False, settings=settings
    )
    if outcome.start != Start.SET_UP or outcome.install_root is None:
        return _restarted(outcome, restart) if outcome.start == Start.MOVED else outcome
    if tufup_metadata_dir is not None:
        from client.layout import Layout

        layout = Layout(outcome.install_root)
        try:
            carried = carry_trusted_metadata(Path(tufup_metadata_dir), layout.metadata_dir)
            from client import history

            history.append(layout.history_file, "took_over", source="tufup", carried=carried)
        except OSError as error:  # the install works without them: the floors are lost only
            import logging

            logging.getLogger(__name__).warning("tufup's metadata not carried over: %s", error)
    return _restarted(outcome, restart)


def _restarted(outcome: FirstRun, restart: bool) -> FirstRun:
    if not restart or outcome.install_root is None:
        return outcome
    from client.firstrun import _restart_from

    problem = _restart_from(outcome.install_root)
    return FirstRun(outcome.start, outcome.install_root, problem)
