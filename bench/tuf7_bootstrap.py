"""A stopgap so our code runs on tuf 7 while client/ and repo_tools/ omit ``bootstrap=``.

tuf 7's ``tuf.ngclient.Updater`` takes a required keyword ``bootstrap`` (the trusted root's
bytes, or ``None`` for the cached ``root.json`` that tuf before 7 always used). Three places of
the project build an Updater without it and fail with ``TypeError`` on tuf 7:
``client/updater.py`` (every check, download and verify), ``client/conformance.py`` and
``repo_tools/verify.py`` (``repo-tools verify`` and the self-check of ``repo-tools release``).

:func:`install` replaces ``tuf.ngclient.Updater`` with a subclass that supplies
``bootstrap=None`` when a caller gave none: the cached ``root.json``, exactly the behaviour the
project's code was written for, at the same cost. A caller that passes ``bootstrap=`` is left
alone, so once the project passes it this module does nothing and can be removed. Each caller
that needed it is named once on stderr. ``python -m bench.tuf7_bootstrap MODULE ARGS...``
installs it and runs ``python -m MODULE ARGS...`` (for the ``repo-tools`` and
``update-client`` command lines).
"""

from __future__ import annotations

import runpy
import sys
from typing import Any

PREFIX = "  [tuf7-bootstrap] "
_reported: set[str] = set()


def _caller() -> str:
    frame = sys._getframe(2)  # the code that called Updater(...)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _report(line: str) -> None:
    if line not in _reported:
        _reported.add(line)
        print(line, file=sys.stderr, flush=True)


def relay(stderr: str) -> None:
    """Print this stopgap's notes from a child's stderr, each once per benchmark process."""
    for line in stderr.splitlines():
        if line.startswith(PREFIX):
            _report(line)


def install() -> None:
    """Make ``tuf.ngclient.Updater(...)`` without ``bootstrap=`` mean ``bootstrap=None``."""
    import tuf.ngclient

    original = tuf.ngclient.Updater
    if getattr(original, "_bench_bootstrap_default", False):
        return

    class Updater(original):  # type: ignore[misc, valid-type]
        _bench_bootstrap_default = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if "bootstrap" not in kwargs:
                _report(
                    f"{PREFIX}{_caller()} built tuf.ngclient.Updater without bootstrap=; "
                    "the benchmark supplied bootstrap=None (the cached root.json)"
                )
                kwargs["bootstrap"] = None
            super().__init__(*args, **kwargs)

    Updater.__name__ = Updater.__qualname__ = original.__name__
    Updater.__module__ = original.__module__
    tuf.ngclient.Updater = Updater  # type: ignore[misc]


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: python -m bench.tuf7_bootstrap MODULE [ARGS...]")
    install()
    module, *args = argv
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
