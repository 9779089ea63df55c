"""What every `repo-tools` command shares: its context, running one library call, failing,
and publishing to `publish_to` at the end of a change.

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
    from repo_tools.publish import PublishResult

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


PUBLISH_OPTION = click.option(
    "--publish/--no-publish",
    default=True,
    show_default=True,
    help="Publish to publish_to of repo-tools.json afterwards, when it is set.",
)


def publish_configured_after(obj: Context, done: str, config: PublisherConfig) -> None:
    """Publish to `publish_to` when it is set (the end of `release`, `refresh`, `yank`,
    `rollout`); a failure keeps what was done locally and says what to run."""
    from repo_tools.publish import publish_configured

    try:
        result = publish_configured(obj.repo, config)
    except (RepoError, OSError) as error:
        fail(
            f"{done} locally, but publishing to {config.publish_to} failed: {error}. Clients "
            "keep the previous state until it succeeds: fix that and run `repo-tools publish`"
        )
    if result is not None:
        report_published(result)


def report_published(result: PublishResult, err: bool = True) -> None:
    click.echo(
        f"published {len(result.copied)} changed file(s) to {result.destination}"
        + (f", deleted {len(result.deleted)}" if result.deleted else ""),
        err=err,
    )
