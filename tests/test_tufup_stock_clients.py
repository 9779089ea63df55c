"""Stock tufup 0.10 clients against repositories made by repo-tools (issue 12).

A real stock tufup client in its own environment (tests/support/stock_tufup.py), over HTTPS
on 127.0.0.1, installs into its in-place folder what repo-tools published. What tufup parses
of a repository is its target names (``TargetMeta.filename_regex``: ``<name>-<version>`` then
``.tar.gz`` or ``.patch``) and, of an archive, ``custom["required"]``; every other target must
be one tufup ignores.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.files import tree_digest
from tests.support.publisher import Publisher, tools_ok
from tests.support.stock_tufup import StockClient, tufup_names

APP = "demo"


def _bundle_files(folder: Path) -> dict[str, str]:
    """The application's own files (what the publisher wrote), without .update/."""
    return {k: v for k, v in tree_digest(folder, folders=False).items() if ".update" not in k}


def _targets(publisher: Publisher) -> dict[str, dict]:
    data = json.loads((publisher.repo / "metadata" / "targets.json").read_text())
    return data["signed"]["targets"]


def _stock_client(base: Path, publisher: Publisher, version: str, ca_file: Path) -> StockClient:
    """A stock tufup application installed at `version` from its archive (as an installer
    unpacks it: no archive kept in its targets folder, so its first update is a full one)."""
    import tarfile

    client = StockClient(base, APP, version, publisher.repo / "metadata" / "1.root.json", ca_file)
    with tarfile.open(publisher.archive(version)) as tar:
        tar.extractall(client.app_dir, filter="data")
    return client


def test_tufup_ignores_every_target_that_is_not_a_full_archive_name_it_reads():
    """The claim the release format relies on, checked against tufup's own regex: the new
    target kinds do not end in .tar.gz or .patch, so tufup takes them for nothing of its own;
    the full archive is read as app `demo` at its version. (The old patch name is read as a
    patch whose version is not one: the crash of issue 12.)"""
    read = tufup_names(
        "demo-1.1.0.tar.gz",
        "demo-1.1.0.tar.zst",
        "demo-1.1.0.manifest.json",
        "demo-1.1.0.from-1.0.0.delta",
        "demo-1.1.0b1.tar.gz",
        "demo-1.1.0.from-1.0.0.patch",
    )
    assert read["demo-1.1.0.tar.gz"] == {
        "name": "demo",
        "version": "1.1.0",
        "suffix": ".tar.gz",
        "is_archive": True,
        "is_patch": False,
    }
    assert read["demo-1.1.0b1.tar.gz"]["version"] == "1.1.0b1"
    for ignored in (
        "demo-1.1.0.tar.zst",
        "demo-1.1.0.manifest.json",
        "demo-1.1.0.from-1.0.0.delta",
    ):
        assert read[ignored]["name"] is None, (ignored, read[ignored])
        assert not read[ignored]["is_archive"] and not read[ignored]["is_patch"]
    old = read["demo-1.1.0.from-1.0.0.patch"]
    assert old["is_patch"] and old["version"] is None


def test_stock_clients_at_several_versions_reach_the_newest_release(
    tmp_path: Path, https_server, test_ca
):
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0", label="one")
    server = https_server(publisher.repo)
    early = _stock_client(tmp_path / "early", publisher, "1.0.0", test_ca.ca_file)
    publisher.release("--version", "1.1.0", label="two")
    first = early.update(server.url)
    assert first.get("found") == "1.1.0", first
    assert early.version == "1.1.0"
    assert _bundle_files(early.app_dir) == _bundle_files(publisher.bundle)

    publisher.release("--version", "1.2.0", label="three")
    publisher.release("--version", "1.3.0", label="four")
    # every target tufup parses is one it reads correctly; the rest it ignores
    read = tufup_names(*_targets(publisher))
    for name, meta in read.items():
        if meta["name"] is not None:
            assert meta["is_archive"] and meta["version"] is not None, (name, meta)
    late = _stock_client(tmp_path / "late", publisher, "1.0.0", test_ca.ca_file)
    for client in (early, late):  # early has 1.1.0's archive cached: a patch base for tufup
        result = client.update(server.url)
        assert result.get("found") == "1.3.0", result
        assert client.version == "1.3.0"
        assert _bundle_files(client.app_dir) == _bundle_files(publisher.bundle)
        again = client.update(server.url)  # on the newest: up to date, not a crash
        assert again == {"found": None, "log": again["log"]}, again


def test_stock_clients_go_through_a_required_release_first(tmp_path: Path, https_server, test_ca):
    """`release --required`: tufup installs the oldest required release above it before
    newer ones (its own rule, the same as ours), reading custom["required"] of the archive."""
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0", label="one")
    publisher.release("--version", "1.1.0", "--required", label="two")
    publisher.release("--version", "1.2.0", label="three")
    server = https_server(publisher.repo)
    client = _stock_client(tmp_path / "client", publisher, "1.0.0", test_ca.ca_file)
    assert client.update(server.url).get("found") == "1.1.0"
    assert client.version == "1.1.0"
    assert client.update(server.url).get("found") == "1.2.0"
    assert _bundle_files(client.app_dir) == _bundle_files(publisher.bundle)


def test_a_withdrawn_release_and_stock_clients(tmp_path: Path, https_server, test_ca):
    """What stock clients do with `yank` (docs/migrating-from-tufup.md): they cannot read the
    signed withdrawal, so while the withdrawn release is the newest they install it; the fix
    release the publisher makes next takes both them and our clients off it."""
    publisher = Publisher(tmp_path / "publisher")
    publisher.release("--version", "1.0.0", label="one")
    good = _bundle_files(publisher.bundle)
    publisher.release("--version", "1.1.0", label="bad")
    tools_ok(publisher.repo, publisher.keys, "yank", "1.1.0", "--reason", "corrupts data")
    server = https_server(publisher.repo)
    stock = _stock_client(tmp_path / "stock", publisher, "1.0.0", test_ca.ca_file)
    assert _bundle_files(stock.app_dir) == good
    assert stock.update(server.url).get("found") == "1.1.0"  # the limitation, as documented
    publisher.release("--version", "1.1.1", label="fix")
    late = _stock_client(tmp_path / "late", publisher, "1.0.0", test_ca.ca_file)
    for client in (stock, late):
        assert client.update(server.url).get("found") == "1.1.1"
        assert _bundle_files(client.app_dir) == _bundle_files(publisher.bundle)


def test_tufup_patches_for_stock_clients(tmp_path: Path, https_server, test_ca):
    """ "tufup_patches": true: each release also lists <app>-<V>.patch as tufup makes it; a
    stock client with its archive cached patches through the chain to the right content."""
    from repo_tools.tufup_compat import chain_problems
    from tests.support.publisher import set_config

    publisher = Publisher(tmp_path / "publisher")
    set_config(publisher.repo, tufup_patches=True)
    publisher.release("--version", "1.0.0", label="one")
    assert "demo-1.0.0.patch" not in _targets(publisher)  # nothing below it
    server = https_server(publisher.repo)
    cached = _stock_client(tmp_path / "cached", publisher, "1.0.0", test_ca.ca_file)
    (cached.base / "targets").mkdir(parents=True, exist_ok=True)
    cached_archive = cached.base / "targets" / "demo-1.0.0.tar.gz"
    cached_archive.write_bytes(publisher.archive("1.0.0").read_bytes())
    publisher.release("--version", "1.1.0", label="two")
    publisher.release("--version", "1.2.0", label="three")
    targets = _targets(publisher)
    assert {"demo-1.1.0.patch", "demo-1.2.0.patch"} <= set(targets)
    assert chain_problems({n: t.get("custom") for n, t in targets.items()}) == []
    result = cached.update(server.url)
    assert result.get("found") == "1.2.0", result
    assert result["downloads"] == ["demo-1.1.0.patch", "demo-1.2.0.patch"]
    assert _bundle_files(cached.app_dir) == _bundle_files(publisher.bundle)


def test_verify_refuses_what_would_break_stock_clients(tmp_path: Path):
    """A repository listing a name stock tufup crashes on, or an archive without its tufup
    patch above one with a patch, fails `repo-tools verify`; a release that would cause the
    second (tufup_patches switched off) is refused and nothing is published."""
    from repo_tools.verify import verify_repository
    from tests.support.publisher import published_digest, refused, run_tools, set_config

    publisher = Publisher(tmp_path / "publisher")
    set_config(publisher.repo, tufup_patches=True)
    publisher.release("--version", "1.0.0", label="one")
    publisher.release("--version", "1.1.0", label="two")
    assert verify_repository(publisher.repo).ok
    set_config(publisher.repo, tufup_patches=False)
    before = published_digest(publisher.repo)
    from tests.support.bundles import write_app

    write_app(publisher.bundle, "three")
    result = run_tools(
        publisher.repo, publisher.keys, "release", "--bundle", str(publisher.bundle),
        "--version", "1.2.0",
    )  # fmt: skip
    refused(result, "demo-1.2.0.tar.gz has no tufup patch", "keep tufup_patches on")
    assert published_digest(publisher.repo) == before
