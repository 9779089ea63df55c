"""Stock tufup 0.10 at work, run with the stock environment's interpreter (never ours).

``python tests/support/tufup_child.py COMMAND ...`` prints one JSON object as its last line.
It imports nothing of this project: only tufup, its tuf 4.0 and the standard library.

* ``names NAME...``: how tufup's ``TargetMeta`` reads each target name (name, version, suffix,
  archive or patch), straight from ``tufup.common``.
* ``update --app A --version V --url U --client-dir D [--pre b]``: what an application that
  embeds tufup's client does at start: ``check_for_updates()``, then
  ``download_and_apply_update()`` into its in-place install folder ``D/app``. Trusted metadata
  lives in ``D/metadata`` (``root.json`` put there by the installer), downloads in
  ``D/targets``. tufup's own ``install_update`` supports only Windows and macOS; on Linux an
  application passes its own, so this one does what the macOS one does (purge the folder,
  copy the new files in) without restarting itself.
* ``repo-init``, ``repo-add``, ``repo-publish``: stock ``tufup.repo.Repository`` (a publisher
  who uses tufup) in a work folder holding ``repository/`` and ``keystore/``.

The server's certificate authority comes from ``REQUESTS_CA_BUNDLE`` (requests honours it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
from pathlib import Path


def _names(args: argparse.Namespace) -> dict:
    from tufup.common import TargetMeta

    read = {}
    for name in args.names:
        meta = TargetMeta(target_path=name)
        version = meta.version
        read[name] = {
            "name": meta.name,
            "version": None if version is None else str(version),
            "suffix": meta.suffix,
            "is_archive": meta.is_archive,
            "is_patch": meta.is_patch,
        }
    return {"names": read}


def _install(src_dir: Path, dst_dir: Path, **_: object) -> None:
    """What tufup's macOS install does, without the restart: purge, then copy the new files."""
    for path in Path(dst_dir).iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    shutil.copytree(src_dir, dst_dir, dirs_exist_ok=True)


def _update(args: argparse.Namespace) -> dict:
    from tufup.client import Client

    client_dir = args.client_dir
    for folder in ("app", "targets"):
        (client_dir / folder).mkdir(parents=True, exist_ok=True)
    extract = client_dir / "extract"
    shutil.rmtree(extract, ignore_errors=True)
    extract.mkdir()
    client = Client(
        app_name=args.app,
        app_install_dir=client_dir / "app",
        current_version=args.version,
        metadata_dir=client_dir / "metadata",
        metadata_base_url=f"{args.url}/metadata/",
        target_dir=client_dir / "targets",
        target_base_url=f"{args.url}/targets/",
        extract_dir=extract,
    )
    try:
        found = client.check_for_updates(pre=args.pre)
    except Exception as error:  # what the application would see: reported, not hidden
        return {"stage": "check", "error": f"{type(error).__name__}: {error}"}
    if found is None:
        return {"found": None}
    downloads = sorted(str(meta) for meta in (client.new_targets or {}))
    client.download_and_apply_update(skip_confirmation=True, install=_install)
    archive = client_dir / "targets" / found.filename
    return {
        "found": str(found.version),
        "downloads": downloads,
        "archive_present": archive.is_file(),
    }


def _repository(work: Path, app: str):
    from tufup.repo import Repository

    os.chdir(work)  # tufup keeps its config file in the working directory
    return Repository(app_name=app, repo_dir=work / "repository", keys_dir=work / "keystore")


def _repo_init(args: argparse.Namespace) -> dict:
    for folder in ("keystore", "repository/metadata", "repository/targets"):
        (args.work / folder).mkdir(parents=True, exist_ok=True)  # else tufup asks on stdin
    repository = _repository(args.work, args.app)
    repository.initialize()
    repository.save_config()
    return {"ok": True}


def _repo_add(args: argparse.Namespace) -> dict:
    from tufup.repo import Repository

    os.chdir(args.work)
    repository = Repository.from_config()
    repository.add_bundle(
        new_bundle_dir=args.bundle, new_version=args.version, required=args.required
    )
    repository.publish_changes(private_key_dirs=[args.work / "keystore"])
    return {"ok": True}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="tufup_child")
    commands = parser.add_subparsers(dest="command", required=True)
    names = commands.add_parser("names")
    names.add_argument("names", nargs="+")
    update = commands.add_parser("update")
    update.add_argument("--app", required=True)
    update.add_argument("--version", required=True)
    update.add_argument("--url", required=True)
    update.add_argument("--client-dir", type=Path, required=True)
    update.add_argument("--pre", default=None)
    init = commands.add_parser("repo-init")
    init.add_argument("--work", type=Path, required=True)
    init.add_argument("--app", required=True)
    add = commands.add_parser("repo-add")
    add.add_argument("--work", type=Path, required=True)
    add.add_argument("--bundle", type=Path, required=True)
    add.add_argument("--version", required=True)
    add.add_argument("--required", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    action = {"names": _names, "update": _update, "repo-init": _repo_init, "repo-add": _repo_add}
    print(json.dumps(action[args.command](args)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
