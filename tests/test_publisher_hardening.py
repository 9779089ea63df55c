"""What a hostile tester found on the publisher's side, attacked through the real CLI.

1. A release could publish the private keys (`--bundle .` with the README's layout): now the
   keys folder, the repository folder and private key material are refused, and litter is
   left out by `bundle_exclude`.
2. `init --force` on a repository in use deleted its keys and bricked every installed client:
   now refused without a loud flag, and old keys are always kept in `keys/retired/<time>/`.
3. Security checks whose removal no test noticed: a release publishing although its own
   verification failed, a ceremony publishing a root only the new holders signed.

Every refusal is checked the same way: exit 1, one `error:` line naming the problem and what
to do, no traceback, the repository (and keys, and the publish folder) byte for byte as before.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from client.archive import write_bundle_tar
from client.layout import Layout
from repo_tools.bundle_rules import DEFAULT_BUNDLE_EXCLUDE, ExclusionRule
from repo_tools.ceremony import read_public_key
from repo_tools.keys import load as load_key
from tests.support.bundles import make_bundle, write_app
from tests.support.files import tree_digest
from tests.support.install import install_root, run_client
from tests.support.publisher import (
    Publisher,
    publish_next_root,
    published_digest,
    refused,
    run_tools,
    set_config,
    tools_ok,
)

LOUD_FLAG = "--force-new-trust-root-breaking-every-installed-client"


def archive_members(publisher: Publisher, version: str) -> tuple[list[str], bytes]:
    """The member names of a published full archive and its uncompressed tar bytes."""
    data = publisher.archive(version).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = tar.getnames()
    return names, gzip.decompress(data)


def release(publisher: Publisher, bundle: Path, *args: str) -> subprocess.CompletedProcess:
    """`repo-tools release --bundle BUNDLE ARGS...` on the publisher's repository and keys."""
    return run_tools(publisher.repo, publisher.keys, "release", "--bundle", str(bundle), *args)


def released(publisher: Publisher, bundle: Path, *args: str) -> str:
    """The same, which must succeed: the version it printed."""
    result = release(publisher, bundle, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def signed_archive_info(repo: Path, name: str) -> dict:
    targets = json.loads((repo / "metadata" / "targets.json").read_text())["signed"]["targets"]
    return targets[name]["custom"]["updater"]


# -- 1. the bundle: keys, repository, private key material, litter -------------------------


@pytest.fixture
def project(tmp_path: Path) -> Publisher:
    """The README's layout: the application, `keys/` and `repository/` in one project folder
    under git (keys/ ignored), released with `--bundle .`."""
    folder = tmp_path / "project"
    folder.mkdir()
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    (folder / ".gitignore").write_text("keys/\n")
    write_app(folder, "project")
    tools_ok(folder / "repository", folder / "keys", "init", "--app-name", "demo")
    publisher = Publisher.of(folder / "repository", folder / "keys")
    publisher.bundle = folder
    return publisher


def test_a_release_of_the_readme_layout_refuses_to_publish_the_keys_and_the_repository(
    project: Publisher,
) -> None:
    repo, keys, folder = project.repo, project.keys, project.bundle
    before, keys_before = tree_digest(repo), tree_digest(keys)
    for args in (("--bump", "minor"), ("--bump", "minor", "--dry-run")):
        result = run_tools(repo, keys, "release", "--bundle", str(folder), *args)
        refused(result, "contains the keys folder (keys/", "private signing keys", '"keys/"')
    inside = release(project, keys / "online", "--bump", "minor")
    refused(inside, "is inside the keys folder", "give --bundle the folder your build writes")
    assert tree_digest(repo) == before and tree_digest(keys) == keys_before
    assert not list((repo / "targets").iterdir())

    set_config(repo, bundle_exclude=[*DEFAULT_BUNDLE_EXCLUDE, "keys/"])
    before = tree_digest(repo)
    result = release(project, folder, "--bump", "minor")
    refused(result, "contains the repository folder (repository/", '"repository/"')
    assert tree_digest(repo) == before

    set_config(repo, bundle_exclude=[*DEFAULT_BUNDLE_EXCLUDE, "/keys/", "/repository/"])
    before = tree_digest(repo)
    plan = release(project, folder, "--bump", "minor", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert "keys/ (/keys/)" in plan.stderr and "repository/ (/repository/)" in plan.stderr
    assert ".git/ (.git/)" in plan.stderr and "secret scan:  passed" in plan.stderr
    assert tree_digest(repo) == before  # a dry run changes nothing

    assert released(project, folder, "--bump", "minor") == "0.1.0"
    names, tar = archive_members(project, "0.1.0")
    assert "app.py" in names and ".update/root.json" in names
    assert not [n for n in names if n.split("/")[0] in ("keys", "repository", ".git")]
    assert b"PRIVATE KEY" not in tar


def _pem(key: object, private_format: serialization.PrivateFormat, password: bytes = b"") -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, private_format, encryption)  # type: ignore[attr-defined]


def _raw_hex(key: ed25519.Ed25519PrivateKey) -> tuple[str, str]:
    raw = serialization.Encoding.Raw
    private = key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    public = key.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    return public.hex(), private.hex()


def _tufup_key() -> bytes:
    """A securesystemslib (tufup) unencrypted JSON key file, as tufup's keys folder holds."""
    public, private = _raw_hex(ed25519.Ed25519PrivateKey.generate())
    data = {
        "keytype": "ed25519",
        "scheme": "ed25519",
        "keyid_hash_algorithms": ["sha256", "sha512"],
        "keyval": {"public": public, "private": private},
    }
    return json.dumps(data).encode()


def _jwk() -> bytes:
    public, private = _raw_hex(ed25519.Ed25519PrivateKey.generate())

    def b64(text: str) -> str:
        return base64.urlsafe_b64encode(bytes.fromhex(text)).rstrip(b"=").decode()

    return json.dumps(
        {"kty": "OKP", "crv": "Ed25519", "x": b64(public), "d": b64(private)}
    ).encode()


def _deep_in_a_large_file() -> bytes:
    """6 MB of data with a PEM key whose header straddles the 4th MiB boundary."""
    key = _pem(ed25519.Ed25519PrivateKey.generate(), serialization.PrivateFormat.PKCS8)
    start = 4 * (1 << 20) - 13
    return bytes(start) + key + bytes(6_000_000 - start - len(key))


KEY_MATERIAL = {
    "our-key-file": ("conf/deploy.pem", None),  # a copy of the repository's own targets key
    "rsa-traditional": (
        "certs/server.key",
        lambda: _pem(
            rsa.generate_private_key(65537, 2048), serialization.PrivateFormat.TraditionalOpenSSL
        ),
    ),
    "ec-sec1": (
        "ec.pem",
        lambda: _pem(
            ec.generate_private_key(ec.SECP256R1()), serialization.PrivateFormat.TraditionalOpenSSL
        ),
    ),
    "openssh": (
        ".ssh/id_ed25519",
        lambda: _pem(ed25519.Ed25519PrivateKey.generate(), serialization.PrivateFormat.OpenSSH),
    ),
    "encrypted-pkcs8": (
        "lib/signing.pem",
        lambda: _pem(
            ed25519.Ed25519PrivateKey.generate(), serialization.PrivateFormat.PKCS8, b"secret"
        ),
    ),
    "tufup-json-key": ("keystore/timestamp", _tufup_key),
    "sslib-encrypted-key": (
        "keystore/targets",
        lambda: (
            b"a1b2c3d4e5f60718293a4b5c6d7e8f90@@@@100000@@@@"
            b"0f1e2d3c4b5a69788796a5b4c3d2e1f0@@@@00112233445566778899aabbccddeeff@@@@cafe"
        ),
    ),
    "putty": ("deploy.ppk", lambda: b"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n"),
    "pgp": ("gpg/secret.asc", lambda: b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF...\n"),
    "jwk": ("config/signing.jwk.json", _jwk),
    "pkcs12-container": ("client-cert.p12", lambda: b"\x30\x82\x05\x00 binary pkcs12"),
    "pem-deep-in-a-large-file": ("data/blob.bin", _deep_in_a_large_file),
}


@pytest.mark.parametrize("kind", list(KEY_MATERIAL))
def test_private_key_material_anywhere_in_the_bundle_is_refused(tmp_path: Path, kind: str) -> None:
    publisher = Publisher(tmp_path / "pub")
    name, content = KEY_MATERIAL[kind]
    bundle = make_bundle(tmp_path / "bundle")
    path = bundle / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        shutil.copyfile(publisher.keys / "online" / "targets.pem", path)
    else:
        path.write_bytes(content())
    before = tree_digest(publisher.repo)
    for extra in ((), ("--dry-run",)):
        result = release(publisher, bundle, "--bump", "minor", *extra)
        refused(result, f"bundle file {name} ", "private key", "bundle_exclude")
    assert tree_digest(publisher.repo) == before
    # the publisher's way out when the file must stay in the folder: exclude it
    set_config(publisher.repo, bundle_exclude=[*DEFAULT_BUNDLE_EXCLUDE, "/" + name])
    assert released(publisher, bundle, "--bump", "minor") == "0.1.0"
    names, _ = archive_members(publisher, "0.1.0")
    assert name not in names and "app.py" in names


def test_public_keys_certificates_and_prose_about_keys_are_released(
    tmp_path: Path, test_ca
) -> None:
    publisher = Publisher(tmp_path / "pub")
    bundle = make_bundle(tmp_path / "bundle")
    shutil.copyfile(test_ca.ca_file, bundle / "cacert.pem")  # a CA bundle apps do ship
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    (bundle / "public.pem").write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    tools_ok(
        publisher.repo,
        publisher.keys,
        "keygen",
        "--no-encrypt",
        "--out",
        str(tmp_path / "holder.pem"),
    )
    shutil.copyfile(tmp_path / "holder.pem.pub.json", bundle / "holder.pub.json")
    shutil.copyfile(publisher.repo / "metadata" / "root.json", bundle / "root-copy.json")
    (bundle / "README.txt").write_text(
        "Never put a PRIVATE KEY here; '-----BEGIN' headers are for certificates.\n"
    )
    (bundle / "package.json").write_text('{"name": "ui", "private": true, "keyval": 1}\n')
    # code that reads keys holds the header text, not a key (as Qt's network library does)
    begin = "-----BEGIN {} KEY-----".format  # built here: no header literal in this file
    (bundle / "lib" / "libkeyreader.so").write_bytes(
        b"\x7fELF\x00Unknown Enc\x00%s\x00-----END PRIVATE KEY-----\x00%s\n\x00%s\r\n--\x00"
        % (begin("PRIVATE").encode(), begin("RSA PRIVATE").encode(), begin("EC PRIVATE").encode())
    )
    shipped = ["cacert.pem", "public.pem", "holder.pub.json", "README.txt", "lib/libkeyreader.so"]
    qt = _qt_network_library()
    if qt is not None:  # the real one, where the Qt extra is installed (CI)
        shutil.copyfile(qt, bundle / "lib" / qt.name)
        shipped.append(f"lib/{qt.name}")
    assert released(publisher, bundle, "--bump", "minor") == "0.1.0"
    names, _ = archive_members(publisher, "0.1.0")
    assert set(shipped) <= set(names)


def _qt_network_library() -> Path | None:
    """PySide6's libQt6Network, whose key-reading code holds every PEM private-key header."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(spec.submodule_search_locations[0]).glob("Qt/lib/libQt6Network.so*"))
    return found[0] if found else None


LITTER = {
    ".git/HEAD": b"ref: refs/heads/main\n",
    "__pycache__/app.cpython-311.pyc": b"\x00pyc",
    "lib/engine.pyc": b"\x00pyc",
    "lib/__pycache__/engine.cpython-311.pyc": b"\x00pyc",
    ".env": b"API_TOKEN=s3cr3t\n",
    ".DS_Store": b"\x00\x00\x00\x01Bud1",
    "lib/Thumbs.db": b"thumbs",
    "app.py~": b"backup",
    "lib/.engine.py.swp": b"swap",
    ".idea/workspace.xml": b"<project/>",
    ".vscode/settings.json": b"{}",
}


def _littered_copy(clean: Path, where: Path) -> Path:
    shutil.copytree(clean, where)
    for name, data in LITTER.items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_bytes(data)
    return where


def test_default_exclusions_leave_litter_out_and_the_tar_stays_deterministic(
    tmp_path: Path,
) -> None:
    publisher = Publisher(tmp_path / "pub")
    clean = make_bundle(tmp_path / "clean")
    littered = _littered_copy(clean, tmp_path / "littered")
    plan = release(publisher, littered, "--version", "1.0.0", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    for shown in (".git/ (.git/)", ".env (.env)", "lib/engine.pyc (*.pyc)", "secret scan:  passed"):
        assert shown in plan.stderr, plan.stderr
    assert released(publisher, littered, "--version", "1.0.0") == "1.0.0"
    names, tar = archive_members(publisher, "1.0.0")
    assert sorted(n for n in names if not n.startswith(".update")) == [
        "app.py", "lib", "lib/data.bin", "lib/engine.py",
    ]  # fmt: skip
    assert b"s3cr3t" not in tar
    # the same bytes as the clean folder's tar, whatever litter lies around, in any order
    rule = ExclusionRule(DEFAULT_BUNDLE_EXCLUDE)
    digests = set()
    for folder in (clean, littered, _littered_copy(clean, tmp_path / "again")):
        digests.add(write_bundle_tar(folder, None, {"x": b"1"}, rule).tar_sha256)
    digests.add(write_bundle_tar(clean, None, {"x": b"1"}).tar_sha256)
    assert len(digests) == 1
    info = signed_archive_info(publisher.repo, "demo-1.0.0.tar.gz")
    assert info["tar_sha256"] == hashlib.sha256(tar).hexdigest()


def test_a_publisher_who_wants_pyc_files_keeps_them(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path / "pub")
    bundle = _littered_copy(make_bundle(tmp_path / "clean"), tmp_path / "bundle")
    kept = [p for p in DEFAULT_BUNDLE_EXCLUDE if p not in ("*.pyc", "__pycache__/")]
    set_config(publisher.repo, bundle_exclude=kept)
    tools_ok(
        publisher.repo, publisher.keys, "release", "--version", "1.0.0", "--bundle", str(bundle)
    )
    names, _ = archive_members(publisher, "1.0.0")
    assert {"lib/engine.pyc", "lib/__pycache__/engine.cpython-311.pyc"} <= set(names)
    assert ".env" not in names and ".git" not in names


@pytest.mark.parametrize(
    ("settings", "phrases"),
    [
        ({"bundle_exclude": "*.pyc"}, ("bundle_exclude is '*.pyc'", "give a list")),
        ({"bundle_exclude": [".git/", 7]}, ("bundle_exclude[1] is 7", "pattern string")),
        ({"bundle_exclude": [""]}, ("bundle_exclude[0] ''", "not a pattern")),
        ({"bundle_exclude": ["../keys/"]}, ("bundle_exclude[0] '../keys/'", "'..'")),
        ({"bundle_exclude": ["build\\out"]}, ("bundle_exclude[0]", "use '/'")),
        ({"bundle_exlude": ["*.log"]}, ("unknown setting 'bundle_exlude'", "'bundle_exclude'")),
    ],
    ids=["a-string", "a-number", "empty", "dotdot", "backslash", "misspelt-name"],
)
def test_a_mistyped_bundle_exclude_is_a_clear_error(
    tmp_path: Path, settings: dict, phrases: tuple[str, ...]
) -> None:
    publisher = Publisher(tmp_path / "pub")
    bundle = make_bundle(tmp_path / "bundle")
    set_config(publisher.repo, **settings)
    before = tree_digest(publisher.repo)
    for extra in ((), ("--dry-run",)):
        refused(release(publisher, bundle, "--bump", "patch", *extra), *phrases)
    assert tree_digest(publisher.repo) == before


def test_setup_from_an_unpacked_release_folder_installs_exactly_what_was_signed(
    tmp_path: Path,
) -> None:
    """The client never excludes: an unpacked release is archived as it is, so what it
    installs is entry for entry the signed release (its manifest matches the signed one)."""
    publisher = Publisher(tmp_path / "pub")
    bundle = _littered_copy(make_bundle(tmp_path / "clean"), tmp_path / "bundle")
    tools_ok(
        publisher.repo, publisher.keys, "release", "--version", "1.0.0", "--bundle", str(bundle)
    )
    unpacked = tmp_path / "unpacked"
    with tarfile.open(publisher.archive("1.0.0")) as tar:
        tar.extractall(unpacked, filter="data")
    root = tmp_path / "install"
    result = run_client(None, "setup", "--install-root", str(root), "--from", str(unpacked))
    assert result.returncode == 0, result.stderr
    layout = Layout(root)
    assert layout.current_version() == "1.0.0"
    from client.tree_format import decode_manifest

    (manifest,) = (publisher.repo / "targets").glob("*.demo-1.0.0.manifest.zst")
    signed = decode_manifest(manifest.read_bytes(), "demo", "1.0.0", 1 << 20).integrity()
    installed = json.loads((root / "cache" / "manifests" / "1.0.0.json").read_text())
    assert installed == signed
    assert not (root / "current" / ".env").exists() and (root / "current" / "app.py").is_file()


# -- 2. init --force on a repository in use --------------------------------------------------


def _in_use_by_a_release(publisher: Publisher) -> None:
    publisher.release("--version", "1.0.0")


def _in_use_by_root_v2(publisher: Publisher) -> None:
    tools_ok(publisher.repo, publisher.keys, "refresh", "--force")  # root 2, no release


@pytest.mark.parametrize(
    "make_in_use", [_in_use_by_a_release, _in_use_by_root_v2], ids=["a-release", "root-v2"]
)
def test_init_force_refuses_a_repository_in_use_and_changes_nothing(
    tmp_path: Path, make_in_use
) -> None:
    publisher = Publisher(tmp_path / "pub")
    make_in_use(publisher)
    before, keys_before = tree_digest(publisher.repo), tree_digest(publisher.keys)
    for force in (("--force",), ()):
        result = run_tools(publisher.repo, publisher.keys, "init", "--app-name", "demo", *force)
        refused(result, "refusing to replace a repository in use", "possibly an attack",
                "rotate-key", LOUD_FLAG)  # fmt: skip
    assert tree_digest(publisher.repo) == before and tree_digest(publisher.keys) == keys_before
    assert not (publisher.keys / "retired").exists()
    help_text = run_tools(publisher.repo, publisher.keys, "init", "--help").stdout
    assert LOUD_FLAG in help_text and "possibly an attack" in " ".join(help_text.split())


def _key_files(folder: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(folder, folders=False).items() if k.endswith(".pem")}


def _assert_private(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.suffix == ".pem":
            assert mode == 0o600, path
        elif path.is_dir() and "metadata" not in path.parts:
            assert mode == 0o700, path


def test_init_force_on_a_fresh_repository_keeps_the_old_keys(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path / "pub")
    old = _key_files(publisher.keys)
    result = run_tools(publisher.repo, publisher.keys, "init", "--app-name", "demo", "--force")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    (retired,) = (publisher.keys / "retired").iterdir()
    assert f"kept in {retired}" in result.stderr
    assert _key_files(retired) == old  # every old key, byte for byte
    assert set(_key_files(publisher.keys / "online").values()).isdisjoint(old.values())
    _assert_private(publisher.keys / "retired")
    assert not list(publisher.repo.rglob("*.pem"))


def test_the_loud_flag_replaces_a_repository_in_use_and_clients_refuse_what_it_signs(
    installed_app,
) -> None:
    publisher, root = installed_app.publisher, installed_app.root
    old = _key_files(publisher.keys)
    result = run_tools(publisher.repo, publisher.keys, "init", "--app-name", "demo", LOUD_FLAG)
    assert result.returncode == 0, result.stderr
    assert "warning: replaced a repository in use" in result.stderr
    assert "possibly an attack" in result.stderr and "reinstalls" in result.stderr
    (retired,) = (publisher.keys / "retired").iterdir()
    assert _key_files(retired) == old
    assert (retired / "repository" / "metadata" / "1.root.json").is_file()  # the old trust
    _assert_private(retired)
    # what the warning said: the installed client refuses every update from the new keys
    publisher.release("--version", "2.0.0")
    update = run_client(root, "update")
    assert update.returncode == 1
    assert "signature verification failed" in update.stderr
    assert "possibly an attack" in update.stderr
    assert Layout(root).current_version() == "1.0.0"


# -- 3a. a release whose own verification fails publishes nothing ----------------------------


def _expired_root(publisher: Publisher) -> str:
    signer = load_key(publisher.keys / "offline" / "root-1.pem").signer
    publish_next_root(publisher.repo, [signer], expires_in_days=-1)
    return "root.json is expired"


def _broken_root_chain(publisher: Publisher, tmp_path: Path) -> str:
    """Root 2 names a new root key and is signed by it alone: what a ceremony that skipped
    the current holders' threshold would have published."""
    tools_ok(
        publisher.repo,
        publisher.keys,
        "keygen",
        "--no-encrypt",
        "--out",
        str(tmp_path / "new-root.pem"),
    )
    new_key = load_key(tmp_path / "new-root.pem")
    publish_next_root(publisher.repo, [new_key.signer], [new_key.signer.public_key])
    return "root was signed by 0/1 keys"


@pytest.mark.parametrize("fault", ["expired-root", "broken-root-chain"])
def test_a_release_that_fails_its_own_verification_publishes_nothing(
    tmp_path: Path, fault: str
) -> None:
    publisher = Publisher(tmp_path / "pub")
    mirror = tmp_path / "mirror"
    set_config(publisher.repo, publish_to=str(mirror))
    publisher.release("--version", "1.0.0")  # published to the mirror too
    assert (mirror / "metadata" / "timestamp.json").is_file()
    if fault == "expired-root":
        named = _expired_root(publisher)
    else:
        named = _broken_root_chain(publisher, tmp_path)
    # the repository loads and signs as usual: only a client's verification sees the fault
    assert tools_ok(publisher.repo, publisher.keys, "status")
    before, mirror_before = tree_digest(publisher.repo), tree_digest(mirror)
    write_app(publisher.bundle, "1.1.0")
    result = release(publisher, publisher.bundle, "--bump", "minor")
    refused(result, "the new release does not verify as clients would see it",
            "nothing was published", named, "repo-tools verify")  # fmt: skip
    assert result.stdout == ""  # no version printed
    assert tree_digest(publisher.repo) == before
    assert tree_digest(mirror) == mirror_before
    assert "changed file(s) to" not in result.stderr  # no upload was even attempted


# -- 3b. a ceremony must have the current holders' threshold too ---------------------------


@pytest.fixture
def two_holders(tmp_path: Path) -> Publisher:
    publisher = Publisher(tmp_path / "pub", init_args=("--root-keys", "2", "--root-threshold", "2"))
    publisher.release("--version", "1.0.0")
    return publisher


def _root(repo: Path) -> dict:
    return json.loads((repo / "metadata" / "root.json").read_text())["signed"]


def test_a_root_signed_by_the_new_holders_alone_is_refused_and_clients_keep_updating(
    tmp_path: Path, two_holders: Publisher, https_server, test_ca
) -> None:
    publisher = two_holders
    repo, keys = publisher.repo, publisher.keys
    server = https_server(repo)
    client = install_root(tmp_path / "install", publisher, "1.0.0", [server.url], test_ca.ca_file)
    holders = tmp_path / "holders"
    holders.mkdir()
    for name in ("a", "b"):
        tools_ok(repo, keys, "keygen", "--no-encrypt", "--out", str(holders / f"{name}.pem"))
    old_ids = _root(repo)["roles"]["root"]["keyids"]
    tools_ok(
        repo, keys, "ceremony", "begin",
        "--add-root-key", str(holders / "a.pem.pub.json"),
        "--add-root-key", str(holders / "b.pem.pub.json"),
        *[arg for keyid in old_ids for arg in ("--remove-root-key", keyid)],
        "--root-threshold", "2",
    )  # fmt: skip
    for name in ("a", "b"):
        tools_ok(repo, keys, "ceremony", "sign", "--yes", "--key", str(holders / f"{name}.pem"))
    status = tools_ok(repo, keys, "ceremony", "status")
    assert "0/2 signatures from the current root keys, 2/2 from the new" in status
    assert "ready" not in status

    before, served = tree_digest(repo), published_digest(repo)
    result = run_tools(repo, keys, "ceremony", "finish")
    refused(result, "not enough signatures yet", "0/2 signatures from the current root keys",
            "CURRENT root keys must sign", "ceremony sign --key")  # fmt: skip
    assert tree_digest(repo) == before and published_digest(repo) == served
    assert not (repo / "metadata" / "2.root.json").exists()
    assert not (keys / "retired").exists()

    # the current holders sign the hand-over; now clients installed before follow
    for number in (1, 2):
        holder = keys / "offline" / f"root-{number}.pem"
        tools_ok(repo, keys, "ceremony", "sign", "--yes", "--key", str(holder))
    tools_ok(repo, keys, "ceremony", "finish")
    root = _root(repo)
    assert root["version"] == 2
    new_ids = {read_public_key(holders / f"{n}.pem.pub.json").keyid for n in ("a", "b")}
    assert set(root["roles"]["root"]["keyids"]) == new_ids
    assert publisher.release("--bump", "minor") == "1.1.0"
    update = run_client(client.root, "update")
    assert update.returncode == 0, update.stderr
    assert client.current_version() == "1.1.0"
    assert tools_ok(repo, keys, "verify").startswith("ok: root version 2")


def test_finish_refuses_a_root_installed_clients_cannot_reach_even_with_both_thresholds(
    tmp_path: Path, two_holders: Publisher
) -> None:
    """The second line of defence: the staged result is verified as a client walks it from
    1.root.json. Root 2 was published outside repo-tools without the old holders (the chain
    is already broken); a ceremony for root 3 has both thresholds of root 2 and 3, yet no
    client installed with root 1 could ever reach it."""
    publisher = two_holders
    repo, keys = publisher.repo, publisher.keys
    _broken_root_chain(publisher, tmp_path)
    tools_ok(repo, keys, "ceremony", "begin", "--rotate", "timestamp")
    tools_ok(repo, keys, "ceremony", "sign", "--yes", "--key", str(tmp_path / "new-root.pem"))
    assert "ready to finish" in tools_ok(repo, keys, "ceremony", "status")
    before, keys_before = tree_digest(repo), tree_digest(keys)
    result = run_tools(repo, keys, "ceremony", "finish")
    refused(result, "the new root does not verify as installed clients would check it",
            "nothing was published")  # fmt: skip
    assert tree_digest(repo) == before and tree_digest(keys) == keys_before
    assert not (repo / "metadata" / "3.root.json").exists()
