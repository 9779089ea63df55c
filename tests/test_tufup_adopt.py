"""`repo-tools adopt-tufup` (issue 12): a repository made by stock tufup (its own Repository
API, in its own environment) adopted by repo-tools, with stock tufup clients at several
versions updating over HTTPS before the adoption, after it, and after repo-tools releases."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.support.bundles import write_app
from tests.support.files import tree_digest
from tests.support.publisher import Publisher, published_digest, refused, run_tools, tools_ok
from tests.support.stock_tufup import TufupPublisher, install_stock

APP = "demo"


def _files(folder: Path) -> dict[str, str]:
    """The app's own files: what the publisher wrote, without .update/ and version.txt."""
    digest = tree_digest(folder, folders=False)
    return {k: v for k, v in digest.items() if ".update" not in k and k != "version.txt"}


def _install(tmp: Path, name: str, tufup: TufupPublisher, version: str, ca: Path, cached=False):
    archive = tufup.repo / "targets" / f"{APP}-{version}.tar.gz"
    root = tufup.repo / "metadata" / "1.root.json"
    return install_stock(tmp / name, APP, archive, version, root, ca, cached)


def _adopt(tufup: TufupPublisher, keys: Path, *extra: str) -> str:
    return tools_ok(tufup.repo, keys, "adopt-tufup", "--tufup-keys", str(tufup.keystore), *extra)


def _bundle_of(label: str, folder: Path) -> dict[str, str]:
    write_app(folder, label)
    return _files(folder)


def test_dry_run_says_what_would_change_and_changes_nothing(tmp_path: Path):
    tufup = TufupPublisher(tmp_path / "tufup")
    tufup.release("1.0.0", "one")
    tufup.release("1.1.0", "two")
    before = published_digest(tufup.repo)
    keys = tmp_path / "keys"
    out = _adopt(tufup, keys, "--dry-run")
    assert "dry run" in out
    assert "root: version 2 (consistent snapshots on), signed by the root keys of version 1" in out
    assert "releases imported (for stock tufup clients only): 1.0.0, 1.1.0" in out
    assert "tufup patches no longer listed" in out and "demo-1.1.0.patch" in out
    for role in ("targets", "snapshot", "timestamp"):
        assert f"keys/online/{role}.pem ({role}): tufup key id" in out
    assert published_digest(tufup.repo) == before
    assert not keys.exists() and not (tufup.repo / "repo-tools.json").exists()


def test_adoption_converts_keys_and_continues_the_root_chain(tmp_path: Path):
    tufup = TufupPublisher(tmp_path / "tufup")
    tufup.release("1.0.0", "one")
    keystore_before = tree_digest(tufup.keystore)
    keys = tmp_path / "keys"
    _adopt(tufup, keys)
    assert tree_digest(tufup.keystore) == keystore_before
    pems = sorted(p.relative_to(keys).as_posix() for p in keys.rglob("*.pem"))
    assert pems == [
        "offline/root-1.pem",
        "online/snapshot.pem",
        "online/targets.pem",
        "online/timestamp.pem",
    ]
    for path in keys.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
        if path.is_file():
            assert path.read_bytes().startswith(b"-----BEGIN " + b"PRIVATE KEY-----")
    metadata = tufup.repo / "metadata"
    old = json.loads((metadata / "1.root.json").read_text())["signed"]
    new_md = json.loads((metadata / "2.root.json").read_text())
    new = new_md["signed"]
    assert not old["consistent_snapshot"] and new["consistent_snapshot"]
    # the same public keys, under the IDs repo-tools computes; the old IDs signed it too
    assert sorted(k["keyval"]["public"] for k in old["keys"].values()) == sorted(
        k["keyval"]["public"] for k in new["keys"].values()
    )
    assert not set(old["keys"]) & set(new["keys"])
    signed_by = {s["keyid"] for s in new_md["signatures"]}
    assert set(old["roles"]["root"]["keyids"]) | set(new["roles"]["root"]["keyids"]) == signed_by
    assert "ok: root version 2" in tools_ok(tufup.repo, keys, "verify")
    status = tools_ok(tufup.repo, keys, "status")
    assert "1.0.0: withdrawn (made by tufup" in status
    # every command of repo-tools works on it now; adopting again is refused
    tools_ok(tufup.repo, keys, "refresh", "--force")
    refused(
        run_tools(tufup.repo, keys, "adopt-tufup", "--tufup-keys", str(tufup.keystore)),
        "already a repo-tools repository",
    )


def test_adoption_refuses_what_it_cannot_do_and_changes_nothing(tmp_path: Path):
    tufup = TufupPublisher(tmp_path / "tufup")
    tufup.release("1.0.0", "one")
    before = published_digest(tufup.repo)
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("root", "targets", "snapshot"):  # no timestamp key
        (partial / name).write_bytes((tufup.keystore / name).read_bytes())
    keys = tmp_path / "keys"
    refused(
        run_tools(tufup.repo, keys, "adopt-tufup", "--tufup-keys", str(partial)),
        "no private key for the timestamp role",
    )
    (partial / "timestamp").write_text("not a key")
    refused(
        run_tools(tufup.repo, keys, "adopt-tufup", "--tufup-keys", str(partial)),
        "is not an unencrypted tufup (securesystemslib) ed25519 private key",
    )
    assert published_digest(tufup.repo) == before
    assert not keys.exists()


def test_stock_clients_before_and_after_adoption_and_after_releases(
    tmp_path: Path, https_server, test_ca
):
    """The case of issue 12: after a hand-made adoption, the first repo-tools release made a
    stock client at 1.0.0 (its archive cached) install 1.1.0 content as 1.2.0."""
    ca = test_ca.ca_file
    tufup = TufupPublisher(tmp_path / "tufup")
    tufup.release("1.0.0", "one")
    tufup.release("1.1.0", "two")
    server = https_server(tufup.repo)
    # before: stock clients on tufup's own repository
    patched = _install(tmp_path, "patched", tufup, "1.0.0", ca, cached=True)
    result = patched.update(server.url)
    assert result.get("found") == "1.1.0" and result["downloads"] == ["demo-1.1.0.patch"]
    waiting = _install(tmp_path, "waiting", tufup, "1.0.0", ca, cached=True)
    fresh = _install(tmp_path, "fresh", tufup, "1.0.0", ca)

    keys = tmp_path / "keys"
    _adopt(tufup, keys)
    assert "ok:" in tools_ok(tufup.repo, keys, "verify")
    assert fresh.update(server.url).get("found") == "1.1.0"  # through root 2, hashed names
    assert _files(fresh.app_dir) == _bundle_of("two", tmp_path / "expect-two")

    ours = Publisher.of(tufup.repo, keys, APP)
    ours.release("--version", "1.2.0", label="three")
    three = _files(ours.bundle)
    for client in (waiting, patched, fresh):
        result = client.update(server.url)
        assert result.get("found") == "1.2.0", result
        assert client.version == "1.2.0"
        assert _files(client.app_dir) == three, "installed content is not 1.2.0's"

    ours.release("--version", "1.3.0", label="four")
    late = _install(tmp_path, "late", tufup, "1.0.0", ca, cached=True)
    for client in (waiting, patched, fresh, late):
        result = client.update(server.url)
        assert result.get("found") == "1.3.0", result
        assert _files(client.app_dir) == _files(ours.bundle)
    assert "ok:" in tools_ok(tufup.repo, keys, "verify")


def test_a_required_tufup_release_stays_required_for_stock_clients(
    tmp_path: Path, https_server, test_ca
):
    tufup = TufupPublisher(tmp_path / "tufup")
    tufup.release("1.0.0", "one")
    tufup.release("1.1.0", "two", required=True)
    tufup.release("1.2.0", "three")
    keys = tmp_path / "keys"
    _adopt(tufup, keys)
    server = https_server(tufup.repo)
    client = _install(tmp_path, "client", tufup, "1.0.0", test_ca.ca_file)
    assert client.update(server.url).get("found") == "1.1.0"
    assert client.update(server.url).get("found") == "1.2.0"
    assert _files(client.app_dir) == _files(tufup.bundle)
