"""Keys on a PKCS#11 token (SoftHSM2, a real PKCS#11 implementation) through securesystemslib's
HSM signer: a root holder whose key is on a token signs root changes (air-gapped and on the
release machine), a release is signed by a targets key on a token, and a client installed
with root 1 follows all of it. Skipped without softhsm2 on a developer's machine, fails in CI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.air_gap import files_in, holder_folder, sign_offline
from tests.support.files import tree_digest
from tests.support.install import install_root, run_client
from tests.support.publisher import Publisher, published_digest, refused, run_tools, tools_ok
from tests.support.softhsm import SoftToken


def root_of(repo: Path) -> dict:
    return json.loads((repo / "metadata" / "root.json").read_text())["signed"]


@pytest.fixture
def installed(tmp_path: Path, https_server, test_ca):
    """Release 1.0.0 of a repository with root keys 2 of 2, installed from its archive."""
    publisher = Publisher(tmp_path / "pub", init_args=("--root-keys", "2", "--root-threshold", "2"))
    publisher.release("--version", "1.0.0")
    server = https_server(publisher.repo)
    client = install_root(tmp_path / "install", publisher, "1.0.0", [server.url], test_ca.ca_file)
    return publisher, client


def token_key(token: SoftToken, key_id: int, out: Path, holder: str, publisher: Publisher) -> dict:
    """`keygen --token-key` for a key made on the token: its public key document."""
    token.generate(key_id)
    result = run_tools(publisher.repo, publisher.keys, "keygen", "--token-key", str(key_id),
                       "--token-label", token.label, "--holder", holder, "--out", str(out),
                       env=token.process_env())  # fmt: skip
    assert result.returncode == 0, result.stderr
    reference = json.loads(out.read_text())
    assert reference["uri"] == f"hsm:{key_id}?label={token.label}"
    assert "PRIVATE" not in out.read_text().upper()
    return reference["public_key"]


def test_a_root_holder_on_a_token_signs_root_changes_and_clients_follow(
    installed, tmp_path: Path
) -> None:
    publisher, client = installed
    repo, keys = publisher.repo, publisher.keys
    token = SoftToken.make(tmp_path / "hsm", "holder-hana")
    hana = tmp_path / "hana.signer.json"
    public = token_key(token, 2, hana, "Hana", publisher)
    assert public["scheme"] == "ecdsa-sha2-nistp256"
    old_ids = root_of(repo)["roles"]["root"]["keyids"]
    root_2 = next(k for k in old_ids if root_of(repo)["keys"][k][
        "x-repo-tools-holder"] == "root-2")  # fmt: skip

    # root 2: Hana's token key replaces root-2 (the current holders sign the hand-over)
    tools_ok(repo, keys, "ceremony", "begin", "--add-root-key", f"{hana}.pub.json",
             "--remove-root-key", root_2)  # fmt: skip
    request = tmp_path / "request.json"
    tools_ok(repo, keys, "ceremony", "export", "--out", str(request))
    folder = holder_folder(tmp_path / "air-gapped", "hana", request, hana)
    signed = sign_offline(folder, "ceremony", "request.json", hana.name, answer="y\n",
                          env=token.env)  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert f"+ added   {public['keyid']} (ecdsa, Hana)" in signed.stdout
    (signature,) = files_in(folder) - {"request.json", hana.name}
    tools_ok(repo, keys, "ceremony", "collect", str(folder / signature))
    for number in (1, 2):
        tools_ok(repo, keys, "ceremony", "sign", "--yes", "--key",
                 str(keys / "offline" / f"root-{number}.pem"))  # fmt: skip
    tools_ok(repo, keys, "ceremony", "finish")
    assert public["keyid"] in root_of(repo)["roles"]["root"]["keyids"]
    (keys / "offline" / "root-2.pem").unlink()  # root-2 is no longer a root key

    # root 3 (a timestamp rotation) needs root-1 AND Hana's token: a wrong PIN signs nothing
    tools_ok(repo, keys, "ceremony", "begin", "--rotate", "timestamp")
    tools_ok(repo, keys, "ceremony", "sign", "--yes", "--key", str(keys / "offline" / "root-1.pem"))
    wrong_pin = tmp_path / "wrong-pin.txt"
    wrong_pin.write_text("000000\n")
    before = tree_digest(repo)
    wrong = run_tools(repo, keys, "ceremony", "sign", "--yes", "--key", str(hana),
                      env=token.process_env(REPO_TOOLS_PIN_FILE=str(wrong_pin)))  # fmt: skip
    refused(wrong, "could not sign", "Nothing was signed")
    assert tree_digest(repo) == before
    right = run_tools(repo, keys, "ceremony", "sign", "--yes", "--key", str(hana),
                      env=token.process_env())  # fmt: skip
    assert right.returncode == 0 and "2/2 signatures from the current root" in right.stdout
    tools_ok(repo, keys, "ceremony", "finish")
    assert root_of(repo)["version"] == 3

    publisher.release("--version", "1.1.0")
    update = run_client(client.root, "update")
    assert update.returncode == 0, update.stderr
    assert client.current_version() == "1.1.0"


def test_a_release_signed_by_a_targets_key_on_a_token(installed, tmp_path: Path) -> None:
    publisher, client = installed
    repo, keys = publisher.repo, publisher.keys
    token = SoftToken.make(tmp_path / "hsm", "release-token")
    reference = tmp_path / "targets.signer.json"
    public = token_key(token, 3, reference, "release token", publisher)
    tools_ok(repo, keys, "ceremony", "begin", "--targets-key", f"{reference}.pub.json")
    shutil.copyfile(reference, keys / "online" / "targets.signer.json")  # the publisher's setting
    for number in (1, 2):
        tools_ok(repo, keys, "ceremony", "sign", "--yes", "--key",
                 str(keys / "offline" / f"root-{number}.pem"))  # fmt: skip
    finished = run_tools(repo, keys, "ceremony", "finish", env=token.process_env())
    assert finished.returncode == 0, finished.stderr
    assert root_of(repo)["roles"]["targets"]["keyids"] == [public["keyid"]]
    assert not (keys / "online" / "targets.pem").exists()  # retired: root no longer names it
    assert list((keys / "retired").glob("targets-*.pem"))

    # without the token's library nothing is signed or published
    publisher.bundle.mkdir(exist_ok=True)
    from tests.support.bundles import write_app

    write_app(publisher.bundle, "1.1.0")
    served = published_digest(repo)
    no_token = run_tools(repo, keys, "release", "--version", "1.1.0", "--bundle",
                         str(publisher.bundle),
                         env=token.process_env(PYKCS11LIB=""))  # fmt: skip
    refused(no_token, "could not sign targets")
    assert published_digest(repo) == served
    released = run_tools(repo, keys, "release", "--version", "1.1.0", "--bundle",
                         str(publisher.bundle), env=token.process_env())  # fmt: skip
    assert released.returncode == 0, released.stderr
    targets = json.loads((repo / "metadata" / "targets.json").read_text())
    assert [s["keyid"] for s in targets["signatures"]] == [public["keyid"]]
    update = run_client(client.root, "update")
    assert update.returncode == 0, update.stderr
    assert client.current_version() == "1.1.0"
