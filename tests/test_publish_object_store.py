"""`repo-tools publish --to s3://...` against a real S3-API server on loopback.

The server is moto's standalone S3 server (an HTTP server speaking the S3 REST API, run here
on 127.0.0.1); MinIO and Ceph's gateway are not installable on this machine class.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests
from moto import server as moto_server

from repo_tools.object_store import check_endpoint_url, parse_bucket_address
from repo_tools.publish import IMMUTABLE, cache_control, named_by_content
from repo_tools.repository import RepoError
from tests.support.bundles import make_bundle
from tests.support.publisher import published_digest, run_tools


@dataclass
class Store:
    endpoint: str
    client: object

    def digest(self, bucket: str, prefix: str) -> dict[str, str]:
        """Every object under prefix and its sha256, keyed like published_digest()."""
        found = {}
        pages = self.client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                body = self.client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[item["Key"][len(prefix) :]] = hashlib.sha256(body).hexdigest()
        return found


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    # credentials for this store only; never a developer's own AWS settings
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-publisher")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # the server keeps its buckets in process-wide memory: start every test empty
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="updates")
    yield Store(endpoint, client)
    server.stop()


@pytest.fixture
def released(tmp_path: Path) -> tuple[Path, Path, Path]:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    assert run_tools(repo, keys, "init", "--app-name", "bot").returncode == 0
    bundle = make_bundle(tmp_path / "bundle")
    assert (
        run_tools(repo, keys, "release", "--bundle", str(bundle), "--bump", "minor").returncode == 0
    )
    return repo, keys, bundle


def configure(repo: Path, **settings: str) -> None:
    path = repo / "repo-tools.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **settings}))


def test_publish_uploads_everything_with_cache_headers_and_skips_unchanged_files(
    store: Store, released
) -> None:
    repo, keys, bundle = released
    to = ("--to", "s3://updates/bot/stable", "--endpoint-url", store.endpoint)
    first = run_tools(repo, keys, "publish", *to)
    assert first.returncode == 0, first.stderr
    assert store.digest("updates", "bot/stable/") == published_digest(repo)
    timestamp = store.client.head_object(Bucket="updates", Key="bot/stable/metadata/timestamp.json")
    assert timestamp["CacheControl"] == "no-cache"
    assert timestamp["ContentType"] == "application/json"
    archive = next((repo / "targets").glob("*.tar.gz")).name
    target = store.client.head_object(Bucket="updates", Key=f"bot/stable/targets/{archive}")
    assert target["CacheControl"] == IMMUTABLE

    again = run_tools(repo, keys, "publish", *to)
    assert again.returncode == 0 and "published 0 changed file(s)" in again.stdout

    # metadata is compared by content, not only by size: a same-size stray copy is replaced
    root_bytes = (repo / "metadata" / "1.root.json").read_bytes()
    stray = bytes(len(root_bytes))
    store.client.put_object(Bucket="updates", Key="bot/stable/metadata/1.root.json", Body=stray)
    repaired = run_tools(repo, keys, "publish", *to)
    assert "published 1 changed file(s)" in repaired.stdout
    assert store.digest("updates", "bot/stable/") == published_digest(repo)

    make_bundle(bundle, "two")
    assert (
        run_tools(repo, keys, "release", "--bundle", str(bundle), "--bump", "patch").returncode == 0
    )
    assert run_tools(repo, keys, "prune", "--keep", "1").returncode == 0
    # objects beside the repository (a download page, say) are never deleted
    store.client.put_object(Bucket="updates", Key="bot/stable/index.html", Body=b"<h1>bot</h1>")
    pruned = run_tools(repo, keys, "publish", *to, "--delete")
    assert pruned.returncode == 0, pruned.stderr
    assert "deleted" in pruned.stdout
    beside = store.client.get_object(Bucket="updates", Key="bot/stable/index.html")
    assert beside["Body"].read() == b"<h1>bot</h1>"
    store.client.delete_object(Bucket="updates", Key="bot/stable/index.html")
    assert store.digest("updates", "bot/stable/") == published_digest(repo)


def test_release_and_refresh_publish_to_the_configured_bucket(store: Store, released) -> None:
    repo, keys, bundle = released
    configure(repo, publish_to="s3://updates/bot", publish_endpoint_url=store.endpoint)
    make_bundle(bundle, "two")
    result = run_tools(repo, keys, "release", "--bundle", str(bundle), "--bump", "patch")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.1.1"  # stdout stays the version alone, for scripts
    assert "published" in result.stderr
    assert store.digest("updates", "bot/") == published_digest(repo)

    before = store.digest("updates", "bot/")
    make_bundle(bundle, "three")
    held = run_tools(
        repo, keys, "release", "--bundle", str(bundle), "--bump", "patch", "--no-publish"
    )
    assert held.returncode == 0, held.stderr
    assert store.digest("updates", "bot/") == before

    refreshed = run_tools(repo, keys, "refresh", "--force")
    assert refreshed.returncode == 0, refreshed.stderr
    assert store.digest("updates", "bot/") == published_digest(repo)

    # root keys away: refresh re-signs and uploads what it can, then fails naming root
    shutil.move(keys / "offline", keys.parent / "vault")
    blocked = run_tools(repo, keys, "refresh", "--force")
    assert blocked.returncode == 1 and "root expires" in blocked.stderr
    assert "timestamp" in blocked.stdout
    assert store.digest("updates", "bot/") == published_digest(repo)


def test_a_failed_upload_after_a_release_keeps_the_release_and_says_what_to_do(
    store: Store, released
) -> None:
    repo, keys, bundle = released
    configure(repo, publish_to="s3://missing-bucket/bot", publish_endpoint_url=store.endpoint)
    make_bundle(bundle, "two")
    result = run_tools(repo, keys, "release", "--bundle", str(bundle), "--bump", "patch")
    assert result.returncode == 1
    assert "released 0.1.1 locally, but publishing to s3://missing-bucket/bot failed" in (
        result.stderr
    )
    assert "'missing-bucket' does not exist" in result.stderr
    assert "repo-tools publish" in result.stderr and "Traceback" not in result.stderr
    assert run_tools(repo, keys, "verify").returncode == 0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("missing bucket", "'nope' does not exist: create it"),
        ("unreachable", "cannot reach the object store at http://127.0.0.1:"),
        ("no credentials", "no credentials for the object store"),
        ("plain http elsewhere", "is not allowed: use https://"),
        ("no bucket name", "does not name a bucket"),
    ],
)
def test_publish_failures_are_clear_and_change_nothing(
    store: Store, released, monkeypatch: pytest.MonkeyPatch, case: str, fragment: str
) -> None:
    repo, keys, _ = released
    bucket, endpoint = "s3://updates/bot", store.endpoint
    if case == "missing bucket":
        bucket = "s3://nope/bot"
    elif case == "unreachable":
        endpoint = f"http://127.0.0.1:{closed_port()}"
    elif case == "no credentials":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    elif case == "plain http elsewhere":
        endpoint = "http://updates.example.org"
    elif case == "no bucket name":
        bucket = "s3:///bot"
    before = published_digest(repo)
    result = run_tools(repo, keys, "publish", "--to", bucket, "--endpoint-url", endpoint)
    assert result.returncode == 1, result.stdout + result.stderr
    assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert published_digest(repo) == before


def test_invalid_publishing_settings_name_the_key(released) -> None:
    repo, keys, _ = released
    configure(repo, publish_to="s3://Bad_Bucket!/x")
    result = run_tools(repo, keys, "publish")
    assert result.returncode == 1 and "does not name a bucket" in result.stderr
    configure(repo, publish_to="", publish_endpoint_url="https://store.example")
    result = run_tools(repo, keys, "refresh")
    assert result.returncode == 1 and "publish_endpoint_url is set but publish_to" in result.stderr
    configure(repo, publish_endpoint_url="")
    result = run_tools(repo, keys, "publish")
    assert result.returncode == 1 and "nowhere to publish: give --to" in result.stderr


def test_addresses_endpoints_and_cache_rules() -> None:
    address = parse_bucket_address("s3://updates//bot/stable/")
    assert (address.bucket, address.prefix) == ("updates", "bot/stable/")
    assert address.key("metadata/1.root.json") == "bot/stable/metadata/1.root.json"
    assert parse_bucket_address("s3://updates").prefix == ""
    assert parse_bucket_address("/srv/www") is None
    for bad in ("s3://", "s3://a", "s3://UPPER/x", "s3://has space/x"):
        with pytest.raises(RepoError, match="does not name a bucket"):
            parse_bucket_address(bad)
    for good in ("", "https://s3.example.org", "http://127.0.0.1:9000", "http://[::1]:9000"):
        check_endpoint_url(good)
    for bad in ("http://s3.example.org", "ftp://127.0.0.1", "https://", "s3.example.org"):
        with pytest.raises(RepoError, match="not allowed"):
            check_endpoint_url(bad)
    assert cache_control("metadata/timestamp.json") == "no-cache"
    assert cache_control("metadata/root.json") == "no-cache"
    assert cache_control("metadata/snapshot.json") == "no-cache"
    assert cache_control("metadata/12.snapshot.json") == IMMUTABLE
    assert cache_control("targets/ab12.bot-1.0.0.tar.gz") == IMMUTABLE
    assert named_by_content("targets/ab12.bot-1.0.0.tar.gz")
    assert not named_by_content("metadata/3.snapshot.json")
