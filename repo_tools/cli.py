"""`repo-tools`: the publisher's command line. Exit 0 only on success.

Every command has the same shape: parse the options, call one library function (one module
per command) that returns a dataclass, format it; failures are turned into one line and an
exit code by repo_tools.cli_base.run. Library modules are imported inside the commands, so
`--help` stays fast. The key and root commands are in repo_tools.cli_keys.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from client.formats import CHANNELS
from repo_tools.cli_base import Context, config_of, fail, run
from repo_tools.cli_keys import ceremony, keygen, rotate_key
from repo_tools.errors import RepoError
from repo_tools.versioning import BUMPS

if TYPE_CHECKING:
    from repo_tools.bundle_rules import BundleInspection
    from repo_tools.config import PublisherConfig
    from repo_tools.init import InitResult
    from repo_tools.publish import PublishResult
    from repo_tools.release import ReleasePlan, ReleaseRequest

PUBLISH_OPTION = click.option(
    "--publish/--no-publish",
    default=True,
    show_default=True,
    help="Publish to publish_to of repo-tools.json afterwards, when it is set.",
)


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


for command in (keygen, ceremony, rotate_key):
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
        return init_repository(
            obj.repo, obj.keys, config, root_keys, root_threshold, force, new_trust_root
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
@click.option("--bump", type=click.Choice(BUMPS), help="Which part of the version to raise.")
@click.option("--channel", type=click.Choice(CHANNELS), default="stable", show_default=True)
@click.option("--bundle", type=click.Path(path_type=Path), help="Application bundle folder.")
@click.option("--notes", default="", help="Release notes.")
@click.option("--notes-file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--required", is_flag=True, help="Clients install this release before newer ones.")
@click.option("--version", "explicit_version", help="Use this exact version instead of a bump.")
@click.option(
    "--rollout",
    type=click.IntRange(0, 100),
    default=100,
    show_default=True,
    help="Percent of installations offered this release (staged rollout).",
)
@click.option(
    "--demo-keys-ok",
    is_flag=True,
    help="If no repository exists, create one with demonstration keys.",
)
@PUBLISH_OPTION
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check the bundle and keys and print the version, archive and patches; change nothing.",
)
@click.pass_obj
def release(
    obj: Context,
    bump: str | None,
    channel: str,
    bundle: Path | None,
    notes: str,
    notes_file: Path | None,
    required: bool,
    explicit_version: str | None,
    rollout: int,
    demo_keys_ok: bool,
    publish: bool,
    dry_run: bool,
) -> None:
    """Build, sign, verify and publish a new release; prints the new version."""
    from repo_tools.release import ReleaseRequest, plan_release
    from repo_tools.release import release as do_release

    if notes and notes_file:
        fail("give either --notes or --notes-file, not both")
    if bump and explicit_version:
        fail("give either --bump or --version, not both")
    if dry_run:
        request = ReleaseRequest(bump, channel, bundle, "", required, explicit_version, rollout)
        _print_release_plan(run(lambda: plan_release(obj.repo, obj.keys, request)), request)
        return
    if demo_keys_ok:
        _ensure_demo_repository(obj)
    text = run(lambda: notes_file.read_text()) if notes_file else notes
    request = ReleaseRequest(bump, channel, bundle, text, required, explicit_version, rollout)
    config = config_of(obj)
    result = run(lambda: do_release(obj.repo, obj.keys, request, config))
    click.echo("\n".join(_bundle_lines(result.inspection, config.bundle_exclude)), err=True)
    click.echo(
        f"released {result.version}: {result.archive}"
        + (f" + {len(result.patches)} patch(es)" if result.patches else ""),
        err=True,
    )
    click.echo(str(result.version))
    if publish:
        _publish_configured(obj, f"released {result.version}", config)
    _tag_configured(config, str(result.version), channel)


def _ensure_demo_repository(obj: Context) -> None:
    from repo_tools.config import CONFIG_NAME
    from repo_tools.init import init_demo_repository

    if (obj.repo / CONFIG_NAME).exists():
        return
    click.secho(
        "\n!!! No repository yet: creating one with DEMONSTRATION KEYS in "
        f"{obj.keys}/ !!!\n!!! They are for trying things out only: for real releases run "
        "`repo-tools init` with keys you protect (see keys.example/README.md). !!!\n",
        fg="yellow",
        bold=True,
        err=True,
    )
    run(lambda: init_demo_repository(obj.repo, obj.keys))


def _print_release_plan(plan: ReleasePlan, request: ReleaseRequest) -> None:
    bases = ", ".join(str(base) for base in plan.patch_bases) or "none (first release)"
    source = plan.bundle if plan.bundle is not None else f"the output of {plan.build_command!r}"
    lines = [
        f"would release {plan.version} ({request.channel}) from {source}",
        f"  archive:      {plan.archive}",
        f"  patches from: {bases}",
        "  signs:        targets, snapshot, timestamp (keys found)",
        f"  rollout:      {request.rollout}%" + (", required" if request.required else ""),
        *_bundle_lines(plan.inspection, plan.exclude),
    ]
    if plan.publish_to:
        lines.append(f"  publishes to: {plan.publish_to}")
    if plan.tag:
        lines.append(f"  tags:         {plan.tag}")
    click.echo("\n".join(lines), err=True)
    click.echo(str(plan.version))


def _bundle_lines(inspection: BundleInspection | None, patterns: list[str]) -> list[str]:
    """What bundle_exclude left out and what the secret scan checked (release, dry run)."""
    from repo_tools.bundle_rules import summarise_excluded

    rules = ", ".join(patterns) or "none"
    if inspection is None:
        return [
            f"  excludes:     bundle_exclude ({rules}), applied to the built bundle",
            "  secret scan:  runs on the built bundle, before anything is signed",
        ]
    megabytes = inspection.bytes_scanned / 1e6
    return [
        f"  excludes:     {summarise_excluded(inspection.excluded)} (bundle_exclude: {rules})",
        f"  secret scan:  passed: no private key material in {inspection.files_scanned} "
        f"file(s), {megabytes:.1f} MB in {inspection.seconds:.2f} s; the keys and "
        "repository folders are not in the bundle",
    ]


def _tag_configured(config: PublisherConfig, version: str, channel: str) -> None:
    """Tag the working directory's HEAD when `git_tag` is set (the last step of a release)."""
    from repo_tools.git_tag import tag_configured

    try:
        name = tag_configured(config.git_tag, config.app_name, version, channel, Path.cwd())
    except RepoError as error:
        fail(f"released {version}, but tagging failed: {error}", error.exit_code)
    if name:
        click.echo(f"tagged {name}", err=True)


def _publish_configured(obj: Context, done: str, config: PublisherConfig) -> None:
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
        _report_published(result)


def _report_published(result: PublishResult, err: bool = True) -> None:
    click.echo(
        f"published {len(result.copied)} changed file(s) to {result.destination}"
        + (f", deleted {len(result.deleted)}" if result.deleted else ""),
        err=err,
    )


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
        _publish_configured(obj, "re-signed" if result.resigned else "nothing was due", config)
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
    _report_published(result, err=False)


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
        _publish_configured(obj, "withdrawn" if not undo else "restored", config)


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
        _publish_configured(obj, "rollout changed", config)
