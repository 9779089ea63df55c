"""`repo-tools` commands for keys and root: `keygen`, `ceremony ...`, `rotate-key`.

Registered on the main group by repo_tools.cli; each one calls one function of
repo_tools.ceremony or repo_tools.rotate and formats its result.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from repo_tools.cli_base import Context, run
from repo_tools.roles import ONLINE_ROLES

ONLINE_ROLE_NAMES = [role.value for role in ONLINE_ROLES]


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Private key file to create (public part: OUT.pub.json).",
)
@click.pass_obj
def keygen(obj: Context, out: Path) -> None:
    """Create a root key for a key holder (offline); share only the .pub.json file."""
    from repo_tools.ceremony import keygen as do_keygen

    key = run(lambda: do_keygen(out, obj.repo))
    click.echo(f"private key {key.private} (keep it offline); public key {key.public}")


@click.group()
def ceremony() -> None:
    """Offline root signing: rotate keys, change root keys or threshold."""


@ceremony.command("begin")
@click.option(
    "--rotate",
    multiple=True,
    type=click.Choice(ONLINE_ROLE_NAMES),
    help="Give this online role a new key (repeatable).",
)
@click.option(
    "--add-root-key",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Public key file (.pub.json from keygen) of a new root key holder.",
)
@click.option("--remove-root-key", multiple=True, help="Key id (or unique prefix) to remove.")
@click.option("--root-threshold", type=int, help="New number of root signatures required.")
@click.pass_obj
def ceremony_begin(
    obj: Context,
    rotate: tuple[str, ...],
    add_root_key: tuple[Path, ...],
    remove_root_key: tuple[str, ...],
    root_threshold: int | None,
) -> None:
    """Draft the next root version with the requested changes."""
    from repo_tools.ceremony import begin

    changes = (list(rotate), list(add_root_key), list(remove_root_key), root_threshold)
    draft = run(lambda: begin(obj.repo, obj.keys, *changes))
    click.echo(
        f"draft root version {draft.version} in {draft.path}; "
        "each root key holder now runs `repo-tools ceremony sign --key FILE`"
    )


@ceremony.command("sign")
@click.option(
    "--key",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="A root private key file (current or new root key).",
)
@click.pass_obj
def ceremony_sign(obj: Context, key: Path) -> None:
    """Add one root key holder's signature to the draft."""
    from repo_tools.ceremony import sign_draft

    signed = run(lambda: sign_draft(obj.repo, key))
    click.echo(f"signed with {signed.keyids[0][:12]}; {signed.progress.describe()}")


@ceremony.command("status")
@click.pass_obj
def ceremony_status(obj: Context) -> None:
    """Signatures collected so far against the thresholds."""
    from repo_tools.ceremony import status as ceremony_progress

    progress = run(lambda: ceremony_progress(obj.repo))
    click.echo(progress.describe() + ("; ready to finish" if progress.complete else ""))


@ceremony.command("finish")
@click.pass_obj
def ceremony_finish(obj: Context) -> None:
    """Publish the signed root; put rotated keys in place and re-sign their roles."""
    from repo_tools.ceremony import finish

    finished = run(lambda: finish(obj.repo, obj.keys))
    click.echo(f"published root version {finished.version}")


@ceremony.command("abort")
@click.pass_obj
def ceremony_abort(obj: Context) -> None:
    """Drop the draft and any new online keys it created."""
    from repo_tools.ceremony import abort

    run(lambda: abort(obj.repo, obj.keys))
    click.echo("ceremony aborted")


@click.command("rotate-key")
@click.argument("role", type=click.Choice(ONLINE_ROLE_NAMES))
@click.pass_obj
def rotate_key(obj: Context, role: str) -> None:
    """Replace an online role's key; finishes at once if enough root keys are at hand."""
    from repo_tools.rotate import rotate_key as do_rotate

    rotation = run(lambda: do_rotate(obj.repo, obj.keys, role))
    if not rotation.finished:
        click.echo(
            f"{rotation.progress.describe()}: collect the missing signatures with "
            "`repo-tools ceremony sign --key FILE`, then `repo-tools ceremony finish`"
        )
        sys.exit(1)
    click.echo(f"rotated the {role} key; published root version {rotation.root_version}")
