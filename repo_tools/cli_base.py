"""What every `repo-tools` command shares: its context, running one library call, failing.

A `RepoError` becomes one line on stderr and the process exits with the error's
`exit_code`; an OSError (the disk, the network) becomes one line and exit code 1. Nothing
else is caught, so an expected failure never shows a traceback and a bug still does.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click

from repo_tools.errors import RepoError

if TYPE_CHECKING:
    from repo_tools.config import PublisherConfig

T = TypeVar("T")
OS_ERROR_EXIT_CODE = 1
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


@dataclass(frozen=True)
class Context:
    repo: Path
    keys: Path


def fail(message: str, exit_code: int = 1) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(exit_code)


def os_error_message(error: OSError) -> str:
    """One line for a failure of the disk or the network (pure)."""
    if error.errno in _DISK_FULL:
        return (
            f"disk full or file-size limit reached while writing ({error}): free space "
            "and run the command again"
        )
    return f"{error.strerror or error}: {getattr(error, 'filename', '') or ''}"


def run(action: Callable[[], T]) -> T:
    """Turn expected failures into one clear line and their exit code (never a traceback)."""
    try:
        return action()
    except RepoError as error:
        fail(str(error), error.exit_code)
    except OSError as error:
        fail(os_error_message(error), OS_ERROR_EXIT_CODE)


def config_of(obj: Context) -> PublisherConfig:
    """repo-tools.json, read once per command and handed to the library call."""
    from repo_tools.config import load_config

    return run(lambda: load_config(obj.repo))
