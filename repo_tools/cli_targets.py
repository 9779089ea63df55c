"""`repo-tools targets ...`: releases signed by offline targets holders.

Registered on the main group by repo_tools.cli; each command calls one function of
repo_tools.offline_targets (or, air-gapped, repo_tools.signing_request) and formats its result.
"""

from __future__ import annotations

from pathlib import Path

import click

from repo_tools.cli_base import PUBLISH_OPTION, Context, config_of, publish_configured_after, run
from repo_tools.cli_keys import YES_OPTION, confirmer, sign_request_file


@click.group()
def targets() -> None:
    """Sign and publish a release held for offline targets holders."""


@targets.command("status")
@click.pass_obj
def targets_status(obj: Context) -> None:
    """What the held release changes, who signed it, against the threshold."""
    from repo_tools.offline_targets import review

    shown = run(lambda: review(obj.repo))
    click.echo(shown.text() + ("; ready to publish" if shown.complete else ""))


@targets.command("sign")
@click.option(
    "--key",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="A targets private key file, or a token's .signer.json.",
)
@click.option(
    "--request",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Sign this signing request (from `targets export`) where there is no repository.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), help="Signature file to write (with --request)."
)
@YES_OPTION
@click.pass_obj
def targets_sign(
    obj: Context, key: Path, request: Path | None, out: Path | None, yes: bool
) -> None:
    """Show what the release changes, then add one targets holder's signature."""
    if request is not None:
        written = run(lambda: sign_request_file(request, key, out, confirmer(yes)))
        click.echo(f"signature written to {written}: bring it back for `targets collect`")
        return
    from repo_tools.offline_targets import sign_pending

    shown = run(lambda: sign_pending(obj.repo, key, confirmer(yes)))
    click.echo(f"signed; {shown.describe()}")


@targets.command("export")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Request to write.")
@click.pass_obj
def targets_export(obj: Context, out: Path) -> None:
    """Write a signing request for targets holders who sign away from the repository."""
    from repo_tools.offline_targets import export_request

    shown = run(lambda: export_request(obj.repo, out))
    click.echo(shown.text())
    click.echo(f"signing request written to {out}")


@targets.command("collect")
@click.argument("signatures", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.pass_obj
def targets_collect(obj: Context, signatures: tuple[Path, ...]) -> None:
    """Add signature files from `targets sign --request` (each checked)."""
    from repo_tools.offline_targets import collect

    shown = run(lambda: collect(obj.repo, list(signatures)))
    click.echo(f"added {len(signatures)} signature file(s); {shown.describe()}")


@targets.command("publish")
@PUBLISH_OPTION
@click.pass_obj
def targets_publish(obj: Context, publish: bool) -> None:
    """Check the holders' signatures, sign snapshot and timestamp, publish the release."""
    from repo_tools.offline_targets import publish as do_publish

    config = config_of(obj)
    done = run(lambda: do_publish(obj.repo, obj.keys, config))
    if not done.version:  # a renewal
        click.echo(f"published targets version {done.targets_version} (renewed)")
    else:
        click.echo(f"released {done.version} (targets version {done.targets_version})", err=True)
        click.echo(done.version)
    if publish:
        publish_configured_after(obj, f"released {done.version}", config)


@targets.command("abort")
@click.pass_obj
def targets_abort(obj: Context) -> None:
    """Drop the held release (nothing was published)."""
    from repo_tools.offline_targets import abort

    run(lambda: abort(obj.repo))
    click.echo("held release dropped")


@targets.command("renew")
@click.pass_obj
def targets_renew(obj: Context) -> None:
    """Hold the published targets with a new expiry for its holders to re-sign."""
    from repo_tools.offline_targets import renew

    held = run(lambda: renew(obj.repo))
    click.echo(
        f"targets held in {held.folder} with a new expiry: the holders sign it, then "
        "`repo-tools targets publish`"
    )
