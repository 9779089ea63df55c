"""Secrets a person types for a key: the passphrase of an encrypted key file, a token's PIN.

Never from a command-line argument (other users see it in the process list, shells keep it in
their history). In order:
1. a file named by an environment variable (REPO_TOOLS_PASSPHRASE_FILE, REPO_TOOLS_PIN_FILE),
   its first line; made for automation (a CI secret mounted as a file);
2. the environment variable itself (REPO_TOOLS_PASSPHRASE, REPO_TOOLS_PIN);
3. a prompt on the terminal, when there is one (nothing is echoed).
Without any of them the caller gets a clear error naming the three ways.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path

from repo_tools.errors import RepoError


class SecretError(RepoError):
    """No passphrase or PIN could be had, or the one given is unusable."""


class Secret(StrEnum):
    PASSPHRASE = "passphrase"
    PIN = "pin"


ENV = {Secret.PASSPHRASE: "REPO_TOOLS_PASSPHRASE", Secret.PIN: "REPO_TOOLS_PIN"}


def _from_environment(kind: Secret) -> str | None:
    name = ENV[kind]
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            lines = Path(file_name).read_text().splitlines()
        except OSError as error:
            raise SecretError(
                f"cannot read the {kind} file {file_name} named by {name}_FILE: {error}"
            ) from error
        if not lines or not lines[0]:
            raise SecretError(f"the {kind} file {file_name} named by {name}_FILE is empty")
        return lines[0]
    value = os.environ.get(name)
    return value if value else None


def _can_prompt() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _no_way(kind: Secret, what: str) -> SecretError:
    name = ENV[kind]
    return SecretError(
        f"{what} needs a {kind}: type it in a terminal, or set {name}_FILE to a file holding "
        f"it (or {name}); it is never taken from the command line"
    )


def obtain(kind: Secret, what: str) -> str:
    """The secret for `what` (e.g. "private key keys/offline/root-1.pem")."""
    found = _from_environment(kind)
    if found is not None:
        return found
    if not _can_prompt():
        raise _no_way(kind, what)
    import click

    return str(click.prompt(f"{kind} for {what}", hide_input=True, err=True))


def new_passphrase(what: str) -> str:
    """A passphrase for a key being created: from the environment, or typed twice."""
    found = _from_environment(Secret.PASSPHRASE)
    if found is None:
        if not _can_prompt():
            raise _no_way(Secret.PASSPHRASE, what)
        import click

        found = str(
            click.prompt(
                f"new passphrase for {what}", hide_input=True, confirmation_prompt=True, err=True
            )
        )
    if len(found) < 8:
        raise SecretError(f"the passphrase for {what} is too short: use 8 characters or more")
    return found
