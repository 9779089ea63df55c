"""Stock tufup on the scale benchmark's big bundle: ``python -m bench.stock.scale COMMAND ...``.

``release WORK BUNDLE VERSION APP``: what a tufup publisher runs for each release, with
tufup's defaults, in WORK (tufup keeps its configuration file in the working directory).
The first release makes the repository (``Repository(...)``, ``save_config``,
``initialize``); later ones load it (``Repository.from_config``). Then ``add_bundle`` (a
gzip tar of the bundle and, from the second release on, a bsdiff4 patch from the previous
archive) and ``publish_changes``. Prints ``{"archive": name, "patch": name or null}``.

``update --app APP --version V --url URL --client-dir DIR``: what an application using
tufup's client does for an update: ``Client(...)``, ``check_for_updates()`` and
``download_and_apply_update(skip_confirmation=True, install=...)``: download the patch,
un-gzip the cached archive of V (DIR/targets), bsdiff4-patch it, verify, re-gzip, unpack into
DIR/extract and install into DIR/app. tufup's own ``install_update`` supports Windows and macOS
only; the install given here is its macOS one (``shutil.copytree`` into the install folder,
then emptying the extract folder) without the restart of the application. Prints
``{"found": version or null, "installed": bool}``.

Both run in stock tufup's environment and import the standard library and tufup only.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any


def release(work: Path, bundle: Path, version: str, app: str) -> dict[str, Any]:
    from tufup.repo import Repository

    os.chdir(work)
    if Repository.get_config_file_path().exists():
        repository = Repository.from_config()
    else:
        repository = Repository(app_name=app, repo_dir=work / "repo", keys_dir=work / "keys")
        repository.save_config()
        repository.initialize()
    repository.add_bundle(new_bundle_dir=bundle, new_version=version)
    repository.publish_changes(private_key_dirs=[work / "keys"])
    targets = Path(repository.targets_dir)
    archive = targets / f"{app}-{version}.tar.gz"
    patch = targets / f"{app}-{version}.patch"
    if not archive.is_file():
        raise SystemExit(f"tufup made no {archive}")
    return {"archive": archive.name, "patch": patch.name if patch.is_file() else None}


def _install(src_dir: Path, dst_dir: Path, **kwargs: Any) -> None:
    """tufup's _install_update_mac (its only POSIX install) without restarting the app."""
    shutil.copytree(src_dir, dst_dir, dirs_exist_ok=True, symlinks=False)
    for path in Path(src_dir).iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def update(app: str, version: str, url: str, client_dir: Path) -> dict[str, Any]:
    from tufup.client import Client

    if "REQUESTS_CA_BUNDLE" not in os.environ:
        raise SystemExit("set REQUESTS_CA_BUNDLE to the server's certificate authority (PEM)")
    (client_dir / "extract").mkdir(exist_ok=True)
    client = Client(
        app_name=app,
        app_install_dir=client_dir / "app",
        current_version=version,
        metadata_dir=client_dir / "metadata",
        metadata_base_url=f"{url}/metadata/",
        target_dir=client_dir / "targets",
        target_base_url=f"{url}/targets/",
        extract_dir=client_dir / "extract",
    )
    found = client.check_for_updates()
    installed = False
    if found is not None:
        client.download_and_apply_update(skip_confirmation=True, install=_install)
        # tufup logs a failed patch or install and returns; a failed target is renamed .failed
        failed = list((client_dir / "targets").glob("*.failed"))
        installed = not failed and Path(str(client.new_archive_local_path)).is_file()
    return {"found": None if found is None else str(found.version), "installed": installed}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stock.scale")
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release")
    rel.add_argument("work", type=Path)
    rel.add_argument("bundle", type=Path)
    rel.add_argument("version")
    rel.add_argument("app")
    upd = commands.add_parser("update")
    upd.add_argument("--app", required=True)
    upd.add_argument("--version", required=True, help="the installed version")
    upd.add_argument("--url", required=True, help="the server; metadata/ and targets/ below it")
    upd.add_argument("--client-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # tufup logs every step
    if args.command == "release":
        result = release(args.work.resolve(), args.bundle.resolve(), args.version, args.app)
    else:
        result = update(args.app, args.version, args.url, args.client_dir.resolve())
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
