"""The TUF specification's attacks, each by a real hostile HTTPS server on loopback.

Every test: the client installed at 1.0.0 trusts the repository; the server then does exactly
one hostile thing while 1.1.0 is published. Asserted each time (World.refused): the update
fails with an `error` event whose message says what happened, `update-client update` exits 1
with that message, nothing new under versions/, `current` still 1.0.0 with its files intact,
the application still launches, staging is empty and history records the failed attempt.
"""

from __future__ import annotations

import json
import time

import pytest
from tuf.api.metadata import Metadata

from tests.support.bundles import write_app
from tests.support.hostile_servers import (
    Gate,
    answer,
    answer_endless,
    answer_trickle,
    local_file,
    reset_connection,
    serve_ranges,
)
from tests.support.install import launch, without_delta_base
from tests.support.signing import bundle_tar, publish_archive, publish_root_v2, resign_md, signer
from tests.support.world import World

pytestmark = pytest.mark.timeout(120)

NOTHING = ("nothing was installed",)


def _timestamp(w: World) -> Metadata:
    return Metadata.from_bytes((w.repo / "metadata" / "timestamp.json").read_bytes())


# -- arbitrary installation ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["patch", "full", "manifest"])
def test_arbitrary_installation_target_bytes_replaced(world: World, method: str) -> None:
    """The targets replaced by other bytes of the same length: the delta and then the pack it
    falls back to, the pack alone (no delta base), or the signed manifest."""
    if method == "full":
        without_delta_base(world.layout, "1.0.0")
    attacked = (".manifest.zst",) if method == "manifest" else (".delta", ".tar.zst")

    def hook(h) -> bool:
        if h.path.startswith("/targets/") and h.path.endswith(attacked):
            size = local_file(world.repo, h).stat().st_size
            return answer(h, (b"\x1f\x8bEVIL" * (size // 6 + 1))[:size])
        return False

    world.hook = hook
    world.refused(
        ("does not match its signed length or hash", "tampered") + NOTHING, "verification"
    )
    requested = [p for p in world.server.requests if p.startswith("/targets/")]
    assert any(p.endswith(attacked) for p in requested), requested
    if method == "patch":  # the delta failed: the same update tried the pack
        assert any(p.endswith(".tar.zst") for p in requested), requested
    world.honest_update_works()


def test_arbitrary_installation_forged_targets_metadata(world: World) -> None:
    """Targets metadata listing the attacker's archive, signed by a key the root does not trust."""
    from securesystemslib.signer import CryptoSigner

    attacker = CryptoSigner.generate_ed25519()

    def hook(h) -> bool:
        if h.path.endswith("targets.json"):
            md = Metadata.from_bytes(local_file(world.repo, h).read_bytes())
            return answer(h, resign_md(md, attacker, bump=0))
        return False

    world.hook = hook
    # the snapshot pins the hash of targets metadata: the forgery fails before its signature
    world.refused(("does not match its signed length or hash",) + NOTHING, "verification")


# -- rollback -----------------------------------------------------------------------------------


def test_rollback_older_timestamp(world: World) -> None:
    world.trust_current()
    old = (world.old_metadata / "timestamp.json").read_bytes()
    world.hook = lambda h: h.path.endswith("/timestamp.json") and answer(h, old)
    world.refused(("older metadata", "rollback") + NOTHING, "rollback_attack")


def test_rollback_older_snapshot_with_a_stolen_timestamp_key(world: World) -> None:
    """Even with the timestamp key, an attacker cannot point the client at an older snapshot."""
    world.trust_current()
    old_snapshot_version = json.loads((world.old_metadata / "timestamp.json").read_bytes())[
        "signed"
    ]["meta"]["snapshot.json"]["version"]
    ts = _timestamp(world)
    ts.signed.snapshot_meta.version = old_snapshot_version
    ts.signed.snapshot_meta.hashes = None
    ts.signed.snapshot_meta.length = None
    data = resign_md(ts, signer(world.keys, "online/timestamp.pem"))
    world.hook = lambda h: h.path.endswith("/timestamp.json") and answer(h, data)
    world.refused(("older metadata", "rollback") + NOTHING, "rollback_attack")


def test_rollback_older_targets_with_stolen_snapshot_and_timestamp_keys(world: World) -> None:
    world.trust_current()
    metadata = world.repo / "metadata"
    old_targets_version = json.loads((world.old_metadata / "snapshot.json").read_bytes())["signed"][
        "meta"
    ]["targets.json"]["version"]
    snapshot = Metadata.from_bytes((metadata / "snapshot.json").read_bytes())
    snapshot.signed.meta["targets.json"].version = old_targets_version
    snapshot.signed.meta["targets.json"].hashes = None
    snapshot.signed.meta["targets.json"].length = None
    snapshot_bytes = resign_md(snapshot, signer(world.keys, "online/snapshot.pem"))
    version = snapshot.signed.version
    (metadata / f"{version}.snapshot.json").write_bytes(snapshot_bytes)
    ts = _timestamp(world)
    ts.signed.snapshot_meta.version = version
    ts.signed.snapshot_meta.hashes = None
    ts.signed.snapshot_meta.length = None
    (metadata / "timestamp.json").write_bytes(
        resign_md(ts, signer(world.keys, "online/timestamp.pem"))
    )
    world.refused(("older metadata", "rollback") + NOTHING, "rollback_attack")


# -- fast-forward -------------------------------------------------------------------------------


def test_fast_forward_by_an_unsigned_huge_version_is_refused(world: World) -> None:
    """A timestamp claiming version 10**9, signed by a key the root does not trust: refused,
    and the trusted timestamp is not moved forward (later honest updates still work)."""
    from securesystemslib.signer import CryptoSigner

    world.trust_current()
    trusted = (world.layout.metadata_dir / "timestamp.json").read_bytes()
    ts = _timestamp(world)
    data = resign_md(ts, CryptoSigner.generate_ed25519(), bump=10**9)
    world.hook = lambda h: h.path.endswith("/timestamp.json") and answer(h, data)
    world.refused(("signature verification failed", "timestamp") + NOTHING, "signature")
    assert (world.layout.metadata_dir / "timestamp.json").read_bytes() == trusted
    world.honest_update_works()


def test_fast_forward_recovery_after_timestamp_key_rotation(world: World) -> None:
    """A stolen timestamp key fast-forwards the client to timestamp version 10**6. The
    publisher rotates the timestamp key (root v2, signed by both root keys) and publishes an
    honest timestamp with a normal version: the client recovers instead of refusing forever."""
    from securesystemslib.signer import CryptoSigner

    from repo_tools.repository import SERIALIZER

    metadata = world.repo / "metadata"
    stolen = signer(world.keys, "online/timestamp.pem")
    honest_ts = (metadata / "timestamp.json").read_bytes()
    world.trust_current()
    forwarded = resign_md(_timestamp(world), stolen, bump=10**6)
    world.hook = lambda h: h.path.endswith("/timestamp.json") and answer(h, forwarded)
    updater, _ = world.updater()
    updater.check()  # validly signed: the client now trusts version 10**6
    assert (
        json.loads(world.layout.metadata_dir.joinpath("timestamp.json").read_bytes())["signed"][
            "version"
        ]
        > 10**6
    )
    world.hook = None
    # the honest (lower) timestamp is now refused: that is the fast-forward attack's harm
    (metadata / "timestamp.json").write_bytes(resign_md(Metadata.from_bytes(honest_ts), stolen))
    world.fails(("older metadata",), "rollback_attack")
    # recovery: new timestamp key in root v2, honest timestamp signed with it
    new_key = CryptoSigner.generate_ed25519()
    root = Metadata.from_bytes((metadata / "1.root.json").read_bytes())
    for keyid in list(root.signed.roles["timestamp"].keyids):
        root.signed.revoke_key(keyid, "timestamp")
    root.signed.add_key(new_key.public_key, "timestamp")
    root_bytes = publish_root_v2(world.repo, world.keys, root)
    (metadata / "timestamp.json").write_bytes(resign_md(Metadata.from_bytes(honest_ts), new_key))
    world.server.requests.clear()
    world.honest_update_works()
    trusted = Metadata.from_bytes((world.layout.metadata_dir / "root.json").read_bytes())
    assert trusted.signed.version == 2 and trusted.to_bytes(SERIALIZER) == root_bytes
    assert "/metadata/2.root.json" in world.server.requests


# -- indefinite freeze --------------------------------------------------------------------------


def test_indefinite_freeze_expired_timestamp(world: World) -> None:
    """A validly signed timestamp that expired yesterday, served forever."""
    ts = _timestamp(world)
    data = resign_md(ts, signer(world.keys, "online/timestamp.pem"), days=-1)
    expires = Metadata.from_bytes(data).signed.expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    world.hook = lambda h: h.path.endswith("/timestamp.json") and answer(h, data)
    error = world.refused(("timestamp metadata expired", expires, "repo-tools refresh"), "expired")
    assert "nothing was installed" in error.message


def test_indefinite_freeze_replaying_the_trusted_timestamp_after_it_expired(world: World) -> None:
    """The client already trusts a timestamp; the server keeps serving that same one after its
    expiry (no newer version ever reaches the client)."""
    ts = _timestamp(world)
    data = resign_md(ts, signer(world.keys, "online/timestamp.pem"), days=30 / 86400)
    (world.repo / "metadata" / "timestamp.json").write_bytes(data)
    world.trust_current()  # 30 s of validity: room for a slow machine to trust it first
    expires = Metadata.from_bytes(data).signed.expires.timestamp()
    time.sleep(max(0.0, expires - time.time()) + 1)
    world.refused(("timestamp metadata expired", "repo-tools refresh"), "expired")


# -- endless data -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["timestamp.json", "snapshot.json", "targets.json", "2.root.json"])
def test_endless_metadata(world: World, role: str) -> None:
    world.hook = lambda h: h.path.endswith(role) and answer_endless(h)
    world.refused(("more than the allowed", "endless data"), "too_large")


def test_endless_target_body(world: World) -> None:
    """Targets that never end: the client stops at the signed length."""
    sizes: dict[str, int] = {}

    def hook(h) -> bool:
        if h.path.startswith("/targets/"):
            path = local_file(world.repo, h)
            sizes[h.path] = path.stat().st_size
            return answer_endless(h, prefix=path.read_bytes())
        return False

    world.hook = hook
    world.refused(("more than its signed length", "endless data"), "too_large")
    assert sizes, "no target was requested"
    # whatever the client kept of the requested targets (`<name>`, `.<hash>.<name>.part`)
    names = {path.rsplit("/", 1)[-1].split(".", 1)[1] for path in sizes}
    kept = [p for p in world.layout.targets_dir.iterdir() if any(n in p.name for n in names)]
    assert all(p.stat().st_size <= max(sizes.values()) for p in kept)


def test_target_longer_than_signed_with_honest_content_length(world: World) -> None:
    def hook(h) -> bool:
        if h.path.startswith("/targets/"):
            return answer(h, local_file(world.repo, h).read_bytes() + b"X" * 5_000_000)
        return False

    world.hook = hook
    world.refused(("more than its signed length",), "too_large")


# -- slow retrieval -----------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["/timestamp.json", "/targets/"])
def test_slow_retrieval_gives_up_within_the_deadline(world: World, what: str) -> None:
    """1 byte a second (each read returns in time, so only the overall deadline can help)."""
    deadline = 3
    world.configure(deadline_seconds=deadline, read_timeout_seconds=5)

    def hook(h) -> bool:
        if what in h.path:
            return answer_trickle(h, local_file(world.repo, h).read_bytes(), limit=60)
        return False

    world.hook = hook
    started = time.monotonic()
    world.fails(("deadline of 3 s exceeded", "slow retrieval"), "slow")
    # the trickle would last 60 s: well under that proves the deadline, with room for a slow CI
    assert time.monotonic() - started < deadline + 15
    world.assert_nothing_installed(("deadline",))
    started = time.monotonic()
    world.assert_cli_fails(("deadline of 3 s exceeded",))
    assert time.monotonic() - started < deadline + 20  # + interpreter start-up


def test_stalled_server_read_timeout(world: World) -> None:
    """A server that sends headers and then nothing at all: the read timeout ends it."""
    gate = Gate()
    world.configure(read_timeout_seconds=1, deadline_seconds=30)

    def hook(h) -> bool:
        if h.path.endswith("/timestamp.json"):
            h.send_response(200)
            h.send_header("Content-Length", "500")
            h.end_headers()
            gate.stall(60)
            return True
        return False

    world.hook = hook
    started = time.monotonic()
    world.fails(("too slow or stalled",), "slow")
    gate.release.set()
    assert time.monotonic() - started < 30  # the server would stall for 60 s
    world.assert_nothing_installed(("stalled",))


# -- mix-and-match ------------------------------------------------------------------------------


def test_mix_and_match_targets_of_another_release(world: World) -> None:
    """The new snapshot, but the targets metadata of the previous release under its name."""
    old_targets = (world.old_metadata / "targets.json").read_bytes()
    world.hook = lambda h: h.path.endswith(".targets.json") and answer(h, old_targets)
    world.refused(("does not match its signed length or hash",) + NOTHING, "verification")


def test_mix_and_match_snapshot_of_another_release(world: World) -> None:
    old_snapshot = (world.old_metadata / "snapshot.json").read_bytes()
    world.hook = lambda h: h.path.endswith(".snapshot.json") and answer(h, old_snapshot)
    world.refused(("does not match its signed length or hash",) + NOTHING, "verification")


# -- malicious mirrors --------------------------------------------------------------------------


def _evil_targets(world: World):
    def hook(h) -> bool:
        if h.path.startswith("/targets/"):
            size = local_file(world.repo, h).stat().st_size
            return answer(h, b"\0" * size)
        return False

    return hook


def test_malicious_first_mirror_honest_second(world: World, https_server) -> None:
    evil = https_server(world.repo, _evil_targets(world))
    world.mirrors(evil.url, world.url)
    updater, events = world.updater()
    assert updater.update() == "1.1.0"
    assert any(r.startswith("/targets/") for r in evil.requests)
    downloaded = [r for r in world.history() if r["event"] == "downloaded"][-1]
    assert downloaded["server"] == f"{world.url}/metadata"
    assert world.layout.current_version() == "1.1.0"
    assert launch(world.root).startswith("app 1.1.0")


def test_malicious_first_mirror_truncates_then_resets(world: World, https_server) -> None:
    """Mirror 1 sends half of each target as garbage, then drops the connection; the partial
    bytes must not poison the download from the honest mirror 2, which supports HTTP Range
    like any CDN (a resumed file that fails verification is downloaded again whole)."""
    world.hook = serve_ranges(world.repo)

    def hook(h) -> bool:
        if h.path.startswith("/targets/"):
            size = local_file(world.repo, h).stat().st_size
            return reset_connection(h, after=b"\0" * (size // 2), total=size)
        return False

    evil = https_server(world.repo, hook)
    world.mirrors(evil.url, world.url)
    updater, _ = world.updater()
    assert updater.update() == "1.1.0"
    assert any(r.startswith("/targets/") for r in evil.requests)
    assert launch(world.root).startswith("app 1.1.0")


def test_both_mirrors_malicious(world: World, https_server) -> None:
    evil1 = https_server(world.repo, _evil_targets(world))
    evil2 = https_server(world.repo, _evil_targets(world))
    world.mirrors(evil1.url, evil2.url)
    error = world.refused(("all 2 update servers failed", "signed length or hash"))
    assert evil1.url in error.message and evil2.url in error.message


# -- wrong software -----------------------------------------------------------------------------


def test_wrong_software_correctly_signed_archive_of_another_application(world: World) -> None:
    """The publisher's targets key signed, as demo 2.0.0, an archive whose bundle is another
    application: verified bytes, but the wrong software; refused at install."""
    other = write_app(world.tmp / "other-bundle", "other app")
    tar, unpacked = bundle_tar(world.repo, other, "otherapp", "2.0.0")
    publish_archive(world.repo, world.keys, tar, "2.0.0", unpacked, world.tmp / "work")
    world.refused(("install refused", "wrong software", "otherapp") + NOTHING, "install")


def test_wrong_software_target_of_another_application_is_never_chosen(world: World) -> None:
    """A correctly signed release of another application in the same repository is ignored."""
    other = write_app(world.tmp / "other-bundle", "other app")
    tar, unpacked = bundle_tar(world.repo, other, "otherapp", "9.0.0")
    publish_archive(world.repo, world.keys, tar, "9.0.0", unpacked, world.tmp / "w", app="otherapp")
    updater, _ = world.updater()
    assert updater.update() == "1.1.0"
    assert not any("otherapp" in r for r in world.server.requests)


# -- key compromise below threshold -------------------------------------------------------------


def test_root_key_compromise_below_threshold(world: World) -> None:
    """The attacker holds one of the two root keys (threshold 2) and publishes a root v2 that
    hands every role to their own key, signed by the stolen key and their new one."""
    from securesystemslib.signer import CryptoSigner

    metadata = world.repo / "metadata"
    attacker = CryptoSigner.generate_ed25519()
    root = Metadata.from_bytes((metadata / "1.root.json").read_bytes())
    for role in ("root", "targets", "snapshot", "timestamp"):
        for keyid in list(root.signed.roles[role].keyids):
            root.signed.revoke_key(keyid, role)
        root.signed.add_key(attacker.public_key, role)
        root.signed.roles[role].threshold = 1
    data = resign_md(root, signer(world.keys, "offline/root-1.pem"), attacker, days=365)
    world.hook = lambda h: h.path.endswith("/2.root.json") and answer(h, data)
    world.refused(("signature verification failed", "root") + NOTHING, "signature")


def test_metadata_signed_by_one_of_two_required_keys(world: World) -> None:
    """Targets role raised to threshold 2 (two targets keys) by an honest root v2; the attacker
    has one targets key (plus snapshot and timestamp keys) and signs a new targets with it."""
    from securesystemslib.signer import CryptoSigner

    metadata = world.repo / "metadata"
    second = CryptoSigner.generate_ed25519()
    root = Metadata.from_bytes((metadata / "1.root.json").read_bytes())
    root.signed.add_key(second.public_key, "targets")
    root.signed.roles["targets"].threshold = 2
    publish_root_v2(world.repo, world.keys, root)
    stolen = signer(world.keys, "online/targets.pem")  # the repository's own targets key
    targets_role = root.signed.roles["targets"]
    assert stolen.public_key.keyid in targets_role.keyids
    assert len(targets_role.keyids) == 2 and targets_role.threshold == 2
    targets = Metadata.from_bytes((metadata / "targets.json").read_bytes())
    targets_bytes = resign_md(targets, signer(world.keys, "online/targets.pem"))
    version = targets.signed.version
    for name in (f"{version}.targets.json", "targets.json"):
        (metadata / name).write_bytes(targets_bytes)
    snapshot = Metadata.from_bytes((metadata / "snapshot.json").read_bytes())
    snapshot.signed.meta["targets.json"].version = version
    snapshot.signed.meta["targets.json"].hashes = None
    snapshot.signed.meta["targets.json"].length = None
    snapshot_bytes = resign_md(snapshot, signer(world.keys, "online/snapshot.pem"))
    (metadata / f"{snapshot.signed.version}.snapshot.json").write_bytes(snapshot_bytes)
    ts = _timestamp(world)
    ts.signed.snapshot_meta.version = snapshot.signed.version
    ts.signed.snapshot_meta.hashes = None
    ts.signed.snapshot_meta.length = None
    (metadata / "timestamp.json").write_bytes(
        resign_md(ts, signer(world.keys, "online/timestamp.pem"))
    )
    world.refused(("signature verification failed", "targets") + NOTHING, "signature")
