"""Publish one bundle with stock tufup: ``python -m bench.stock.publish WORK BUNDLE VERSION APP``.

``tufup.repo.Repository`` with its defaults, in WORK (tufup keeps its configuration file in the
working directory): ``initialize``, ``add_bundle`` of BUNDLE as VERSION, ``publish_changes``.
The repository lands in WORK/repo (metadata/, targets/), the keys in WORK/keys. Prints
``{"repo": "<path>"}``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path


def publish(work: Path, bundle: Path, version: str, app: str) -> Path:
    from tufup.repo import Repository

    logging.disable(logging.CRITICAL)  # tufup logs every step
    os.chdir(work)
    repository = Repository(app_name=app, repo_dir=work / "repo", keys_dir=work / "keys")
    repository.initialize()
    repository.add_bundle(new_bundle_dir=bundle, new_version=version)
    repository.publish_changes(private_key_dirs=[work / "keys"])
    return work / "repo"


def main(argv: list[str]) -> None:
    if len(argv) != 4:
        raise SystemExit("usage: python -m bench.stock.publish WORK BUNDLE VERSION APP")
    work, bundle, version, app = argv
    repo = publish(Path(work).resolve(), Path(bundle).resolve(), version, app)
    print(json.dumps({"repo": str(repo)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
