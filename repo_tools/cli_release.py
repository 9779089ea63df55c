"""`repo-tools release`: its options, its dry run and what it prints.

Registered on the main group by repo_tools.cli; it calls repo_tools.release (plan_release or
release) and formats the result, then publishes and tags as repo-tools.json says.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from client.formats import CHANNELS
from repo_tools.cli_base import (
    PUBLISH_OPTION,
    Context,
    config_of,
    fail,
    publish_configured_after,
    run,
)
from repo_tools.errors import RepoError
from repo_tools.versioning import BUMPS

if TYPE_CHECKING:
    from repo_tools.bundle_rules import BundleInspection
    from repo_tools.config import PublisherConfig
    from repo_tools.release import ReleasePlan, ReleaseRequest


@click.command()
@click.option("--bump", type=click.Choice(BUMPS), help="Which part of the version to raise.")
@click.option("--channel", type=click.Choice(CHANNELS), default="stable", show_default=True)
@click.option(
    "--bundle",
    type=click.Path(path_type=Path),
    help="Application bundle folder (bundle_exclude of repo-tools.json applies; the keys and "
    "repository folders and private keys in it are refused).",
)
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
    help="Check the bundle and keys and print the version, archive and deltas; change nothing.",
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
    if result.pending is not None:
        click.echo(
            f"release {result.version} built and held in {result.pending} for the targets "
            "holders (nothing published): each signs with `repo-tools targets sign --key FILE` "
            "(or `targets export` / `targets sign --request` / `targets collect`), then "
            "`repo-tools targets publish`",
            err=True,
        )
        click.echo(str(result.version))
        return
    click.echo(
        f"  frames:       {result.frames_compressed} compressed, {result.frames_reused} "
        "copied from earlier releases",
        err=True,
    )
    click.echo(
        f"released {result.version}: {result.archive}"
        + (f" + {len(result.patches)} delta(s)" if result.patches else ""),
        err=True,
    )
    click.echo(str(result.version))
    if publish:
        publish_configured_after(obj, f"released {result.version}", config)
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
        f"  deltas from: {bases}",
        "  signs:        targets, snapshot, timestamp (keys found)",
        f"  rollout:      {request.rollout}%" + (", required" if request.required else ""),
        *_bundle_lines(plan.inspection, plan.exclude, every=True),
    ]
    if plan.publish_to:
        lines.append(f"  publishes to: {plan.publish_to}")
    if plan.tag:
        lines.append(f"  tags:         {plan.tag}")
    click.echo("\n".join(lines), err=True)
    click.echo(str(plan.version))


def _bundle_lines(
    inspection: BundleInspection | None, patterns: list[str], every: bool = False
) -> list[str]:
    """What bundle_exclude left out (`every` path, else a summary) and what the secret scan
    checked: the lines `release` and `release --dry-run` print."""
    from repo_tools.bundle_rules import summarise_excluded

    rules = ", ".join(patterns) or "none"
    if inspection is None:
        return [
            f"  excludes:     bundle_exclude ({rules}), applied to the built bundle",
            "  secret scan:  runs on the built bundle, before anything is signed",
        ]
    excluded = inspection.excluded
    if every:
        lines = [f"  excludes:     {len(excluded)} path(s) by bundle_exclude ({rules})"]
        lines += [f"                  {path} ({pattern})" for path, pattern in excluded[:200]]
        lines += [f"                  ... and {len(excluded) - 200} more"] * (len(excluded) > 200)
    else:
        lines = [f"  excludes:     {summarise_excluded(excluded)} (bundle_exclude: {rules})"]
    megabytes = inspection.bytes_scanned / 1e6
    return [
        *lines,
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
