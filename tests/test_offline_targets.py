"""Releases signed offline by two targets holders: prepared on the release machine, signed in
folders holding only the signing request and one key, published after the signatures are
checked; online keys keep snapshot and timestamp fresh; an installed client follows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.air_gap import files_in, holder_folder, sign_offline
from tests.support.bundles import write_app
from tests.support.files import tree_digest
from tests.support.install import install_root, run_client
from tests.support.publisher import Publisher, published_digest, refused, run_tools, tools_ok

TWO_OF_TWO = ("--root-keys", "2", "--root-threshold", "2", "--targets-keys", "2",
              "--targets-threshold", "2")  # fmt: skip


@pytest.fixture
def offline(tmp_path: Path) -> tuple[Publisher, Path]:
    """A repository whose targets keys (2 of 2) and root keys live in a vault."""
    publisher = Publisher(tmp_path / "pub", init_args=TWO_OF_TWO)
    keys = publisher.keys
    assert not (keys / "online" / "targets.pem").exists()
    assert json.loads((publisher.repo / "repo-tools.json").read_text())["targets_signing"] == (
        "offline"
    )
    vault = tmp_path / "vault"
    shutil.move(keys / "offline", vault)
    return publisher, vault


def prepare(publisher: Publisher, version: str) -> str:
    write_app(publisher.bundle, version)
    result = run_tools(publisher.repo, publisher.keys, "release", "--version", version,
                       "--bundle", str(publisher.bundle))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "held in" in result.stderr and "nothing published" in result.stderr
    return result.stdout.strip()


def sign_by_holders(publisher: Publisher, vault: Path, base: Path, *holders: str) -> list[Path]:
    base.mkdir(parents=True, exist_ok=True)
    request = base / "targets-request.json"
    tools_ok(publisher.repo, publisher.keys, "targets", "export", "--out", str(request))
    made = []
    for holder in holders:
        folder = holder_folder(base / "air-gapped", holder, request, vault / f"{holder}.pem")
        result = sign_offline(folder, "targets", request.name, f"{holder}.pem", answer="y\n")
        assert result.returncode == 0, result.stderr
        assert "targets version" in result.stdout
        (signature,) = files_in(folder) - {request.name, f"{holder}.pem"}
        made.append(folder / signature)
    return made


def test_two_holders_sign_a_release_offline_and_a_client_updates(
    offline, tmp_path: Path, https_server, test_ca
) -> None:
    publisher, vault = offline
    repo, keys = publisher.repo, publisher.keys
    served = published_digest(repo)
    assert prepare(publisher, "1.0.0") == "1.0.0"
    assert published_digest(repo) == served  # held, not published
    again = run_tools(repo, keys, "release", "--version", "1.0.1", "--bundle",
                      str(publisher.bundle))  # fmt: skip
    refused(again, "a release is waiting for the targets holders")

    status = tools_ok(repo, keys, "targets", "status")
    assert "demo-1.0.0.tar.gz" in status and "0/2 signatures" in status
    one = sign_by_holders(publisher, vault, tmp_path / "first", "targets-1")
    tools_ok(repo, keys, "targets", "collect", *map(str, one))
    early = run_tools(repo, keys, "targets", "publish")
    refused(early, "not enough signatures yet", "1/2 signatures from the targets keys")
    assert published_digest(repo) == served

    # the second holder signs here, on the release machine, with their key brought along
    signed = run_tools(repo, keys, "targets", "sign", "--yes", "--key",
                       str(vault / "targets-2.pem"))  # fmt: skip
    assert signed.returncode == 0 and "2/2 signatures" in signed.stdout, signed.stderr
    assert "ready to publish" in tools_ok(repo, keys, "targets", "status")
    assert tools_ok(repo, keys, "targets", "publish") == "1.0.0"
    assert not (repo / "pending-release").exists()
    assert tools_ok(repo, keys, "verify").startswith("ok")

    # installed from 1.0.0 (root 1); 1.1.0 signed offline by both holders reaches it
    server = https_server(repo)
    client = install_root(tmp_path / "install", publisher, "1.0.0", [server.url], test_ca.ca_file)
    prepare(publisher, "1.1.0")
    both = sign_by_holders(publisher, vault, tmp_path / "second", "targets-1", "targets-2")
    tools_ok(repo, keys, "targets", "collect", *map(str, both))
    tools_ok(repo, keys, "targets", "publish")
    # the online keys alone keep snapshot and timestamp fresh
    refreshed = run_tools(repo, keys, "refresh", "--force")
    assert refreshed.stdout.strip() == "re-signed: snapshot, timestamp"
    refused(refreshed, "targets expires", "2 of its offline holders", "targets renew")
    # the holders re-sign targets itself (nothing else changes) when it nears expiry
    tools_ok(repo, keys, "targets", "renew")
    assert "no target file changes" in tools_ok(repo, keys, "targets", "status")
    renewal = sign_by_holders(publisher, vault, tmp_path / "renew", "targets-1", "targets-2")
    tools_ok(repo, keys, "targets", "collect", *map(str, renewal))
    assert "(renewed)" in tools_ok(repo, keys, "targets", "publish")
    update = run_client(client.root, "update")
    assert update.returncode == 0, update.stderr
    assert client.current_version() == "1.1.0"


def test_a_held_release_changed_after_signing_is_not_published(offline, tmp_path: Path) -> None:
    publisher, vault = offline
    repo, keys = publisher.repo, publisher.keys
    prepare(publisher, "1.0.0")
    signatures = sign_by_holders(publisher, vault, tmp_path / "h", "targets-1", "targets-2")
    draft = repo / "pending-release" / "targets.draft.json"
    data = json.loads(draft.read_text())
    name = "demo-1.0.0.tar.gz"
    data["signed"]["targets"][name]["length"] += 1  # swapped for another file
    draft.write_text(json.dumps(data))
    refused(run_tools(repo, keys, "targets", "collect", *map(str, signatures)),
            "altered request", "Nothing was added")  # fmt: skip
    refused(run_tools(repo, keys, "targets", "publish"), "0/2 signatures")
    # a root key is no targets key
    root_signed = run_tools(repo, keys, "targets", "sign", "--yes", "--key",
                            str(vault / "root-1.pem"))  # fmt: skip
    refused(root_signed, "is not a targets key")
    before = tree_digest(repo)
    tools_ok(repo, keys, "targets", "abort")
    assert not (repo / "pending-release").exists()
    assert published_digest(repo) == {
        k: v for k, v in before.items() if k.startswith(("metadata/", "targets/"))
    }


def test_a_held_file_changed_while_the_holders_signed_is_not_published(
    offline, tmp_path: Path
) -> None:
    publisher, vault = offline
    repo, keys = publisher.repo, publisher.keys
    prepare(publisher, "1.0.0")
    signatures = sign_by_holders(publisher, vault, tmp_path / "h", "targets-1", "targets-2")
    tools_ok(repo, keys, "targets", "collect", *map(str, signatures))
    (archive,) = (repo / "pending-release" / "targets").glob("*.demo-1.0.0.tar.gz")
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    served = published_digest(repo)
    refused(run_tools(repo, keys, "targets", "publish"),
            "does not verify as clients would see it", "nothing was published")  # fmt: skip
    assert published_digest(repo) == served
    assert (repo / "pending-release").exists()  # kept: abort it, or restore the file
