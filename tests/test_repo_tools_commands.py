"""Library functions behind `repo-tools` commands, called directly: where `publish` goes,
`rotate-key` in one call, and the result dataclasses the CLI formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repo_tools import ceremony
from repo_tools.config import ConfigError, PublisherConfig
from repo_tools.destination import DestinationKind
from repo_tools.errors import RepoError
from repo_tools.init import init_repository
from repo_tools.keys import load as load_key
from repo_tools.keys import online_key_path
from repo_tools.publish import choose_destination, destination_for, publish_configured
from repo_tools.repository import load_roles
from repo_tools.rotate import RotationAbandoned, rotate_key
from repo_tools.status import repository_status
from repo_tools.verify import verify_repository

S3 = "s3://updates/bot"
LOCAL_STORE = "http://127.0.0.1:9000"


def configured(publish_to: str = "", publish_endpoint_url: str = "") -> PublisherConfig:
    config = PublisherConfig(
        "bot", publish_to=publish_to, publish_endpoint_url=publish_endpoint_url
    )
    return config.validate()


def test_the_command_line_destination_wins_over_the_configured_one() -> None:
    config = configured(publish_to=S3, publish_endpoint_url=LOCAL_STORE)
    chosen = choose_destination(None, None, config)
    assert (chosen.address, chosen.endpoint_url, chosen.kind) == (S3, LOCAL_STORE, "s3")
    assert chosen.bucket is not None and chosen.bucket.key("metadata/x") == "bot/metadata/x"
    other = choose_destination("s3://other", None, config)
    assert (other.address, other.endpoint_url) == ("s3://other", LOCAL_STORE)
    aws = choose_destination("s3://other", "", config)  # an empty --endpoint-url means AWS
    assert aws.endpoint_url == "" and aws.kind is DestinationKind.BUCKET
    folder = choose_destination("/srv/updates", "", config)
    assert folder.kind is DestinationKind.FOLDER and folder.bucket is None


def test_destination_problems_are_named_before_anything_is_contacted() -> None:
    with pytest.raises(ConfigError, match="nowhere to publish: give --to"):
        choose_destination(None, None, configured())
    config = configured(publish_to=S3, publish_endpoint_url=LOCAL_STORE)
    with pytest.raises(RepoError, match="--endpoint-url is for s3:// destinations"):
        choose_destination("/srv/updates", None, config)  # the configured endpoint, a folder
    with pytest.raises(RepoError, match="not allowed"):
        destination_for(S3, "http://store.example:9000")
    with pytest.raises(RepoError, match="does not name a bucket"):
        destination_for("s3://A/b")


def test_nothing_is_published_without_publish_to(tmp_path: Path) -> None:
    assert publish_configured(tmp_path / "repo", configured()) is None


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Path, Path]:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    init_repository(repo, keys, PublisherConfig(app_name="bot"), root_keys=2, root_threshold=2)
    return repo, keys


def test_rotate_key_finishes_when_the_root_keys_are_at_hand(fresh) -> None:
    repo, keys = fresh
    old = load_key(online_key_path(keys, "timestamp")).keyid
    rotation = rotate_key(repo, keys, "timestamp")
    assert rotation.finished and rotation.root_version == 2
    assert rotation.progress.complete and rotation.progress.old_signed == 2
    new = load_key(online_key_path(keys, "timestamp")).keyid
    assert new != old and load_roles(repo).root.signed.roles["timestamp"].keyids == [new]
    assert len(list((keys / "retired").glob("timestamp-*.pem"))) == 1
    assert not ceremony.draft_path(repo).exists()
    assert verify_repository(repo).ok


def test_rotate_key_waits_for_missing_root_signatures(fresh, tmp_path: Path) -> None:
    repo, keys = fresh
    (keys / "offline" / "root-2.pem").rename(tmp_path / "root-2.pem")  # held elsewhere
    rotation = rotate_key(repo, keys, "snapshot")
    assert not rotation.finished and rotation.root_version is None
    assert (rotation.progress.old_signed, rotation.progress.old_threshold) == (1, 2)
    assert ceremony.draft_path(repo).exists()
    signed = ceremony.sign_draft(repo, tmp_path / "root-2.pem", keys, lambda _: True)
    assert signed.progress.complete and signed.progress == ceremony.status(repo)
    assert ceremony.finish(repo, keys).rotated == ["snapshot"]
    assert load_roles(repo).root.signed.version == 2


def test_a_rotation_that_cannot_be_signed_leaves_nothing_behind(fresh) -> None:
    repo, keys = fresh
    (keys / "offline" / "root-1.pem").chmod(0o644)  # refused: readable by others
    with pytest.raises(RotationAbandoned, match="the rotation was abandoned, nothing changed"):
        rotate_key(repo, keys, "targets")
    assert not ceremony.draft_path(repo).exists()
    assert not ceremony.next_key_path(keys, "targets").exists()
    assert load_roles(repo).root.signed.version == 1


def test_status_is_a_dataclass_with_the_json_document_of_before(fresh) -> None:
    repo, _ = fresh
    status = repository_status(repo)
    document = json.loads(json.dumps(status.to_json()))
    assert list(document) == [
        "latest",
        "releases",
        "rollouts",
        "withdrawn",
        "patches",
        "roles",
        "root_versions",
        "metadata_bytes",
        "targets_bytes",
    ]
    assert list(document["roles"]) == ["root", "targets", "snapshot", "timestamp"]
    assert document["roles"]["root"]["threshold"] == 2 and document["roles"]["root"]["keys"] == 2
    assert list(document["roles"]["root"]) == [
        "version",
        "expires",
        "threshold",
        "keys",
        "signatures",
    ]
    assert document["latest"] == {"stable": None, "beta": None, "alpha": None}
