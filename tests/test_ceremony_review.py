"""A holder sees what they sign: the draft root against the published root, a confirmation,
and drafts that do not follow from the published root refused before anyone signs."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata, Root

from repo_tools.changes import FOLLOWS_FIELD, HOLDER_FIELD, compare_roots
from repo_tools.holder_keys import read_public_key
from repo_tools.repository import SERIALIZER
from tests.support.bundles import make_bundle
from tests.support.files import tree_digest
from tests.support.publisher import refused, run_tools, tools_ok


@pytest.fixture
def ceremony_repo(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Root keys 2 of 3 held away from the release machine, one release, a draft begun that
    rotates the timestamp key."""
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    tools_ok(repo, keys, "init", "--app-name", "bot", "--root-keys", "3", "--root-threshold", "2")
    tools_ok(repo, keys, "release", "--bump", "minor", "--bundle", str(make_bundle(tmp_path / "b")))
    vault = tmp_path / "vault"
    shutil.move(keys / "offline", vault)
    tools_ok(repo, keys, "ceremony", "begin", "--rotate", "timestamp")
    return repo, keys, vault


def draft_file(repo: Path) -> Path:
    return repo / "ceremony" / "root.draft.json"


def edit_draft(repo: Path, change) -> None:
    """What someone with write access to the release machine could do between begin and sign."""
    md: Metadata[Root] = Metadata.from_file(str(draft_file(repo)))
    change(md.signed)
    md.to_file(str(draft_file(repo)), SERIALIZER)


def sign(repo: Path, keys: Path, key: Path, *args: str, answer: str = ""):
    return run_tools(repo, keys, "ceremony", "sign", "--key", str(key), *args, input=answer)


def test_a_holder_sees_an_edited_draft_and_refuses_it(ceremony_repo, tmp_path: Path) -> None:
    repo, keys, vault = ceremony_repo
    tools_ok(repo, keys, "keygen", "--no-encrypt", "--holder", "mallory", "--out",
             str(tmp_path / "mallory.pem"))  # fmt: skip
    attacker = read_public_key(tmp_path / "mallory.pem.pub.json")

    def attack(root: Root) -> None:
        root.expires = datetime(2099, 1, 1, tzinfo=UTC)
        root.add_key(attacker, "root")

    edit_draft(repo, attack)
    before = tree_digest(repo)
    shown = sign(repo, keys, vault / "root-1.pem", answer="n\n")
    assert shown.returncode == 1 and "not confirmed" in shown.stderr, shown.stderr
    summary = shown.stdout
    assert "root version 1 -> 2" in summary
    assert "expires 2099-01-01" in summary and "more than two years" in summary
    assert "root: threshold 2 of 3 -> 2 of 4" in summary
    assert f"+ added   {attacker.keyid} (ed25519, mallory)" in summary
    assert "timestamp: threshold 1 of 1 -> 1 of 1 (online key rotated)" in summary
    assert "signed by: nobody yet" in summary
    assert tree_digest(repo) == before  # the draft carries no signature
    # status shows the same to whoever looks
    assert "mallory" in tools_ok(repo, keys, "ceremony", "status")
    # no terminal and no --yes: nothing is signed either
    silent = run_tools(repo, keys, "ceremony", "sign", "--key", str(vault / "root-2.pem"))
    assert silent.returncode == 1 and "not confirmed" in silent.stderr
    assert tree_digest(repo) == before


def test_an_unedited_draft_is_shown_then_signed_and_status_names_the_signers(
    ceremony_repo,
) -> None:
    repo, keys, vault = ceremony_repo
    signed = sign(repo, keys, vault / "root-1.pem", answer="y\n")
    assert signed.returncode == 0, signed.stderr
    assert "timestamp: threshold 1 of 1 -> 1 of 1 (online key rotated)" in signed.stdout
    assert "+ added" in signed.stdout and "online timestamp key" in signed.stdout
    assert "root: unchanged (2 of 3 keys)" in signed.stdout
    assert "WARNING" not in signed.stdout and "REFUSED" not in signed.stdout
    assert "1/2 signatures from the current root keys" in signed.stdout
    status = tools_ok(repo, keys, "ceremony", "status")
    assert "signed by: " in status and "(root-1)" in status and "root-2" not in status
    tools_ok(repo, keys, "ceremony", "sign", "--yes", "--key", str(vault / "root-2.pem"))
    assert "ready to finish" in tools_ok(repo, keys, "ceremony", "status")
    tools_ok(repo, keys, "ceremony", "finish")


def _skip_a_version(root: Root) -> None:
    root.version += 1


def _another_base(root: Root) -> None:
    root.unrecognized_fields[FOLLOWS_FIELD] = "0" * 64


def _impossible_threshold(root: Root) -> None:
    root.roles["snapshot"].threshold = 2


def _online_key_swapped_by_hand(root: Root) -> None:
    snapshot_key = root.keys[root.roles["snapshot"].keyids[0]]
    root.revoke_key(snapshot_key.keyid, "snapshot")
    root.add_key(root.keys[root.roles["timestamp"].keyids[0]], "snapshot")


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (_skip_a_version, "only version 2 can follow it"),
        (_another_base, "does not follow the published root"),
        (_impossible_threshold, "snapshot threshold 2 needs between 1 and 1 keys"),
        (_online_key_swapped_by_hand, "changes the snapshot keys, but this ceremony made no"),
    ],
    ids=["version-skipped", "another-base", "threshold", "online-key-by-hand"],
)
def test_a_draft_finish_would_refuse_is_never_signed(ceremony_repo, edit, named) -> None:
    repo, keys, vault = ceremony_repo
    edit_draft(repo, edit)
    before = tree_digest(repo)
    result = sign(repo, keys, vault / "root-1.pem", "--yes")
    refused(result, "refusing to sign this root draft", named, "Nothing was signed")
    assert tree_digest(repo) == before
    out = repo.parent / "request.json"
    refused(run_tools(repo, keys, "ceremony", "export", "--out", str(out)), named)
    assert not out.exists()
    assert "REFUSED: " in tools_ok(repo, keys, "ceremony", "status")


def test_the_summary_is_decided_from_the_two_roots_alone(ceremony_repo) -> None:
    """Pure: compare_roots on plain metadata (what an air-gapped machine runs too)."""
    repo, _, _ = ceremony_repo
    current = Metadata.from_file(str(repo / "metadata" / "1.root.json"))
    draft = Metadata.from_file(str(draft_file(repo)))
    changes = compare_roots(current, draft, datetime.now(UTC))
    assert not changes.problems and not changes.warnings
    key = next(iter(draft.signed.keys.values()))
    key.unrecognized_fields[HOLDER_FIELD] = "renamed"  # same key id, other content
    changes = compare_roots(current, draft, datetime.now(UTC))
    assert any("another public key in the draft" in p for p in changes.problems)
    data = json.loads(draft_file(repo).read_text())
    assert data["signed"][FOLLOWS_FIELD] == changes_fingerprint(current)


def changes_fingerprint(md: Metadata) -> str:
    from repo_tools.changes import fingerprint

    return fingerprint(md)
