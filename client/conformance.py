"""`update-client-conformance`: the TUF client conformance command-line protocol.

The protocol the public tuf-conformance suite drives (its CLIENT-CLI.md), on the product's own
code: python-tuf's ngclient for every verification step and `client.transport.Transport` for
every byte (same timeouts, deadline, length limits and URL policy as `update-client`)::

    update-client-conformance --metadata-dir DIR init TRUSTED_ROOT
    update-client-conformance --metadata-dir DIR --metadata-url URL refresh
    update-client-conformance --metadata-dir DIR --metadata-url URL --target-name P
        [--target-name P2 ...] --target-base-url TURL --target-dir TDIR download

* Global options come before the command. Exit code 0 on success, 1 on any failure, usage
  errors included (never argparse's 2).
* `init` writes TRUSTED_ROOT's bytes to DIR/root.json: no network, no checks (the next
  refresh verifies everything from it).
* `refresh` is the TUF top-level refresh (root chain, timestamp, snapshot, targets); trusted
  metadata is kept in DIR un-versioned (`root.json`, `timestamp.json`, ...) with the exact
  bytes served (ngclient persists what it verified, byte for byte). ngclient (tuf 7) starts
  from DIR/root.json (`bootstrap=None`: the root `init` stored is the trust anchor), keeps
  every verified root in DIR/root_history/N.root.json and makes root.json a symbolic link
  to the newest one.
* `download` refreshes, then downloads and verifies each target in order with one updater,
  reusing an already verified copy in TDIR instead of downloading it again, and stops at the
  first failure. Files are stored in TDIR under their URL-quoted target path.
* Plain `http://` is accepted here, and only to 127.0.0.1 / ::1 (the suite's local server);
  `update-client` itself stays HTTPS-only unless its development flag is set.
* `--ca-bundle FILE` (optional, an extension) trusts a private CA for https test servers.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:  # the heavy imports wait until a command needs them
    from tuf.ngclient import Updater

    from client.transport import Transport

EXIT_OK, EXIT_FAIL = 0, 1


class _Parser(argparse.ArgumentParser):
    """argparse that exits 1 (not 2) on a usage error, as the protocol requires."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_FAIL)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="update-client-conformance",
        description="TUF client conformance protocol (tuf-conformance CLIENT-CLI.md).",
    )
    parser.add_argument("--metadata-dir", required=True, help="Trusted metadata folder.")
    parser.add_argument("--metadata-url", help="Base URL of the repository's metadata.")
    parser.add_argument(
        "--target-name", action="append", default=[], help="Target path (repeatable)."
    )
    parser.add_argument("--target-base-url", help="Base URL of the repository's targets.")
    parser.add_argument("--target-dir", help="Where verified targets are stored.")
    parser.add_argument("--ca-bundle", help="PEM file of CAs to trust for https (optional).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    init = commands.add_parser("init", help="Trust TRUSTED_ROOT (copied, not checked).")
    init.add_argument("trusted_root")
    commands.add_parser("refresh", help="TUF top-level metadata refresh.")
    commands.add_parser("download", help="Refresh, then download and verify targets.")
    return parser


def _require(parser: argparse.ArgumentParser, args: argparse.Namespace, *names: str) -> None:
    missing = [f"--{n.replace('_', '-')}" for n in names if not getattr(args, n)]
    if missing:
        parser.error(f"{args.command} needs {', '.join(missing)} (before the command)")


def _transport(ca_bundle: str | None) -> Transport:
    from client.transport import Transport

    return Transport(ca_bundle=ca_bundle, allow_http_loopback=True)


def _updater(args: argparse.Namespace, transport: Transport, with_targets: bool) -> Updater:
    from tuf.ngclient import Updater

    return Updater(
        metadata_dir=args.metadata_dir,
        metadata_base_url=args.metadata_url,
        target_dir=args.target_dir if with_targets else None,
        target_base_url=args.target_base_url if with_targets else None,
        fetcher=transport,
        bootstrap=None,  # DIR/root.json: what init trusted, or the newest root verified since
    )


def init(args: argparse.Namespace) -> None:
    """DIR/root.json becomes a file with TRUSTED_ROOT's bytes, replaced in one rename: a
    root.json that is already a link into root_history/ is replaced itself, never written
    through (that would put other bytes in a verified root's file)."""
    from client.files import atomic_write_bytes

    atomic_write_bytes(Path(args.metadata_dir) / "root.json", Path(args.trusted_root).read_bytes())


def refresh(args: argparse.Namespace) -> None:
    transport = _transport(args.ca_bundle)
    try:
        with transport.operation():
            _updater(args, transport, with_targets=False).refresh()
    finally:
        transport.close()


def download(args: argparse.Namespace) -> None:
    transport = _transport(args.ca_bundle)
    os.makedirs(args.target_dir, exist_ok=True)
    try:
        with transport.operation():
            updater = _updater(args, transport, with_targets=True)
            updater.refresh()
            for name in args.target_name:
                info = updater.get_targetinfo(name)
                if info is None:
                    raise LookupError(f"target {name!r} is not in the trusted targets metadata")
                if updater.find_cached_target(info) is None:
                    updater.download_target(info)
    finally:
        transport.close()


def run(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "init":
            action = init
        elif args.command == "refresh":
            _require(parser, args, "metadata_url")
            action = refresh
        else:
            _require(parser, args, "metadata_url", "target_name", "target_base_url", "target_dir")
            action = download
    except SystemExit as leaving:  # usage errors (and --help, which is a success)
        return EXIT_OK if leaving.code in (0, None) else EXIT_FAIL
    try:
        action(args)
    except Exception as error:  # any failure at all: exactly 1, with the reason
        print(f"update-client-conformance: {args.command} failed: {error}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def main() -> None:
    """The `update-client-conformance` console script."""
    sys.exit(run())
