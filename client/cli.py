"""`update-client`: the command line over the same Updater an application embeds.

    update-client [--config FILE] [--install-root DIR] [--json] COMMAND

Commands are thin: parse options, call one Updater operation, format its result. Exit codes
are `Exit` (also in docs/client.md); an error's exit code follows from its `ErrorKind`.
"""

from __future__ import annotations

import json
import sys
from enum import IntEnum
from pathlib import Path
from typing import Any

import click

from client.errors import ErrorKind, UpdateError
from client.settings import CHANNELS
from client.terminal import ctrl_c_cancels, progress_bars


class Exit(IntEnum):
    """The exit codes of `update-client` (also in docs/client.md)."""

    OK = 0
    ERROR = 1
    NO_UPDATE = 2  # no update available, nothing to install or roll back to
    BUSY = 3  # another updater works on this install root
    CONFIG = 4  # invalid settings
    NOT_SET_UP = 5  # the install root is not set up
    DAMAGED = 6  # `verify`: the installed files differ from the signed release
    CANCELLED = 7  # the download was cancelled (Ctrl-C): run the command again to resume it
    USAGE = 64  # bad command line


_EXIT_BY_KIND = {
    ErrorKind.BUSY: Exit.BUSY,
    ErrorKind.CONFIG: Exit.CONFIG,
    ErrorKind.NOT_SET_UP: Exit.NOT_SET_UP,
    ErrorKind.USAGE: Exit.USAGE,
    ErrorKind.CANCELLED: Exit.CANCELLED,
}


class Done(Exception):
    """Leave with an exit code after output was written."""

    def __init__(self, code: int) -> None:
        self.code = code


class Context:
    def __init__(self, config: Path | None, install_root: Path | None, as_json: bool) -> None:
        self.config, self.install_root, self.as_json = config, install_root, as_json
        self._updater: Any = None

    def updater(self, strict: bool = True) -> Any:
        """The Updater for this install root; with strict, invalid settings stop the command."""
        from client.updater import Updater

        if self._updater is None:
            if self.config is None and self.install_root is None:
                self.install_root = Path.cwd()
            self._updater = Updater.from_config(self.config, self.install_root)
        if strict and self._updater.settings_error is not None:
            fail(self, ErrorKind.CONFIG, f"invalid settings: {self._updater.settings_error}")
        return self._updater

    def out(self, data: dict[str, Any], text: str) -> None:
        if self.as_json:
            click.echo(json.dumps(data, indent=2, default=str))
        elif text:
            click.echo(text)


def fail(ctx: Context, kind: ErrorKind, message: str, detail: str | None = None) -> None:
    """Print the error (and its JSON form with --json, with the technical `detail`) and leave
    with the kind's exit code."""
    code = _EXIT_BY_KIND.get(kind, Exit.ERROR)
    if ctx.as_json:
        data = {"ok": False, "error": message, "kind": kind, "exit_code": code}
        click.echo(json.dumps({**data, "detail": detail or message}))
    if kind == ErrorKind.CANCELLED:  # the user's own choice: no "error"
        click.echo("cancelled: run the command again to continue where it stopped", err=True)
    else:
        click.echo(f"error: {message}", err=True)
    raise Done(code)


def guarded(ctx: Context, action: Any) -> Any:
    """Run an updater action: an UpdateError (or OSError) becomes a message and an exit code."""
    try:
        return action()
    except UpdateError as error:  # SettingsError and BusyError included
        fail(ctx, error.kind, error.message, error.detail)
    except OSError as error:
        from client.errors import describe

        problem = describe(error)
        fail(ctx, problem.kind, problem.message, problem.detail)


@click.group()
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), help="Settings file.")
@click.option(
    "--install-root",
    type=click.Path(path_type=Path, file_okay=False),
    help="Install root (default: the settings file's folder, or the current folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@click.pass_context
def cli(
    click_ctx: click.Context, config: Path | None, install_root: Path | None, as_json: bool
) -> None:
    """Verified updates for an installed application (see docs/client.md)."""
    click_ctx.obj = Context(config, install_root, as_json)


@cli.command()
@click.option(
    "--install-root", "root", required=True, type=click.Path(path_type=Path, file_okay=False)
)
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(path_type=Path),
    help="Release archive or bundle folder.",
)
@click.option(
    "--server",
    "servers",
    nargs=2,
    multiple=True,
    metavar="METADATA_URL TARGETS_URL",
    help="An update mirror (repeat for more, in order of preference).",
)
@click.option("--ca-bundle", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--channel", type=click.Choice(CHANNELS))
@click.option("--dev-allow-http-loopback", is_flag=True, help="Development only.")
@click.pass_obj
def setup(
    ctx: Context,
    root: Path,
    source: Path,
    servers: tuple[tuple[str, str], ...],
    ca_bundle: Path | None,
    channel: str | None,
    dev_allow_http_loopback: bool,
) -> None:
    """Create an install root from a release archive or bundle folder (first install)."""
    from client.install import InstallError
    from client.install import setup as do_setup
    from client.layout import Layout

    overrides: dict[str, Any] = {}
    if servers:
        overrides["servers"] = [{"metadata_url": m, "targets_url": t} for m, t in servers]
    if ca_bundle:
        overrides["ca_bundle"] = str(ca_bundle.absolute())
    if channel:
        overrides["update_channel"] = channel
    if dev_allow_http_loopback:
        overrides["dev_allow_http_loopback"] = True
    layout = Layout(root)
    try:
        release = do_setup(layout, source, overrides)
    except UpdateError as error:  # invalid settings in the bundle or on the command line
        fail(ctx, error.kind, error.message)
    except (InstallError, OSError, ValueError) as error:
        fail(ctx, ErrorKind.INSTALL, str(error))
    ctx.out(
        {"ok": True, "install_root": str(layout.root), **release},
        f"installed {release['app']} {release['version']} in {layout.root}",
    )


def _info_text(info: Any) -> str:
    if info.withdrawn:
        how = "switch back, already on this computer" if info.method == "kept" else info.method
        return (
            f"{info.from_version} was withdrawn by the publisher ({info.withdrawn}): "
            f"move to {info.version} ({how})"
        )
    from client.words import size_text

    required = " (required)" if info.required else ""
    versions = f"{info.from_version} -> {info.version}{required}"
    lines = [f"update available: {versions} by {info.method}, {size_text(info.download_bytes)}"]
    for release in info.release_notes:  # newest first, every version since the running one
        published = release["published"][:10]
        notes = release["notes"] or "(no release notes)"
        lines.append(f"  {release['version']} ({published}): {notes}")
    return "\n".join(lines)


@cli.command()
@click.pass_obj
def check(ctx: Context) -> None:
    """Check for an update (exit 2 if none)."""
    updater = ctx.updater()
    result = guarded(ctx, updater.check_result)
    info = result.update
    if info is None:
        data = {"ok": True, "update": None, "current_version": result.current_version}
        ctx.out({**data, "message": result.message, "withdrawn": result.withdrawn}, result.message)
        raise Done(Exit.NO_UPDATE)
    ctx.out({"ok": True, "update": info.to_dict()}, _info_text(info))


@cli.command()
@click.pass_obj
def download(ctx: Context) -> None:
    """Check, then download and verify the update (exit 2 if none)."""
    updater = ctx.updater()
    progress_bars(ctx.as_json, updater)
    with ctrl_c_cancels(updater):
        info = guarded(ctx, updater.download)
    if info is None:
        ctx.out({"ok": True, "update": None}, "no update available")
        raise Done(Exit.NO_UPDATE)
    ctx.out({"ok": True, "downloaded": info.to_dict()}, f"downloaded and verified {info.version}")


@cli.command()
@click.pass_obj
def install(ctx: Context) -> None:
    """Install the downloaded update (exit 2 if nothing was downloaded)."""
    result = guarded(ctx, ctx.updater().install_result)
    if result.version is None:
        ctx.out({"ok": True, "installed": None}, result.message)
        raise Done(Exit.NO_UPDATE)
    _installed(ctx, result)


def _installed(ctx: Context, result: Any) -> None:
    verb = "switched back to" if result.method == "kept" else "installed"
    data = {"ok": True, "installed": result.version, "method": result.method}
    ctx.out({**data, "warnings": result.warnings}, f"{verb} {result.version}")
    for warning in result.warnings:  # it is installed: what failed afterwards is said, exit 0
        click.echo(f"warning: {warning}", err=True)


@cli.command()
@click.pass_obj
def update(ctx: Context) -> None:
    """Check, download and install (exit 2 if up to date)."""
    updater = ctx.updater()
    progress_bars(ctx.as_json, updater)
    with ctrl_c_cancels(updater):
        result = guarded(ctx, updater.update_result)
    if result.version is None:
        data = {"ok": True, "installed": None, "current_version": result.from_version}
        ctx.out({**data, "message": result.message, "withdrawn": result.withdrawn}, result.message)
        raise Done(Exit.NO_UPDATE)
    _installed(ctx, result)


@cli.command()
@click.argument("version", required=False)
@click.option(
    "--restore-data", is_flag=True, help="Also restore the user data saved when VERSION was left."
)
@click.pass_obj
def rollback(ctx: Context, version: str | None, restore_data: bool) -> None:
    """Switch back to the previous version, or to VERSION (offline, instant)."""
    updater = ctx.updater(strict=False)  # rollback must work even when the settings are broken
    result = guarded(ctx, lambda: updater.rollback(version, restore_data=restore_data))
    ctx.out({"ok": True, "current_version": result}, f"rolled back to {result}")


@cli.command()
@click.pass_obj
def confirm(ctx: Context) -> None:
    """Confirm the current version is healthy (what the app's confirm_healthy() does)."""
    updater = ctx.updater(strict=False)
    updater.running_version = updater.layout.current_version()
    confirmed = guarded(ctx, updater.confirm_healthy)
    ctx.out(
        {"ok": True, "confirmed": confirmed}, "confirmed" if confirmed else "nothing to confirm"
    )


@cli.command()
@click.option("--repair", is_flag=True, help="Put back every modified or missing file.")
@click.pass_obj
def verify(ctx: Context, repair: bool) -> None:
    """Compare the installed files with the signed release (exit 6 if damaged)."""
    updater = ctx.updater()
    progress_bars(ctx.as_json, updater)
    report = guarded(ctx, lambda: updater.verify_install(repair=repair))
    lines = [f"{report['version']}: " + ("intact" if report["intact"] else "DAMAGED")]
    if report.get("current_link"):
        lines.append(f"  {report['current_link']}")
    for kind in ("modified", "missing", "repaired", "extra"):
        names = report[kind]
        if names:
            more = f" (+{len(names) - 10} more)" if len(names) > 10 else ""
            shown = ", ".join(names[:10]) + more
            lines.append(f"  {kind} ({len(names)}): {shown}")
    if not report["intact"]:
        lines.append("  run `update-client verify --repair` to put the signed files back")
    ctx.out({"ok": report["intact"], **report}, "\n".join(lines))
    if not report["intact"]:
        raise Done(Exit.DAMAGED)


@cli.command()
@click.argument("version", required=False)
@click.option("--clear", is_flag=True, help="Remove the pin: follow the channel again.")
@click.pass_obj
def pin(ctx: Context, version: str | None, clear: bool) -> None:
    """Stay on VERSION (updates move only to it), or --clear to follow the channel again."""
    if clear == (version is not None):
        fail(ctx, ErrorKind.USAGE, "give either a VERSION to pin or --clear")
    updater = ctx.updater(strict=False)
    pinned = guarded(ctx, lambda: updater.pin(None if clear else version))
    ctx.out({"ok": True, "pinned_version": pinned}, f"pinned to {pinned}" if pinned else "unpinned")


@cli.command()
@click.option("--limit", type=click.IntRange(min=1), help="Only the last N events.")
@click.pass_obj
def history(ctx: Context, limit: int | None) -> None:
    """Show the update history (oldest first)."""
    from client.history import read_report

    updater = ctx.updater(strict=False)
    found = read_report(updater.layout.history_file, limit)  # damaged lines skipped, counted
    warning = found.warning(updater.layout.history_file)
    if found.problem:
        fail(ctx, ErrorKind.IO, f"{warning} (a link there is set aside at the next update)")
    if warning:
        click.echo(f"warning: {warning}", err=True)
    records = found.records
    if ctx.as_json:
        click.echo(json.dumps(records, indent=2))
        return
    for r in records:
        versions = " -> ".join(v for v in (r.get("from_version"), r.get("to_version")) if v)
        error = f"  {r['error']}" if r.get("error") else ""
        click.echo(f"{r.get('time')}  {r.get('event'):<16} {r.get('result'):<9} {versions}{error}")


@cli.command()
@click.pass_obj
def status(ctx: Context) -> None:
    """Current and kept versions, channel, last check, pending update."""
    updater = ctx.updater(strict=False)
    problem = updater.layout.setup_problem()
    if problem:
        fail(ctx, ErrorKind.NOT_SET_UP, f"{problem}: run `update-client setup`")
    s = updater.status()
    pending = s["pending_update"]
    pending_text = f"{pending['version']} ({pending['method']})" if pending else "none"
    lines = [
        f"app:              {s['app']}",
        f"current version:  {s['current_version']}",
        f"kept versions:    {', '.join(s['kept_versions'])}",
        f"channel:          {s['channel']}",
        f"last check:       {s['last_check'] or 'never'}",
        f"next check:       {s['next_check'] or 'automatic checks off'}",
        f"pending update:   {pending_text}",
    ]
    if s["awaiting_health_confirmation"]:
        lines.append(
            f"unconfirmed:      {s['awaiting_health_confirmation']} (not yet confirmed healthy)"
        )
    if s["skipped_versions"]:
        lines.append(f"skipped:          {', '.join(s['skipped_versions'])}")
    if s["settings_error"]:
        lines.append(f"SETTINGS INVALID: {s['settings_error']} (updates disabled)")
    lines += [f"WARNING:          {warning}" for warning in s["warnings"]]
    ctx.out(s, "\n".join(lines))


@cli.group()
def config() -> None:
    """Read or change settings (saved atomically)."""


@config.command("get")
@click.argument("key", required=False)
@click.pass_obj
def config_get(ctx: Context, key: str | None) -> None:
    """Print one setting (or all of them)."""
    from client.settings import KEYS

    settings = ctx.updater().settings.to_dict()
    if key is None:
        ctx.out(settings, "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items()))
        return
    if key not in KEYS:
        fail(ctx, ErrorKind.CONFIG, f"unknown key {key!r}; allowed keys: {', '.join(KEYS)}")
    ctx.out({key: settings[key]}, json.dumps(settings[key]))


@config.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
@click.pass_obj
def config_set(ctx: Context, key: str, value: str) -> None:
    """Change one setting; VALUE is JSON (true, 12, "beta", [...]) or a plain string."""
    from client.settings import parse_cli_value

    updater = ctx.updater(strict=False)  # `config set` is how a broken file gets repaired
    if updater.settings_error is not None:
        fail(ctx, ErrorKind.CONFIG, f"fix the settings file first: {updater.settings_error}")
    guarded(ctx, lambda: updater.set_setting(key, parse_cli_value(key, value)))
    ctx.out(
        {"ok": True, key: getattr(updater.settings, key)},
        f"{key} = {json.dumps(getattr(updater.settings, key))}",
    )


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def launch(ctx: Context, args: tuple[str, ...]) -> None:
    """Run the app as a child process and watch its start (the health rule, client.launcher):
    a version that fails at start on enough starts in a row is rolled back. Exits with the
    app's exit code."""
    from client.launcher import launch as run_app

    updater = ctx.updater(strict=False)
    if updater.layout.current_version() is None:  # the app starts whatever else is damaged
        fail(ctx, ErrorKind.NOT_SET_UP, f"{updater.layout.root} is not set up")
    raise Done(guarded(ctx, lambda: run_app(updater, args, lambda s: click.echo(s, err=True))))


def run(argv: list[str] | None = None) -> int:
    """Entry point returning the exit code (tests call this in-process too)."""
    try:
        cli.main(args=argv, prog_name="update-client", standalone_mode=False)
    except Done as done:
        return done.code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return Exit.ERROR
    except click.ClickException as error:  # usage errors included
        error.show()
        return Exit.USAGE
    return Exit.OK


def main() -> None:
    """The `update-client` console script."""
    sys.exit(run())


if __name__ == "__main__":
    main()
