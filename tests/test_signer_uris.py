"""Online keys named by a signer URI the publisher configures (`use-signer`): the key file
moves out of the keys folder (a CI secret mounted as a file: `file2:`), releases and refresh
sign through it, and a URI that names another key or no key is refused with nothing written.
The `hsm:` URIs are tested on SoftHSM2 in tests/test_hardware_keys.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support.files import tree_digest
from tests.support.publisher import Publisher, refused, run_tools, tools_ok


def test_an_online_key_from_a_file2_uri_signs_releases_and_refresh(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path / "pub")
    repo, keys = publisher.repo, publisher.keys
    secrets = tmp_path / "run-secrets"
    secrets.mkdir(mode=0o700)
    shutil.move(keys / "online" / "timestamp.pem", secrets / "timestamp.pem")
    shutil.copy2(keys / "online" / "snapshot.pem", secrets / "snapshot.pem")

    before = tree_digest(keys)
    wrong = run_tools(repo, keys, "use-signer", "timestamp", "--uri",
                      f"file2:{secrets / 'snapshot.pem'}")  # fmt: skip
    refused(wrong, "private key does not match public key", "nothing was written")
    missing = run_tools(repo, keys, "use-signer", "timestamp", "--uri",
                        f"file2:{secrets / 'gone.pem'}")  # fmt: skip
    refused(missing, "cannot sign", "nothing was written")
    assert tree_digest(keys) == before

    configured = tools_ok(repo, keys, "use-signer", "timestamp", "--uri",
                          f"file2:{secrets / 'timestamp.pem'}")  # fmt: skip
    assert "timestamp signs with file2:" in configured
    reference = json.loads((keys / "online" / "timestamp.signer.json").read_text())
    root = json.loads((repo / "metadata" / "root.json").read_text())["signed"]
    assert [reference["public_key"]["keyid"]] == root["roles"]["timestamp"]["keyids"]

    publisher.release("--version", "1.0.0")
    assert tools_ok(repo, keys, "refresh", "--force").startswith("re-signed")
    assert tools_ok(repo, keys, "verify").startswith("ok")
    timestamp = json.loads((repo / "metadata" / "timestamp.json").read_text())
    assert [s["keyid"] for s in timestamp["signatures"]] == root["roles"]["timestamp"]["keyids"]
    root_role = run_tools(repo, keys, "use-signer", "root", "--uri", "hsm:")
    assert root_role.returncode == 2 and "'root' is not one of" in root_role.stderr
