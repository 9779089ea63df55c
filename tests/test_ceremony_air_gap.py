"""Air-gapped root signing and passphrase-protected keys: each holder signs in a folder holding
only the signing request and their key (no repository, no network), the signature files come
back and are checked, and a client that knows only 1.root.json follows the new root."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from repo_tools.keys import is_encrypted
from tests.support.air_gap import files_in, holder_folder, sign_offline
from tests.support.files import tree_digest
from tests.support.install import install_root, run_client
from tests.support.publisher import Publisher, refused, run_tools, tools_ok

PASSPHRASE = "correct horse battery staple"


def passphrase_file(folder: Path, text: str = PASSPHRASE) -> dict[str, str]:
    path = folder / "passphrase.txt"
    path.write_text(text + "\n")
    path.chmod(0o600)
    return {"REPO_TOOLS_PASSPHRASE_FILE": str(path)}


@pytest.fixture
def holders(tmp_path: Path) -> tuple[Publisher, Path]:
    """Release 1.0.0 with root keys 2 of 3, the root keys moved to a vault."""
    publisher = Publisher(tmp_path / "pub", init_args=("--root-keys", "3", "--root-threshold", "2"))
    publisher.release("--version", "1.0.0")
    vault = tmp_path / "vault"
    shutil.move(publisher.keys / "offline", vault)
    return publisher, vault


def test_holders_sign_in_separate_folders_with_only_the_request_and_their_key(
    holders, tmp_path: Path, https_server, test_ca
) -> None:
    publisher, vault = holders
    repo, keys = publisher.repo, publisher.keys
    server = https_server(repo)
    client = install_root(tmp_path / "install", publisher, "1.0.0", [server.url], test_ca.ca_file)

    # a new holder, whose key is encrypted (the default), joins; targets gets a new key
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    dana_env = passphrase_file(secrets)
    created = run_tools(repo, keys, "keygen", "--holder", "Dana", "--out",
                        str(tmp_path / "dana.pem"), env=_env(dana_env))  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert is_encrypted((tmp_path / "dana.pem").read_bytes())
    tools_ok(repo, keys, "ceremony", "begin", "--rotate", "targets",
             "--add-root-key", str(tmp_path / "dana.pem.pub.json"))  # fmt: skip
    request = tmp_path / "request.json"
    exported = tools_ok(repo, keys, "ceremony", "export", "--out", str(request))
    assert "Dana" in exported

    signatures = []
    for name, key, env in (
        ("holder-1", vault / "root-1.pem", {}),
        ("holder-2", vault / "root-2.pem", {}),
        ("dana", tmp_path / "dana.pem", dana_env),
    ):
        folder = holder_folder(tmp_path / "air-gapped", name, request, key)
        result = sign_offline(folder, "ceremony", request.name, key.name, env=env, answer="y\n")
        assert result.returncode == 0, result.stderr
        assert "+ added" in result.stdout and "(ed25519, Dana)" in result.stdout
        (made,) = files_in(folder) - {request.name, key.name}  # nothing else was written
        assert made.endswith(".sig.json")
        signatures.append(folder / made)

    collected = tools_ok(repo, keys, "ceremony", "collect", *map(str, signatures))
    assert "added 3 signature(s)" in collected
    assert "2/2 signatures from the current root keys, 3/2 from the new" in collected
    tools_ok(repo, keys, "ceremony", "finish")
    assert tools_ok(repo, keys, "verify").startswith("ok: root version 2")

    publisher.release("--version", "1.1.0")  # signed by the rotated targets key
    update = run_client(client.root, "update")
    assert update.returncode == 0, update.stderr
    assert client.current_version() == "1.1.0"


def _env(extra: dict[str, str]) -> dict[str, str]:
    import os

    return {**{k: v for k, v in os.environ.items() if not k.startswith("REPO_TOOLS_")}, **extra}


def test_a_signature_over_an_altered_request_or_by_an_outsider_is_not_collected(
    holders, tmp_path: Path
) -> None:
    publisher, vault = holders
    repo, keys = publisher.repo, publisher.keys
    tools_ok(repo, keys, "ceremony", "begin", "--rotate", "snapshot")
    request = tmp_path / "request.json"
    tools_ok(repo, keys, "ceremony", "export", "--out", str(request))
    # the request is altered on its way: another expiry; the holder signs what they see
    altered = tmp_path / "altered" / "request.json"
    altered.parent.mkdir()
    altered.write_text(request.read_text().replace('"expires": "20', '"expires": "21', 1))
    folder = holder_folder(tmp_path / "air-gapped", "h1", altered, vault / "root-1.pem")
    signed = sign_offline(folder, "ceremony", "request.json", "root-1.pem", "--yes")
    assert signed.returncode == 0, signed.stderr
    assert "expires 21" in signed.stdout and "WARNING" in signed.stdout
    (sig,) = folder.glob("*.sig.json")
    before = tree_digest(repo)
    refused(run_tools(repo, keys, "ceremony", "collect", str(sig)),
            "not the root draft here", "altered request", "Nothing was added")  # fmt: skip
    # an outsider's key cannot sign the true request at all
    tools_ok(repo, keys, "keygen", "--no-encrypt", "--out", str(tmp_path / "outsider.pem"))
    folder = holder_folder(tmp_path / "air-gapped", "out", request, tmp_path / "outsider.pem")
    result = sign_offline(folder, "ceremony", "request.json", "outsider.pem", "--yes")
    refused(result, "is not a root key of the current or the new root", "nothing was signed")
    assert files_in(folder) == {"request.json", "outsider.pem"}
    assert tree_digest(repo) == before


def test_encrypted_keys_wrong_passphrase_is_a_clear_error_and_nothing_is_written(
    holders, tmp_path: Path
) -> None:
    publisher, vault = holders
    repo, keys = publisher.repo, publisher.keys
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    env = passphrase_file(secrets)
    key = tmp_path / "erin.pem"
    short = run_tools(repo, keys, "keygen", "--out", str(key), env=_env(passphrase_file(
        tmp_path, "short")))  # fmt: skip
    refused(short, "too short")
    assert not key.exists() and not Path(str(key) + ".pub.json").exists()
    no_way = run_tools(repo, keys, "keygen", "--out", str(key), env=_env({}))
    refused(no_way, "needs a passphrase", "REPO_TOOLS_PASSPHRASE_FILE", "never taken from the")
    assert not key.exists()
    assert run_tools(repo, keys, "keygen", "--out", str(key), env=_env(env)).returncode == 0
    pem = key.read_bytes()
    assert is_encrypted(pem) and b"ENCRYPTED" in pem

    tools_ok(repo, keys, "ceremony", "begin", "--add-root-key", str(key) + ".pub.json")
    request = tmp_path / "request.json"
    tools_ok(repo, keys, "ceremony", "export", "--out", str(request))
    folder = holder_folder(tmp_path / "air-gapped", "erin", request, key)
    wrong = passphrase_file(tmp_path / "air-gapped", "not the passphrase")
    result = sign_offline(folder, "ceremony", "request.json", key.name, "--yes", env=wrong)
    refused(result, "wrong passphrase for private key", "nothing was signed or written")
    assert files_in(folder) == {"request.json", key.name}
    none = sign_offline(folder, "ceremony", "request.json", key.name, "--yes")
    refused(none, "needs a passphrase")
    # on the repository machine too: the draft stays unsigned
    before = tree_digest(repo)
    on_repo = run_tools(repo, keys, "ceremony", "sign", "--yes", "--key", str(key),
                        env=_env(wrong))  # fmt: skip
    refused(on_repo, "wrong passphrase")
    assert tree_digest(repo) == before
    right = sign_offline(folder, "ceremony", "request.json", key.name, "--yes", env=env)
    assert right.returncode == 0, right.stderr


def test_online_keys_encrypted_in_place_sign_with_the_passphrase_from_a_file(
    tmp_path: Path,
) -> None:
    publisher = Publisher(tmp_path / "pub")
    repo, keys = publisher.repo, publisher.keys
    env = passphrase_file(tmp_path)
    for role in ("targets", "snapshot", "timestamp"):
        tools_ok_env = run_tools(repo, keys, "encrypt-key", str(keys / "online" / f"{role}.pem"),
                                 env=_env(env))  # fmt: skip
        assert tools_ok_env.returncode == 0, tools_ok_env.stderr
        assert is_encrypted((keys / "online" / f"{role}.pem").read_bytes())
    again = run_tools(
        repo, keys, "encrypt-key", str(keys / "online" / "targets.pem"), env=_env(env)
    )
    refused(again, "already encrypted")
    before = tree_digest(repo)
    wrong = run_tools(repo, keys, "refresh", "--force", env=_env(passphrase_file(tmp_path / "pub",
                      "wrong wrong wrong")))  # fmt: skip
    refused(wrong, "wrong passphrase")
    assert tree_digest(repo) == before
    shutil.rmtree(keys / "offline")  # root is not due; refresh needs the online keys alone
    publisher.bundle.mkdir(exist_ok=True)
    from tests.support.bundles import write_app

    write_app(publisher.bundle, "encrypted")
    released = run_tools(repo, keys, "release", "--version", "1.0.0", "--bundle",
                         str(publisher.bundle), env=_env(env))  # fmt: skip
    assert released.returncode == 0, released.stderr
    assert tools_ok(repo, keys, "verify").startswith("ok")


def test_a_holder_types_the_passphrase_at_a_prompt_that_does_not_echo(
    holders, tmp_path: Path
) -> None:
    import sys

    from tests.support.terminal import run_in_terminal

    publisher, _ = holders
    repo, keys = publisher.repo, publisher.keys
    typed = "typed at the terminal"
    env = _env({})
    command = [sys.executable, "-m", "repo_tools", "--repo", str(repo), "--keys", str(keys)]
    code, shown = run_in_terminal(
        [*command, "keygen", "--holder", "Fay", "--out", str(tmp_path / "fay.pem")],
        [("new passphrase for private key", typed), ("Repeat for confirmation", typed)],
        env,
        tmp_path,
    )
    assert code == 0, shown
    assert typed not in shown  # nothing echoed
    assert is_encrypted((tmp_path / "fay.pem").read_bytes())

    tools_ok(repo, keys, "ceremony", "begin", "--add-root-key", str(tmp_path / "fay.pem.pub.json"))
    request = tmp_path / "request.json"
    tools_ok(repo, keys, "ceremony", "export", "--out", str(request))
    folder = holder_folder(tmp_path / "air-gapped", "fay", request, tmp_path / "fay.pem")
    signing = [sys.executable, "-m", "repo_tools", "ceremony", "sign", "--request",
               "request.json", "--key", "fay.pem"]  # fmt: skip
    code, shown = run_in_terminal(
        signing,
        [("sign exactly this?", "y"), ("passphrase for private key fay.pem", "wrong words here")],
        env,
        folder,
    )
    assert code == 1 and "wrong passphrase for private key fay.pem" in shown, shown
    assert files_in(folder) == {"request.json", "fay.pem"}
    code, shown = run_in_terminal(
        signing, [("sign exactly this?", "y"), ("passphrase for private key", typed)], env, folder
    )
    assert code == 0, shown
    assert "(ed25519, Fay)" in shown and typed not in shown
    assert len(files_in(folder)) == 3


def test_an_encrypted_key_is_decrypted_only_when_it_signs(tmp_path: Path) -> None:
    """An encrypted root key left in keys/offline/ does not stop a release (the online keys
    sign it; no passphrase is asked for), and is asked for when root is to be signed."""
    publisher = Publisher(tmp_path / "pub")
    repo, keys = publisher.repo, publisher.keys
    root_key = keys / "offline" / "root-1.pem"
    env = passphrase_file(tmp_path)
    assert run_tools(repo, keys, "encrypt-key", str(root_key), env=_env(env)).returncode == 0
    assert (keys / "offline" / "root-1.pem.pub.json").exists()
    from tests.support.bundles import write_app

    write_app(publisher.bundle, "deferred")
    released = run_tools(repo, keys, "release", "--version", "1.0.0", "--bundle",
                         str(publisher.bundle), env=_env({}))  # fmt: skip
    assert released.returncode == 0, released.stderr
    before = tree_digest(repo)
    refused(run_tools(repo, keys, "refresh", "--force", env=_env({})), "needs a passphrase")
    assert tree_digest(repo) == before
    refreshed = run_tools(repo, keys, "refresh", "--force", env=_env(env))
    assert refreshed.returncode == 0 and "root" in refreshed.stdout, refreshed.stderr
