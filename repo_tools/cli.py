"""`repo-tools`: the publisher's command line. Exit 0 only on success.

Every command has the same shape: parse the options, call one library function (one module
per command) that returns a dataclass, format it; failures are turned into one line and an
exit code by repo_tools.cli_base.run. Library modules are imported inside the commands, so
`--help` stays fast. The key and root commands are in repo_tools.cli_keys, `release` in
repo_tools.cli_release.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from repo_tools.cli_adopt import adopt_tufup
from repo_tools.cli_base import (
    PUBLISH_OPTION,
    Context,
    config_of,
    fail,
    publish_configured_after,
    report_published,
    run,
)
from repo_tools.cli_keys import ceremony, encrypt_key, keygen, rotate_key, use_signer
from repo_tools.cli_release import release
from repo_tools.cli_targets import targets

if TYPE_CHECKING:
    from repo_tools.init import InitResult


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--repo",
    type=click.Path(path_type=Path),
    default=Path("repository"),
    show_default=True,
    help="Repository folder (metadata/ and targets/ are published).",
)
@click.option(
    "--keys",
    type=click.Path(path_type=Path),
    default=Path("keys"),
    show_default=True,
    help="Keys folder (online/ and offline/ private keys).",
)
@click.pass_context
def main(ctx: click.Context, repo: Path, keys: Path) -> None:
    """Publish signed releases of an application into a TUF repository."""
    ctx.obj = Context(repo, keys)


for command in (
    keygen,
    encrypt_key,
    use_signer,
    ceremony,
    rotate_key,
    release,
    targets,
    adopt_tufup,
):
    main.add_command(command)


@main.command()
@click.option("--app-name", required=True, help="Application name used in target file names.")
@click.option("--root-keys", default=1, show_default=True, help="Number of root keys (holders).")
@click.option(
    "--root-threshold",
    default=1,
    show_default=True,
    help="Root signatures required for a new root version.",
)
@click.option(
    "--targets-keys",
    type=click.IntRange(1, 20),
    help="Keep the targets key offline: this many targets keys (offline/targets-N.pem), for "
    "holders who sign each release (`repo-tools targets ...`). Default: one online key.",
)
@click.option(
    "--targets-threshold",
    type=int,
    default=1,
    show_default=True,
    help="With --targets-keys: signatures each release needs.",
)
@click.option("--expires", default="", help="Expiry days per role, e.g. root=365,timestamp=7.")
@click.option("--bundle", default="", help="Default bundle folder for `release`.")
@click.option(
    "--force",
    is_flag=True,
    help="Start over on a repository no client can trust yet (no release, every role at "
    "version 1). The old keys are moved to KEYS/retired/<time>/.",
)
@click.option(
    "--force-new-trust-root-breaking-every-installed-client",
    "new_trust_root",
    is_flag=True,
    help="Replace a repository IN USE with new keys. Every installed client trusts the old "
    "root keys and will refuse every later update as 'signature verification failed ... "
    "possibly an attack', forever, until each user reinstalls by hand. To change keys use "
    "rotate-key or a ceremony instead. The old keys are moved to KEYS/retired/<time>/.",
)
@click.pass_obj
def init(
    obj: Context,
    app_name: str,
    root_keys: int,
    root_threshold: int,
    targets_keys: int | None,
    targets_threshold: int,
    expires: str,
    bundle: str,
    force: bool,
    new_trust_root: bool,
) -> None:
    """Create keys, the first root and empty targets, snapshot and timestamp."""
    from repo_tools.config import PublisherConfig, parse_expiry_option
    from repo_tools.init import CLIENTS_AFTER_NEW_TRUST_ROOT, init_repository

    def action() -> InitResult:
        config = PublisherConfig(app_name=app_name, bundle=bundle)
        config.expiry_days.update(parse_expiry_option(expires))
        offline = None if targets_keys is None else (targets_keys, targets_threshold)
        return init_repository(
            obj.repo, obj.keys, config, root_keys, root_threshold, force, new_trust_root, offline
        )

    result = run(action)
    if result.retired is not None:
        click.echo(f"the replaced keys and metadata are kept in {result.retired}", err=True)
    if result.replaced_in_use:
        click.secho(
            f"warning: replaced a repository in use ({'; '.join(result.replaced_in_use)}): "
            f"{CLIENTS_AFTER_NEW_TRUST_ROOT}",
            fg="yellow",
            bold=True,
            err=True,
        )
    click.echo(f"initialised repository {obj.repo} for {app_name}; keys in {obj.keys}")


@main.command()
@click.option(
    "--within",
    default=0,
    show_default=True,
    help="Also fail if any role expires within this many days.",
)
@click.pass_obj
def verify(obj: Context, within: int) -> None:
    """Check the repository as a new client would (root chain, roles, every target)."""
    from repo_tools.verify import verify_repository

    report = run(lambda: verify_repository(obj.repo, within))
    for problem in report.problems:
        click.secho(f"problem: {problem}", fg="red", err=True)
    if not report.ok:
        sys.exit(1)
    click.echo(
        f"ok: root version {report.root_versions}, {report.targets_checked} target(s) verified"
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(obj: Context, as_json: bool) -> None:
    """Latest version per channel, roles with versions, expiry and signatures, sizes."""
    from repo_tools.status import format_status, repository_status

    result = run(lambda: repository_status(obj.repo))
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else format_status(result))


@main.command()
@click.option(
    "--force", is_flag=True, help="Re-sign every role now, root included (needs the root keys)."
)
@PUBLISH_OPTION
@click.pass_obj
def refresh(obj: Context, force: bool, publish: bool) -> None:
    """Re-sign roles that are near expiry or out of date (for cron/CI; idempotent)."""
    from repo_tools.refresh import refresh as do_refresh

    config = config_of(obj)
    result = run(lambda: do_refresh(obj.repo, obj.keys, force, config))
    click.echo("re-signed: " + ", ".join(result.resigned) if result.resigned else "nothing due")
    if publish:
        publish_configured_after(obj, "re-signed" if result.resigned else "nothing was due", config)
    if result.blocked:
        fail("; ".join(result.blocked.values()))


@main.command()
@click.option("--keep", type=int, required=True, help="Number of newest releases to keep.")
@click.pass_obj
def prune(obj: Context, keep: int) -> None:
    """Remove old releases; the newest of every channel always stays."""
    from repo_tools.prune import prune as do_prune

    removed = run(lambda: do_prune(obj.repo, obj.keys, keep)).removed
    click.echo(f"removed {len(removed)} target(s)" + "".join(f"\n  {n}" for n in removed))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--tls", is_flag=True, help="Serve HTTPS with a development CA kept in --tls-dir.")
@click.option(
    "--tls-dir",
    type=click.Path(path_type=Path),
    default=Path(".serve-tls"),
    show_default=True,
    help="Where the development CA (dev-ca.pem, dev-ca.key) is kept with --tls.",
)
@click.pass_obj
def serve(obj: Context, host: str, port: int, tls: bool, tls_dir: Path) -> None:
    """Development server for metadata/ and targets/ (production: any static host)."""
    from repo_tools.serve import open_server

    serving = run(lambda: open_server(obj.repo, host, port, tls_dir if tls else None))
    click.echo(f"serving {obj.repo} at {serving.url}", err=True)
    click.echo(f"  metadata_url: {serving.url}metadata", err=True)
    click.echo(f"  targets_url:  {serving.url}targets", err=True)
    if serving.ca_file:
        click.echo(f"  ca_bundle:    {serving.ca_file.resolve()}", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        serving.server.serve_forever()


@main.command()
@click.option(
    "--to",
    "destination",
    help="A folder the static host serves, or s3://BUCKET/PREFIX. "
    "[default: publish_to in repo-tools.json]",
)
@click.option(
    "--endpoint-url",
    default=None,
    help="S3-compatible store other than AWS. [default: publish_endpoint_url]",
)
@click.option("--delete", is_flag=True, help="Remove files no longer in the repository.")
@click.pass_obj
def publish(obj: Context, destination: str | None, endpoint_url: str | None, delete: bool) -> None:
    """Copy metadata/ and targets/ to a folder or bucket in upload order (timestamp last)."""
    from repo_tools.publish import publish_repository

    result = run(lambda: publish_repository(obj.repo, destination, endpoint_url, delete))
    report_published(result, err=False)


@main.command()
@click.argument("version")
@click.option("--reason", help="Why it is withdrawn; users see it. Required unless --undo.")
@click.option("--undo", is_flag=True, help="Offer the release again.")
@PUBLISH_OPTION
@click.pass_obj
def yank(obj: Context, version: str, reason: str | None, undo: bool, publish: bool) -> None:
    """Withdraw a release: offered to no one, and installations on it move off it."""
    from repo_tools.rollout import set_yanked

    if undo == (reason is not None):
        fail("give either --reason TEXT (withdraw) or --undo (offer it again)")
    config = config_of(obj)
    change = run(lambda: set_yanked(obj.repo, obj.keys, version, reason, config))
    if undo:
        click.echo(
            f"{version}: offered again" + ("" if change.previous else " (it was not withdrawn)")
        )
    else:
        click.echo(f"{version}: withdrawn ({reason})")
    if publish:
        publish_configured_after(obj, "withdrawn" if not undo else "restored", config)


@main.command()
@click.argument("version")
@click.argument("percent", type=click.IntRange(0, 100))
@PUBLISH_OPTION
@click.pass_obj
def rollout(obj: Context, version: str, percent: int, publish: bool) -> None:
    """Set a release's staged-rollout percentage (0 halts it, 100 is everyone)."""
    from repo_tools.rollout import set_rollout

    config = config_of(obj)
    change = run(lambda: set_rollout(obj.repo, obj.keys, version, percent, config))
    click.echo(f"{version}: rollout {change.previous}% -> {percent}%")
    if publish:
        publish_configured_after(obj, "rollout changed", config)
