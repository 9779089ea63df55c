"""The one error base of repo_tools: every failure repo-tools reports on purpose.

The command line turns a `RepoError` into one line on stderr and exits with its `exit_code`
(OSError, the disk or the network failing, is the only other error it expects), so an
expected failure never shows a traceback. Errors of the client package that repo_tools
passes on (a bad bundle, a name or version that breaks the format) are raised as a
`RepoError` where repo_tools calls into the client, with their message unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class RepoError(RuntimeError):
    """The repository cannot be used or changed as asked."""

    exit_code: int = 1  # what `repo-tools` exits with when this error stops a command


@contextmanager
def reported_as(error_type: type[RepoError], *causes: type[Exception]) -> Iterator[None]:
    """Raise any of `causes` (errors of the client package) as `error_type`, same message."""
    try:
        yield
    except causes as error:
        raise error_type(str(error)) from error
