"""`repo-tools`: the publisher's command line. Exit 0 only on success."""

from __future__ import annotations

import contextlib
import errno
import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from client.formats import CHANNELS
from repo_tools.config import ConfigError, PublisherConfig, load_config, parse_expiry_option
from repo_tools.errors import RepoError
from repo_tools.roles import ONLINE_ROLES
from repo_tools.versioning import BUMPS

DEMO_APP = Path("examples/demo_app")
DEMO_APP_NAME = "demo-app"
ONLINE_ROLE_NAMES = [role.value for role in ONLINE_ROLES]
PUBLISH_OPTION = click.option(
    "--publish/--no-publish",
    default=True,
    show_default=True,
    help="Publish to publish_to of repo-tools.json afterwards, when it is set.",
)


class Context:
    def __init__(self, repo: Path, keys: Path) -> None:
        self.repo = repo
        self.keys = keys


def fail(message: str, exit_code: int = 1) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(exit_code)


def run_guarded(action):  # type: ignore[no-untyped-def]
    """Turn expected failures into one clear line and their exit code (never a traceback)."""
    try:
        return action()
    except RepoError as error:
        fail(str(error), error.exit_code)
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            fail(
                f"disk full or file-size limit reached while writing ({error}): free space "
                "and run the command again"
            )
        fail(f"{error.strerror or error}: {getattr(error, 'filename', '') or ''}")


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
@click.option("--force", is_flag=True, help="Overwrite an existing repository and keys.")
@click.pass_obj
def init(
    obj: Context,
    app_name: str,
    root_keys: int,
    root_threshold: int,
    expires: str,
    bundle: str,
    force: bool,
) -> None:
    """Create keys, the first root and empty targets, snapshot and timestamp."""
    from repo_tools.init import init_repository

    def action() -> None:
        config = PublisherConfig(app_name=app_name, bundle=bundle)
        config.expiry_days.update(parse_expiry_option(expires))
        init_repository(obj.repo, obj.keys, config, root_keys, root_threshold, force)

    run_guarded(action)
    click.echo(f"initialised repository {obj.repo} for {app_name}; keys in {obj.keys}")


def _ensure_demo_repository(obj: Context) -> None:
    from repo_tools.config import CONFIG_NAME
    from repo_tools.init import init_repository

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
    init_repository(
        obj.repo, obj.keys, PublisherConfig(app_name=DEMO_APP_NAME, bundle=str(DEMO_APP))
    )


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
    from repo_tools.release import ReleaseRequest
    from repo_tools.release import release as do_release

    if notes and notes_file:
        fail("give either --notes or --notes-file, not both")
    if bump and explicit_version:
        fail("give either --bump or --version, not both")
    if dry_run:
        request = ReleaseRequest(bump, channel, bundle, "", required, explicit_version, rollout)
        _print_release_plan(obj, request)
        return

    def action():  # type: ignore[no-untyped-def]
        if demo_keys_ok:
            _ensure_demo_repository(obj)
        text = notes_file.read_text() if notes_file else notes
        request = ReleaseRequest(bump, channel, bundle, text, required, explicit_version, rollout)
        return do_release(obj.repo, obj.keys, request)

    result = run_guarded(action)
    click.echo(
        f"released {result.version}: {result.archive}"
        + (f" + {len(result.patches)} patch(es)" if result.patches else ""),
        err=True,
    )
    click.echo(str(result.version))
    config = run_guarded(lambda: load_config(obj.repo))  # once, for both last steps
    if publish:
        _publish_configured(obj, f"released {result.version}", config)
    _tag_configured(config, str(result.version), channel)


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

    report = run_guarded(lambda: verify_repository(obj.repo, within))
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

    result = run_guarded(lambda: repository_status(obj.repo))
    click.echo(json.dumps(result, indent=2) if as_json else format_status(result))


@main.command()
@click.option(
    "--force", is_flag=True, help="Re-sign every role now, root included (needs the root keys)."
)
@PUBLISH_OPTION
@click.pass_obj
def refresh(obj: Context, force: bool, publish: bool) -> None:
    """Re-sign roles that are near expiry or out of date (for cron/CI; idempotent)."""
    from repo_tools.refresh import refresh as do_refresh

    result = run_guarded(lambda: do_refresh(obj.repo, obj.keys, force))
    click.echo("re-signed: " + ", ".join(result.resigned) if result.resigned else "nothing due")
    if publish:
        _publish_configured(obj, "re-signed" if result.resigned else "nothing was due")
    if result.blocked:
        fail("; ".join(result.blocked.values()))


@main.command()
@click.option("--keep", type=int, required=True, help="Number of newest releases to keep.")
@click.pass_obj
def prune(obj: Context, keep: int) -> None:
    """Remove old releases; the newest of every channel always stays."""
    from repo_tools.prune import prune as do_prune

    removed = run_guarded(lambda: do_prune(obj.repo, obj.keys, keep))
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
    from repo_tools.serve import make_server

    if not (obj.repo / "metadata").is_dir():
        fail(f"{obj.repo}/metadata not found: run `repo-tools init` and `release` first")
    try:
        server, ca_file = make_server(obj.repo, host, port, tls_dir if tls else None)
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error.strerror}; choose another --port")
    scheme = "https" if tls else "http"
    click.echo(f"serving {obj.repo} at {scheme}://{host}:{server.server_address[1]}/", err=True)
    click.echo(f"  metadata_url: {scheme}://{host}:{server.server_address[1]}/metadata", err=True)
    click.echo(f"  targets_url:  {scheme}://{host}:{server.server_address[1]}/targets", err=True)
    if ca_file:
        click.echo(f"  ca_bundle:    {ca_file.resolve()}", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


@main.command()
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

    public = run_guarded(lambda: do_keygen(out, obj.repo))
    click.echo(f"private key {out} (keep it offline); public key {public}")


@main.group()
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
    from repo_tools import ceremony as steps

    draft = run_guarded(
        lambda: steps.begin(
            obj.repo,
            obj.keys,
            list(rotate),
            list(add_root_key),
            list(remove_root_key),
            root_threshold,
        )
    )
    click.echo(
        f"draft root version {draft.signed.version} in {steps.draft_path(obj.repo)}; "
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
    from repo_tools import ceremony as steps

    keyid = run_guarded(lambda: steps.sign_draft(obj.repo, key))
    click.echo(
        f"signed with {keyid[:12]}; {run_guarded(lambda: steps.status(obj.repo)).describe()}"
    )


@ceremony.command("status")
@click.pass_obj
def ceremony_status(obj: Context) -> None:
    """Signatures collected so far against the thresholds."""
    from repo_tools import ceremony as steps

    progress = run_guarded(lambda: steps.status(obj.repo))
    click.echo(progress.describe() + ("; ready to finish" if progress.complete else ""))


@ceremony.command("finish")
@click.pass_obj
def ceremony_finish(obj: Context) -> None:
    """Publish the signed root; put rotated keys in place and re-sign their roles."""
    from repo_tools import ceremony as steps

    version = run_guarded(lambda: steps.finish(obj.repo, obj.keys))
    click.echo(f"published root version {version}")


@ceremony.command("abort")
@click.pass_obj
def ceremony_abort(obj: Context) -> None:
    """Drop the draft and any new online keys it created."""
    from repo_tools import ceremony as steps

    run_guarded(lambda: steps.abort(obj.repo, obj.keys))
    click.echo("ceremony aborted")


@main.command("rotate-key")
@click.argument("role", type=click.Choice(ONLINE_ROLE_NAMES))
@click.pass_obj
def rotate_key(obj: Context, role: str) -> None:
    """Replace an online role's key; finishes at once if enough root keys are at hand."""
    from repo_tools import ceremony as steps

    run_guarded(lambda: steps.begin(obj.repo, obj.keys, [role], [], [], None))
    try:
        steps.sign_with_local_root_keys(obj.repo, obj.keys)
    except (RepoError, OSError) as error:
        steps.abort(obj.repo, obj.keys)  # leave no half-begun ceremony behind
        fail(f"{error}; the rotation was abandoned, nothing changed")
    progress = run_guarded(lambda: steps.status(obj.repo))
    if not progress.complete:
        click.echo(
            f"{progress.describe()}: collect the missing signatures with "
            "`repo-tools ceremony sign --key FILE`, then `repo-tools ceremony finish`"
        )
        sys.exit(1)
    version = run_guarded(lambda: steps.finish(obj.repo, obj.keys))
    click.echo(f"rotated the {role} key; published root version {version}")


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
    from repo_tools.publish import open_destination
    from repo_tools.publish import publish as do_publish

    def action():  # type: ignore[no-untyped-def]
        config = load_config(obj.repo)
        where = destination or config.publish_to
        if not where:
            raise ConfigError(
                "nowhere to publish: give --to DIR or --to s3://BUCKET/PREFIX, or set "
                "publish_to in repo-tools.json"
            )
        url = config.publish_endpoint_url if endpoint_url is None else endpoint_url
        return do_publish(obj.repo, open_destination(where, obj.repo, url), delete)

    _report_published(run_guarded(action), err=False)


def _print_release_plan(obj: Context, request) -> None:  # type: ignore[no-untyped-def]
    from repo_tools.release import plan_release

    plan = run_guarded(lambda: plan_release(obj.repo, obj.keys, request))
    bases = ", ".join(str(base) for base in plan.patch_bases) or "none (first release)"
    source = plan.bundle if plan.bundle is not None else f"the output of {plan.build_command!r}"
    lines = [
        f"would release {plan.version} ({request.channel}) from {source}",
        f"  archive:      {plan.archive}",
        f"  patches from: {bases}",
        "  signs:        targets, snapshot, timestamp (keys found)",
        f"  rollout:      {request.rollout}%" + (", required" if request.required else ""),
    ]
    if plan.publish_to:
        lines.append(f"  publishes to: {plan.publish_to}")
    if plan.tag:
        lines.append(f"  tags:         {plan.tag}")
    click.echo("\n".join(lines), err=True)
    click.echo(str(plan.version))


def _report_published(result, err: bool = True) -> None:  # type: ignore[no-untyped-def]
    click.echo(
        f"published {len(result.copied)} changed file(s) to {result.destination}"
        + (f", deleted {len(result.deleted)}" if result.deleted else ""),
        err=err,
    )


def _tag_configured(config: PublisherConfig, version: str, channel: str) -> None:
    """Tag the working directory's HEAD when `git_tag` is set (the last step of a release)."""
    from repo_tools.git_tag import tag_name, tag_release

    if not config.git_tag:
        return
    name = tag_name(config.git_tag, version)
    try:
        tag_release(Path.cwd(), name, f"{config.app_name} {version} ({channel})")
    except RepoError as error:
        fail(f"released {version}, but tagging failed: {error}", error.exit_code)
    click.echo(f"tagged {name}", err=True)


def _publish_configured(obj: Context, done: str, config: PublisherConfig | None = None) -> None:
    """Publish to `publish_to` when it is set (the end of `release` and `refresh`), as a mirror:
    what the repository no longer has (pruned releases, old metadata versions) is deleted
    there too, after the new timestamp is in place."""
    from repo_tools.publish import open_destination
    from repo_tools.publish import publish as do_publish

    if config is None:
        config = run_guarded(lambda: load_config(obj.repo))
    if not config.publish_to:
        return
    try:
        destination = open_destination(config.publish_to, obj.repo, config.publish_endpoint_url)
        _report_published(do_publish(obj.repo, destination, delete=True))
    except (RepoError, OSError) as error:
        fail(
            f"{done} locally, but publishing to {config.publish_to} failed: {error}. Clients "
            "keep the previous state until it succeeds: fix that and run `repo-tools publish`"
        )


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
    new_reason = None if undo else reason
    previous = run_guarded(lambda: set_yanked(obj.repo, obj.keys, version, new_reason))
    if undo:
        click.echo(f"{version}: offered again" + ("" if previous else " (it was not withdrawn)"))
    else:
        click.echo(f"{version}: withdrawn ({reason})")
    if publish:
        _publish_configured(obj, "withdrawn" if not undo else "restored")


@main.command()
@click.argument("version")
@click.argument("percent", type=click.IntRange(0, 100))
@PUBLISH_OPTION
@click.pass_obj
def rollout(obj: Context, version: str, percent: int, publish: bool) -> None:
    """Set a release's staged-rollout percentage (0 halts it, 100 is everyone)."""
    from repo_tools.rollout import set_rollout

    previous = run_guarded(lambda: set_rollout(obj.repo, obj.keys, version, percent))
    click.echo(f"{version}: rollout {previous}% -> {percent}%")
    if publish:
        _publish_configured(obj, "rollout changed")
