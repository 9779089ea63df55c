"""`update-client-conformance` (the tuf-conformance client protocol) against our own
repositories, served over plain http on 127.0.0.1 and over https, as a real console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from tuf.api.metadata import Metadata

from tests.support.hostile_servers import answer, local_file
from tests.support.https_server import StaticServer
from tests.support.publisher import Published
from tests.support.signing import resign_md, signer

pytestmark = pytest.mark.timeout(120)

SCRIPT = Path(sys.executable).parent / "update-client-conformance"


def conformance(*args: str) -> subprocess.CompletedProcess:
    command = (
        [str(SCRIPT)]
        if SCRIPT.exists()
        else [sys.executable, "-c", "from client.conformance import main; main()"]
    )
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def plain_server(published: Published):
    servers: list[StaticServer] = []

    def start(hook=None) -> StaticServer:
        server = StaticServer(published.repo, None, hook)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _init(tmp_path: Path, published: Published) -> Path:
    metadata = tmp_path / "metadata"
    result = conformance(
        "--metadata-dir", str(metadata), "init", str(published.repo / "metadata" / "1.root.json")
    )
    assert result.returncode == 0, result.stderr
    return metadata


def _targets(published: Published) -> list[str]:
    return ["demo-1.0.0.tar.gz", "demo-1.1.0.tar.gz", "demo-1.1.0.from-1.0.0.delta"]


def test_init_copies_the_root_without_network(tmp_path, published) -> None:
    metadata = _init(tmp_path, published)
    root = published.repo / "metadata" / "1.root.json"
    assert (metadata / "root.json").read_bytes() == root.read_bytes()
    assert sorted(p.name for p in metadata.iterdir()) == ["root.json"]


def test_refresh_over_plain_http_on_loopback_stores_exact_unversioned_bytes(
    tmp_path, published, plain_server
) -> None:
    server = plain_server()
    metadata = _init(tmp_path, published)
    result = conformance(
        "--metadata-dir", str(metadata), "--metadata-url", f"{server.url}/metadata", "refresh"
    )
    assert result.returncode == 0, result.stderr
    served = published.repo / "metadata"
    assert sorted(p.name for p in metadata.iterdir()) == [
        "root.json",
        "root_history",
        "snapshot.json",
        "targets.json",
        "timestamp.json",
    ]
    for role in ("root", "timestamp", "snapshot", "targets"):
        assert (metadata / f"{role}.json").read_bytes() == (served / f"{role}.json").read_bytes()
    # tuf 7: each verified root by version, root.json a relative link to the newest
    assert os.readlink(metadata / "root.json") == os.path.join("root_history", "1.root.json")
    assert [p.name for p in (metadata / "root_history").iterdir()] == ["1.root.json"]
    # the top-level refresh asked for exactly what TUF prescribes, nothing else
    assert [p.rsplit("/", 1)[1] for p in server.requests][:2] == ["2.root.json", "timestamp.json"]
    assert not any("/targets/" in p for p in server.requests)


def _root_v2(published: Published) -> bytes:
    """Root 1 signed again as version 2 by both root keys (threshold 2): a valid rotation."""
    root = Metadata.from_file(str(published.repo / "metadata" / "1.root.json"))
    keys = [signer(published.keys, f"offline/root-{i}.pem") for i in (1, 2)]
    return resign_md(root, *keys, days=365)


def _serving_root_v2(v2: bytes):
    return lambda h: h.path.endswith("/metadata/2.root.json") and answer(h, v2)


def test_root_rotation_lands_in_root_history_and_is_never_rolled_back(
    tmp_path, published, plain_server
) -> None:
    v2 = _root_v2(published)
    rotated = plain_server(_serving_root_v2(v2))
    metadata = _init(tmp_path, published)
    args = ["--metadata-dir", str(metadata), "--metadata-url"]
    result = conformance(*args, f"{rotated.url}/metadata", "refresh")
    assert result.returncode == 0, result.stderr
    history = metadata / "root_history"
    assert sorted(p.name for p in history.iterdir()) == ["1.root.json", "2.root.json"]
    assert (history / "1.root.json").read_bytes() == (
        published.repo / "metadata" / "1.root.json"
    ).read_bytes()
    assert (history / "2.root.json").read_bytes() == v2
    assert os.readlink(metadata / "root.json") == os.path.join("root_history", "2.root.json")
    # a server that no longer has version 2: the client starts from 2 and asks for 3
    honest = plain_server()
    result = conformance(*args, f"{honest.url}/metadata", "refresh")
    assert result.returncode == 0, result.stderr
    assert honest.requests[0].endswith("/metadata/3.root.json")
    assert (metadata / "root.json").read_bytes() == v2


def test_init_again_replaces_the_root_link_not_the_verified_root(
    tmp_path, published, plain_server
) -> None:
    v2 = _root_v2(published)
    rotated = plain_server(_serving_root_v2(v2))
    metadata = _init(tmp_path, published)
    args = ["--metadata-dir", str(metadata), "--metadata-url"]
    assert conformance(*args, f"{rotated.url}/metadata", "refresh").returncode == 0
    first = published.repo / "metadata" / "1.root.json"
    assert conformance("--metadata-dir", str(metadata), "init", str(first)).returncode == 0
    assert not (metadata / "root.json").is_symlink()
    assert (metadata / "root.json").read_bytes() == first.read_bytes()
    assert (metadata / "root_history" / "2.root.json").read_bytes() == v2  # not written through
    # from root 1 again, the cached root 2 verifies and is used without asking the network
    honest = plain_server()
    result = conformance(*args, f"{honest.url}/metadata", "refresh")
    assert result.returncode == 0, result.stderr
    assert not any(p.endswith("/2.root.json") for p in honest.requests)
    assert os.readlink(metadata / "root.json") == os.path.join("root_history", "2.root.json")


def test_refresh_over_https_needs_a_trusted_certificate(
    tmp_path, published, https_server, test_ca
) -> None:
    server = https_server(published.repo)
    metadata = _init(tmp_path, published)
    url = f"{server.url}/metadata"
    refused = conformance("--metadata-dir", str(metadata), "--metadata-url", url, "refresh")
    assert refused.returncode == 1
    assert "not trusted" in refused.stderr
    ok = conformance(
        "--metadata-dir", str(metadata), "--metadata-url", url,
        "--ca-bundle", str(test_ca.ca_file), "refresh",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert (metadata / "timestamp.json").is_file()


def _download(metadata: Path, server: StaticServer, target_dir: Path, *names: str):
    args = ["--metadata-dir", str(metadata), "--metadata-url", f"{server.url}/metadata"]
    for name in names:
        args += ["--target-name", name]
    args += ["--target-base-url", f"{server.url}/targets/", "--target-dir", str(target_dir)]
    return conformance(*args, "download")


def test_download_several_targets_then_reuse_the_verified_cache(
    tmp_path, published, plain_server
) -> None:
    server = plain_server()
    metadata = _init(tmp_path, published)
    target_dir = tmp_path / "targets"
    names = _targets(published)
    result = _download(metadata, server, target_dir, *names)
    assert result.returncode == 0, result.stderr
    for name in names:
        (served,) = (published.repo / "targets").glob(f"*.{name}")
        assert (target_dir / quote(name, "")).read_bytes() == served.read_bytes()
    fetched = [p for p in server.requests if "/targets/" in p]
    assert len(fetched) == len(names)
    server.requests.clear()
    again = _download(metadata, server, target_dir, *names)
    assert again.returncode == 0, again.stderr
    assert not [p for p in server.requests if "/targets/" in p]  # verified copies reused


def test_download_stops_at_the_first_failure(tmp_path, published, plain_server) -> None:
    server = plain_server()
    metadata = _init(tmp_path, published)
    target_dir = tmp_path / "targets"
    first, _, last = _targets(published)
    result = _download(metadata, server, target_dir, first, "no-such-target.bin", last)
    assert result.returncode == 1
    assert "no-such-target.bin" in result.stderr
    assert (target_dir / first).is_file()
    assert not (target_dir / last).exists()
    assert not any(last in p for p in server.requests)


def test_tampered_target_is_refused_and_not_stored(tmp_path, published, plain_server) -> None:
    def hook(h) -> bool:
        if h.path.endswith("demo-1.1.0.tar.gz"):
            return answer(h, b"\0" * local_file(published.repo, h).stat().st_size)
        return False

    server = plain_server(hook)
    metadata = _init(tmp_path, published)
    target_dir = tmp_path / "targets"
    result = _download(metadata, server, target_dir, "demo-1.1.0.tar.gz")
    assert result.returncode == 1
    assert "hash" in result.stderr.lower()
    assert not (target_dir / "demo-1.1.0.tar.gz").exists()


def test_rollback_refused_and_trusted_metadata_kept(tmp_path, published, plain_server) -> None:
    metadata = _init(tmp_path, published)
    honest = plain_server()
    args = ["--metadata-dir", str(metadata), "--metadata-url", f"{honest.url}/metadata"]
    assert conformance(*args, "refresh").returncode == 0
    trusted = (metadata / "timestamp.json").read_bytes()
    old = (published.old_metadata / "timestamp.json").read_bytes()
    hostile = plain_server(lambda h: h.path.endswith("/timestamp.json") and answer(h, old))
    result = conformance(
        "--metadata-dir", str(metadata), "--metadata-url", f"{hostile.url}/metadata", "refresh"
    )
    assert result.returncode == 1
    assert (metadata / "timestamp.json").read_bytes() == trusted


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--metadata-dir", "M"],
        ["--metadata-dir", "M", "frobnicate"],
        ["--metadata-dir", "M", "refresh"],  # no --metadata-url
        ["--metadata-dir", "M", "init"],  # no TRUSTED_ROOT
        ["refresh", "--metadata-dir", "M", "--metadata-url", "http://127.0.0.1:9/m"],  # order
        ["--metadata-dir", "M", "--metadata-url", "http://127.0.0.1:9/m", "download"],
        ["--metadata-dir", "M", "--bogus", "refresh"],
    ],
)
def test_usage_errors_exit_exactly_1(tmp_path, args) -> None:
    args = [str(tmp_path / "M") if a == "M" else a for a in args]
    result = conformance(*args)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "usage" in result.stderr.lower() or "error" in result.stderr.lower()


def test_failures_exit_exactly_1(tmp_path, published) -> None:
    metadata = _init(tmp_path, published)
    # plain http anywhere but loopback is refused before any connection is made
    far = conformance(
        "--metadata-dir", str(metadata), "--metadata-url", "http://example.com/metadata", "refresh"
    )
    assert far.returncode == 1 and "only https" in far.stderr
    # nothing listening
    dead = conformance(
        "--metadata-dir", str(metadata), "--metadata-url", "http://127.0.0.1:9/metadata", "refresh"
    )
    assert dead.returncode == 1
    # init from a file that does not exist
    missing = conformance("--metadata-dir", str(metadata), "init", str(tmp_path / "nope.json"))
    assert missing.returncode == 1
