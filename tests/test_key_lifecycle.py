"""All of it on one repository, and a client that knows only 1.root.json follows: an edited
draft refused by the holder who sees it, a root change signed air-gapped with encrypted keys
and a key on a PKCS#11 token (SoftHSM2), the targets key moved offline to two holders (one on
the token), a release signed by both in separate folders, then a release made the normal way
on the machine is impossible (the targets key is not there) and the online keys still
refresh snapshot and timestamp."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.support.air_gap import files_in, holder_folder, sign_offline
from tests.support.bundles import write_app
from tests.support.install import install_root, run_client
from tests.support.publisher import Publisher, refused, run_tools, set_config, tools_ok
from tests.support.softhsm import SoftToken

PASSPHRASE = "a long holder passphrase"


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REPO_TOOLS_")}
    return {**base, **extra}


def _signed_in_folder(base: Path, name: str, request: Path, key: Path, group: str, env) -> Path:
    folder = holder_folder(base, name, request, key)
    result = sign_offline(folder, group, request.name, key.name, "--yes", env=env)
    assert result.returncode == 0, result.stderr
    (made,) = files_in(folder) - {request.name, key.name}
    return folder / made


def test_a_client_on_root_1_follows_every_key_change_and_offline_release(
    tmp_path: Path, https_server, test_ca
) -> None:
    publisher = Publisher(tmp_path / "pub", init_args=("--root-keys", "3", "--root-threshold", "2"))
    repo, keys = publisher.repo, publisher.keys
    publisher.release("--version", "1.0.0")
    server = https_server(repo)
    client = install_root(tmp_path / "install", publisher, "1.0.0", [server.url], test_ca.ca_file)
    assert trusted_root_version(client) == 1  # it knows only 1.root.json
    vault = tmp_path / "vault"
    shutil.move(keys / "offline", vault)
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n")
    with_passphrase = {"REPO_TOOLS_PASSPHRASE_FILE": str(secret)}
    for number in (1, 2):  # the holders protect their keys
        key = str(vault / f"root-{number}.pem")
        assert (
            run_tools(repo, keys, "encrypt-key", key, env=_env(**with_passphrase)).returncode == 0
        )

    token = SoftToken.make(tmp_path / "hsm", "team-token")
    token.generate(2)
    token.generate(3)
    made = {}
    for key_id, name in ((2, "hana"), (3, "tara")):
        out = tmp_path / f"{name}.signer.json"
        result = run_tools(repo, keys, "keygen", "--token-key", str(key_id), "--holder", name,
                           "--out", str(out), env=token.process_env())  # fmt: skip
        assert result.returncode == 0, result.stderr
        made[name] = out
    targets_file_key = tmp_path / "tom.pem"
    created = run_tools(repo, keys, "keygen", "--holder", "tom", "--out", str(targets_file_key),
                        env=_env(**with_passphrase))  # fmt: skip
    assert created.returncode == 0, created.stderr

    # root 2: Hana (token) joins the root holders; targets goes to Tom and Tara, 2 of 2
    tools_ok(repo, keys, "ceremony", "begin", "--add-root-key", f"{made['hana']}.pub.json",
             "--targets-key", f"{targets_file_key}.pub.json",
             "--targets-key", f"{made['tara']}.pub.json", "--targets-threshold", "2")  # fmt: skip
    # someone edits the draft on the release machine: the first holder sees it and refuses
    draft = repo / "ceremony" / "root.draft.json"
    honest = draft.read_text()
    data = json.loads(honest)
    data["signed"]["expires"] = "2099-01-01T00:00:00Z"
    draft.write_text(json.dumps(data))
    seen = run_tools(repo, keys, "ceremony", "sign", "--key", str(vault / "root-1.pem"),
                     input="n\n", env=_env(**with_passphrase))  # fmt: skip
    assert "expires 2099-01-01" in seen.stdout and "not confirmed" in seen.stderr
    draft.write_text(honest)

    request = tmp_path / "root-request.json"
    shown = tools_ok(repo, keys, "ceremony", "export", "--out", str(request))
    assert "targets: threshold 1 of 1 -> 2 of 2" in shown and "tara" in shown
    gap = tmp_path / "air-gapped"
    signatures = [
        _signed_in_folder(gap, "r1", request, vault / "root-1.pem", "ceremony",
                          _env(**with_passphrase)),
        _signed_in_folder(gap, "r2", request, vault / "root-2.pem", "ceremony",
                          _env(**with_passphrase)),
        _signed_in_folder(gap, "hana", request, made["hana"], "ceremony", token.process_env()),
    ]  # fmt: skip
    tools_ok(repo, keys, "ceremony", "collect", *map(str, signatures))
    # finish signs targets with its new holders' keys, brought to the machine for it
    (keys / "offline").mkdir(mode=0o700)
    for key in (targets_file_key, made["tara"]):
        shutil.copy2(key, keys / "offline" / key.name)
    finished = run_tools(repo, keys, "ceremony", "finish",
                         env=token.process_env(**with_passphrase))  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    shutil.rmtree(keys / "offline")  # the targets holders take their keys home
    set_config(repo, targets_signing="offline")

    # release 1.1.0: held, signed by Tom (file) and Tara (token) in separate folders
    write_app(publisher.bundle, "1.1.0")
    held = run_tools(repo, keys, "release", "--version", "1.1.0", "--bundle", str(publisher.bundle))
    assert held.returncode == 0 and "held in" in held.stderr, held.stderr
    request = tmp_path / "targets-request.json"
    tools_ok(repo, keys, "targets", "export", "--out", str(request))
    signatures = [
        _signed_in_folder(gap, "tom", request, targets_file_key, "targets",
                          _env(**with_passphrase)),
        _signed_in_folder(gap, "tara", request, made["tara"], "targets", token.process_env()),
    ]  # fmt: skip
    tools_ok(repo, keys, "targets", "collect", *map(str, signatures))
    assert tools_ok(repo, keys, "targets", "publish") == "1.1.0"
    refreshed = run_tools(repo, keys, "refresh", "--force")
    assert refreshed.stdout.strip() == "re-signed: snapshot, timestamp"
    refused(refreshed, "2 of its offline holders")
    assert tools_ok(repo, keys, "verify").startswith("ok: root version 2")

    update = run_client(client.root, "update")
    assert update.returncode == 0, update.stderr
    assert client.current_version() == "1.1.0"
    assert trusted_root_version(client) == 2


def trusted_root_version(client) -> int:
    return json.loads((client.metadata_dir / "root.json").read_text())["signed"]["version"]
