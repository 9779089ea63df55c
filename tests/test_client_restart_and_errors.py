"""restart() re-executes the app from the new version; clear error messages for bad servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from tuf.api.metadata import Metadata

from client import UpdateError, Updater
from repo_tools.keys import load as load_key
from tests.support.bundles import write_app
from tests.support.install import install_root
from tests.support.publisher import Publisher, release_bundle

RESTARTING_APP = """\
import json, os, pathlib, sys
here = pathlib.Path(__file__).resolve().parent
version = json.loads((here / '.update' / 'release.json').read_text())['version']
print('app', version, *sys.argv[1:], flush=True)
if os.environ.get('DO_RESTART') == version:
    from client import Updater
    Updater.from_config().restart()  # finds its install root from its own location
"""


def test_restart_runs_the_new_version(tmp_path, https_server, test_ca) -> None:
    publisher = Publisher(tmp_path / "pub")
    for args in (("--version", "1.0.0"), ("--bump", "patch")):
        write_app(publisher.bundle, " ".join(args))
        (publisher.bundle / "app.py").write_text(RESTARTING_APP)
        release_bundle(publisher.repo, publisher.keys, publisher.bundle, *args)
    server = https_server(publisher.repo)
    layout = install_root(tmp_path / "install", publisher, "1.0.0", [server.url], test_ca.ca_file)
    assert Updater.from_config(install_root=layout.root).update() == "1.0.1"
    result = subprocess.run(
        [sys.executable, str(layout.version_dir("1.0.0") / "app.py"), "--x"],
        capture_output=True,
        text=True,
        env={**os.environ, "DO_RESTART": "1.0.0"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["app 1.0.0 --x", "app 1.0.1 --x"]


def _expire_timestamp(publisher: Publisher) -> str:
    path = publisher.repo / "metadata" / "timestamp.json"
    md = Metadata.from_file(str(path))
    md.signed.version += 1
    md.signed.expires = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    md.signatures.clear()
    md.sign(load_key(publisher.keys / "online" / "timestamp.pem").signer)
    md.to_file(str(path))
    return md.signed.expires.strftime("%Y-%m-%d")


def test_expired_metadata_names_the_date_and_the_fix(installed_app) -> None:
    publisher, layout, root = installed_app.publisher, installed_app.layout, installed_app.root
    publisher.release("--bump", "patch")
    date = _expire_timestamp(publisher)
    updater = Updater.from_config(install_root=root)
    errors = []
    updater.on_event(lambda e: errors.append(e) if e.kind == "error" else None)
    with pytest.raises(UpdateError) as caught:
        updater.update()
    assert caught.value.kind == "expired"
    assert date in caught.value.message and "repo-tools refresh" in caught.value.message
    assert errors and errors[0].message == caught.value.message
    assert layout.current_version() == "1.0.0"
    record = updater.history()[-1]
    assert record["result"] == "failed" and "repo-tools refresh" in record["error"]


def test_unreachable_server_message(tmp_path, https_server, test_ca) -> None:
    publisher = Publisher(tmp_path / "pub")
    publisher.release("--version", "1.0.0")
    server = https_server(publisher.repo)
    url = server.url
    server.close()
    root = tmp_path / "install"
    install_root(root, publisher, "1.0.0", [url], test_ca.ca_file)
    with pytest.raises(UpdateError, match="update server unreachable") as caught:
        Updater.from_config(install_root=root).check()
    assert caught.value.kind == "unreachable" and "127.0.0.1" in caught.value.message


def test_signature_failure_message(tmp_path, https_server, test_ca) -> None:
    publisher = Publisher(tmp_path / "pub")
    publisher.release("--version", "1.0.0")
    server = https_server(publisher.repo)
    root = tmp_path / "install"
    install_root(root, publisher, "1.0.0", [server.url], test_ca.ca_file)
    path = publisher.repo / "metadata" / "timestamp.json"
    data = json.loads(path.read_text())
    data["signed"]["version"] += 5  # changed without re-signing
    path.write_text(json.dumps(data))
    with pytest.raises(UpdateError, match="signature verification failed") as caught:
        Updater.from_config(install_root=root).check()
    assert caught.value.kind == "signature"
