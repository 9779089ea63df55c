"""`repo-tools adopt-tufup`: registered on the main group by repo_tools.cli; calls
repo_tools.adopt.adopt_tufup and says what changed (or, with --dry-run, what would)."""

from __future__ import annotations

from pathlib import Path

import click

from repo_tools.cli_base import Context, run


@click.command("adopt-tufup")
@click.option(
    "--tufup-keys",
    "tufup_keys",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="tufup's key folder (keystore/); repeat for folders holding other keys.",
)
@click.option("--app-name", help="The app's name (default: the one its archives are named by).")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.pass_obj
def adopt_tufup(obj: Context, tufup_keys: tuple[Path, ...], app_name: str | None, dry_run: bool):
    """Adopt a repository made by tufup: keys, root chain, releases; stock clients keep working."""
    from repo_tools.adopt import adopt_tufup as do_adopt

    result = run(lambda: do_adopt(obj.repo, obj.keys, list(tufup_keys), app_name, dry_run))
    plan = result.plan
    lines = [
        f"{'dry run: ' if dry_run else ''}adopting the tufup repository of {plan.app} in "
        f"{obj.repo}",
        f"root: version {plan.new_root} (consistent snapshots on), signed by the root keys of "
        f"version {plan.old_root}; the same keys, listed under repo-tools' key IDs",
    ]
    for role, path, old, new in plan.keys:
        lines.append(f"key {path} ({role}): tufup key id {old[:12]}... -> {new[:12]}...")
    lines.append(
        f"targets: {plan.linked_targets} file(s) also under their hash-prefixed names; "
        f"versioned copies {', '.join(plan.versioned_copies)}"
    )
    imported = ", ".join(plan.imported) or "none"
    lines.append(f"releases imported (for stock tufup clients only): {imported}")
    if plan.delisted:
        lines.append(
            f"tufup patches no longer listed (stock clients take full archives): "
            f"{', '.join(plan.delisted)}"
        )
    lines.append(
        "would write the keys above and repo-tools.json; nothing was changed"
        if dry_run
        else "done: `repo-tools verify` checks it; release with `repo-tools release`"
    )
    click.echo("\n".join(lines))
