"""Hostile networks and hostile signed values, attacked through real HTTPS on 127.0.0.1.

Four classes of defect (docs/security-network.md):

1. every failure of the patch path falls back to the full archive within the same update;
2. a signed string reaches the file system only after a strict pattern check;
3. messages say what really happened (connection cut short, a clock that may be wrong, a
   missing ca_bundle, a trusted root of another repository);
4. an unreachable server is one sentence a user understands, the details in `error.detail`.

Every attack ends with: a clear message, nothing installed, the running version intact.
Only the fixtures of tests/conftest.py are used; helpers live in this file.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from client import UpdateError, Updater

CLIENT = str(Path(sys.executable).parent / "update-client")
DAY = 86400.0
RAW_NETWORK_WORDS = ("HTTPSConnectionPool", "Max retries", "NewConnectionError", "urllib3")


# -- helpers -----------------------------------------------------------------------------------


def updater_with_events(root: Path) -> tuple[Updater, list[Any]]:
    updater = Updater.from_config(install_root=root)
    events: list[Any] = []
    updater.on_event(events.append)
    return updater, events


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [CLIENT, "--install-root", str(root), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def launch(root: Path) -> str:
    """The installed application as a user starts it: the `current` entry point."""
    entry = root / "current" / "app.py"
    result = subprocess.run(
        [sys.executable, str(entry)], capture_output=True, text=True, timeout=60
    )
    return result.stdout.strip()


def tree(folder: Path, skip: tuple[Path, ...] = ()) -> set[str]:
    """Every path under `folder` (not below `skip`): what an escape would add to."""
    found = set()
    for path in folder.rglob("*"):
        if not any(path == s or s in path.parents for s in skip):
            found.add(str(path.relative_to(folder)))
    return found


def assert_intact(installed: Any, before: set[str] | None = None) -> None:
    """Nothing installed, the running version launches, `current` unchanged."""
    layout = installed.layout
    assert layout.current_version() == "1.0.0"
    assert sorted(p.name for p in layout.versions.iterdir()) == ["1.0.0"]
    assert launch(installed.root).startswith("app 1.0.0")
    if before is not None:
        assert tree(layout.version_dir("1.0.0")) == before


def respond(
    handler: Any,
    data: bytes,
    *,
    status: int = 200,
    length: int | None = None,
    date: str | None | bool = True,
) -> bool:
    """Answer a request ourselves: `length` may lie about the body, `date` may be any Date
    header (True: the real time, None: no Date header at all)."""
    handler.close_connection = True
    handler.send_response_only(status)
    if date is True:
        handler.send_header("Date", handler.date_time_string())
    elif date:
        handler.send_header("Date", date)
    handler.send_header("Content-Length", str(len(data) if length is None else length))
    handler.end_headers()
    try:
        handler.wfile.write(data)
        handler.wfile.flush()
    except OSError:
        pass
    return True


def served_file(repo: Path, handler: Any) -> Path:
    return repo / handler.path.lstrip("/").split("?")[0]


def resign(
    publisher: Any,
    change: Callable[[Any], None] = lambda roles: None,
    days: dict[str, int] | None = None,
    roles: tuple[str, ...] = ("targets", "snapshot", "timestamp"),
) -> None:
    """Change the repository's roles in memory and sign them with its own keys, as repo-tools
    does: correctly signed metadata whose content is hostile (what a compromised build
    machine or a careless publisher could publish)."""
    from repo_tools.keys import load_all
    from repo_tools.repository import commit_resigned, load_roles

    loaded = load_roles(publisher.repo)
    change(loaded)
    expiry = {"root": 365, "targets": 90, "snapshot": 30, "timestamp": 7, **(days or {})}
    commit_resigned(publisher.repo, loaded, load_all(publisher.keys), expiry, roles)


def edit_target(name_end: str, edit: Callable[[Any], None]) -> Callable[[Any], None]:
    """A change for `resign`: edit the signed entry of the target whose name ends so."""

    def change(roles: Any) -> None:
        (name,) = [n for n in roles.targets.signed.targets if n.endswith(name_end)]
        edit(roles.targets.signed.targets[name])

    return change


def custom_of(target: Any) -> dict[str, Any]:
    return target.unrecognized_fields["custom"]["updater"]


def downloaded_record(updater: Updater) -> dict[str, Any]:
    (record,) = [r for r in updater.history() if r["event"] == "downloaded"]
    return record


@pytest.fixture
def released(installed_app: Any) -> Iterator[Any]:
    """1.0.0 installed, 1.1.0 published (a patch 1.0.0 -> 1.1.0 and the full archive)."""
    installed_app.publisher.release("--version", "1.1.0")
    installed_app.before = tree(installed_app.layout.version_dir("1.0.0"))
    yield installed_app


# -- 1. every failure of the patch path falls back to the full archive ------------------------


def _truncate(repo: Path) -> Callable[[Any], bool]:
    def hook(h: Any) -> bool:
        if not h.path.endswith(".patch"):
            return False
        data = served_file(repo, h).read_bytes()
        return respond(h, data[: len(data) // 2], length=len(data))

    return hook


def _garbage(repo: Path) -> Callable[[Any], bool]:
    def hook(h: Any) -> bool:
        if not h.path.endswith(".patch"):
            return False
        size = served_file(repo, h).stat().st_size
        return respond(h, b"\x5a" * size)

    return hook


def _missing(repo: Path) -> Callable[[Any], bool]:
    return lambda h: h.path.endswith(".patch") and respond(h, b"gone", status=404)


@pytest.mark.parametrize(
    ("hostile", "why"),
    [(_missing, "http 404"), (_truncate, "cut short"), (_garbage, "does not match")],
    ids=["patch-404", "patch-truncated", "patch-wrong-bytes"],
)
def test_a_patch_the_server_fails_to_deliver_falls_back_to_the_full_archive(
    released: Any, hostile: Callable[[Path], Callable[[Any], bool]], why: str
) -> None:
    released.server.hook = hostile(released.publisher.repo)
    updater, events = updater_with_events(released.root)
    assert updater.check().method == "patch"
    assert updater.update() == "1.1.0"
    record = downloaded_record(updater)
    assert record["method"] == "full", record
    assert why in record["patch_fallback"].lower(), record
    (event,) = [e for e in events if e.kind == "downloaded"]
    assert event.data["method"] == "full" and event.data["patch_fallback"]
    assert launch(released.root).startswith("app 1.1.0")
    assert any(p.endswith(".tar.gz") for p in released.server.requests)


def _patched_to_other_bytes(publisher: Any, layout: Any) -> Callable[[Any], None]:
    """A correctly signed patch that applies cleanly but yields another tar."""
    from client.codec import make_patch

    base = layout.base_tar("demo", "1.0.0").read_bytes()
    return _signed_patch(publisher, make_patch(base, base + b"\0" * 1024))


def _signed_patch(publisher: Any, data: bytes, codec: str | None = None) -> Callable[[Any], None]:
    def change(roles: Any) -> None:
        from repo_tools.repository import prefixed_target_name

        (name,) = [n for n in roles.targets.signed.targets if n.endswith(".patch")]
        target = roles.targets.signed.targets[name]
        digest = hashlib.sha256(data).hexdigest()
        (publisher.repo / "targets" / prefixed_target_name(name, digest)).write_bytes(data)
        target.length, target.hashes = len(data), {"sha256": digest}
        if codec is not None:
            custom_of(target)["codec"] = codec

    return change


@pytest.mark.parametrize("case", ["codec-error", "unknown-codec", "patched-tar-wrong-hash"])
def test_a_signed_patch_that_does_not_yield_the_release_falls_back_too(
    released: Any, case: str
) -> None:
    publisher, layout = released.publisher, released.layout
    if case == "codec-error":
        change = _signed_patch(publisher, b"not a patch at all" * 10)
    elif case == "unknown-codec":
        change = _signed_patch(publisher, b"whatever" * 10, codec="bsdiff4")
    else:
        change = _patched_to_other_bytes(publisher, layout)
    resign(publisher, change)
    updater, _ = updater_with_events(released.root)
    assert updater.check().method == "patch"
    assert updater.update() == "1.1.0"
    record = downloaded_record(updater)
    assert record["method"] == "full" and record["patch_fallback"], record
    assert launch(released.root).startswith("app 1.1.0")


def test_only_the_full_archive_failing_is_an_error(released: Any) -> None:
    released.server.hook = lambda h: (
        h.path.endswith((".patch", ".tar.gz")) and respond(h, b"gone", status=404)
    )
    updater, events = updater_with_events(released.root)
    with pytest.raises(UpdateError) as caught:
        updater.update()
    assert caught.value.kind == "http", caught.value.message
    assert "demo-1.1.0.tar.gz" in caught.value.message and "404" in caught.value.message
    assert [e for e in events if e.kind == "error"]
    assert_intact(released, released.before)
    assert updater.history()[-1]["result"] == "failed"


def test_patch_fallback_through_the_command_line(released: Any) -> None:
    released.server.hook = _missing(released.publisher.repo)
    result = run_cli(released.root, "--json", "update")
    assert result.returncode == 0, (result.stdout, result.stderr)
    lines = [json.loads(line) for line in released.layout.history_file.read_text().splitlines()]
    (record,) = [r for r in lines if r["event"] == "downloaded"]
    assert record["method"] == "full" and "404" in record["patch_fallback"]
    assert launch(released.root).startswith("app 1.1.0")


# -- 2. a signed value never becomes a file path before a strict check -------------------------


def _hashes(value: dict[str, str]) -> Callable[[Any], None]:
    def edit(target: Any) -> None:
        target.hashes = value

    return edit


def _custom(key: str, value: Any) -> Callable[[Any], None]:
    def edit(target: Any) -> None:
        custom_of(target)[key] = value

    return edit


ARCHIVE, PATCH = "demo-1.1.0.tar.gz", "demo-1.1.0.from-1.0.0.patch"
ESCAPE = "/../../../escape"
GOOD = "ab" * 32
LONG = "1." + "0." * 150 + "1"  # a valid PEP 440 version; as a file name, over 255 bytes


def _renamed_archive(version: str) -> Callable[[Any], None]:
    """The 1.1.0 archive signed again under another version, its name to match."""

    def change(roles: Any) -> None:
        targets = roles.targets.signed.targets
        target = targets.pop(ARCHIVE)
        target.path = f"demo-{version}.tar.gz"
        custom_of(target)["version"] = version
        targets[target.path] = target

    return change


HOSTILE_VALUES = {  # case: (the target concerned, the change signed into targets metadata)
    "archive-sha256-path": (ARCHIVE, edit_target(ARCHIVE, _hashes({"sha256": ESCAPE}))),
    "archive-second-hash-path": (
        ARCHIVE,
        edit_target(ARCHIVE, _hashes({"sha512": ESCAPE, "sha256": GOOD})),
    ),
    "archive-tar-sha256-path": (ARCHIVE, edit_target(ARCHIVE, _custom("tar_sha256", ESCAPE))),
    "archive-version-overlong": (f"demo-{LONG}.tar.gz", _renamed_archive(LONG)),
    "archive-app-path": (ARCHIVE, edit_target(ARCHIVE, _custom("app", "../../escape"))),
    "patch-sha256-path": (PATCH, edit_target(PATCH, _hashes({"sha256": ESCAPE}))),
    "patch-codec-path": (PATCH, edit_target(PATCH, _custom("codec", "../../../escape"))),
    "patch-base-path": (PATCH, edit_target(PATCH, _custom("base", "../../../escape"))),
}


def _escape_hook(repo: Path) -> Callable[[Any], bool]:
    """What a hostile mirror adds: for a URL naming `escape`, half of the real target and
    then the connection closed (so a partial download would be kept for resuming)."""

    def hook(h: Any) -> bool:
        if "escape" not in h.path:
            return False
        name = next(n for n in (ARCHIVE, PATCH) if h.path.endswith(n))
        (target,) = (repo / "targets").glob(f"*.{name}")
        data = target.read_bytes()
        return respond(h, data[: len(data) // 2], length=len(data))

    return hook


@pytest.mark.parametrize("case", list(HOSTILE_VALUES))
def test_a_hostile_signed_value_never_reaches_the_file_system(
    released: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    name, change = HOSTILE_VALUES[case]
    patch = name.endswith(".patch")
    if not patch:
        released.layout.base_tar("demo", "1.0.0").unlink()  # no patch: the archive is fetched
    resign(released.publisher, change)
    released.server.hook = _escape_hook(released.publisher.repo)
    outside = tree(tmp_path, skip=(released.root, released.publisher.repo.parent))
    updater, _ = updater_with_events(released.root)
    refused: UpdateError | None = None
    with caplog.at_level(logging.WARNING):
        try:
            version = updater.update()
        except UpdateError as error:
            version, refused = None, error
    assert not list(tmp_path.rglob("*escape*"))
    assert tree(tmp_path, skip=(released.root, released.publisher.repo.parent)) == outside
    assert refused is None, refused.message  # ignored, with a warning: not an error
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert [w for w in warnings if f"target {name}: " in w and "ignored" in w], warnings
    if patch:  # the patch is ignored: the full archive is the way
        assert version == "1.1.0"
        assert launch(released.root).startswith("app 1.1.0")
    else:  # the only release is ignored: nothing to install, nothing changed
        assert version is None
        assert_intact(released, released.before)


def test_a_hostile_hash_is_ignored_with_a_message_on_the_command_line(released: Any) -> None:
    released.layout.base_tar("demo", "1.0.0").unlink()
    resign(released.publisher, edit_target(ARCHIVE, _hashes({"sha256": ESCAPE})))
    result = run_cli(released.root, "check")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "demo-1.1.0.tar.gz" in result.stderr and "sha256" in result.stderr
    assert "ignored" in result.stderr
    assert_intact(released, released.before)


# -- 3. messages that say what really happened ------------------------------------------------


def test_a_body_shorter_than_its_content_length_is_a_cut_short_download(released: Any) -> None:
    repo = released.publisher.repo

    def hook(h: Any) -> bool:
        if not h.path.endswith("timestamp.json"):
            return False
        data = served_file(repo, h).read_bytes()
        return respond(h, data, length=len(data) + 1000)

    released.server.hook = hook
    updater, events = updater_with_events(released.root)
    with pytest.raises(UpdateError) as caught:
        updater.check()
    message = caught.value.message
    assert "too slow or stalled" not in message, message
    assert "closed the connection early" in message and "timestamp.json" in message
    assert "try again" in message
    assert caught.value.kind == "unreachable"
    assert [e.message for e in events if e.kind == "error"] == [message]
    assert_intact(released, released.before)


def test_an_archive_cut_short_says_so_and_the_next_attempt_resumes(released: Any) -> None:
    released.layout.base_tar("demo", "1.0.0").unlink()
    repo, cut = released.publisher.repo, []

    def hook(h: Any) -> bool:
        if not h.path.endswith(".tar.gz") or cut:
            return False
        data = served_file(repo, h).read_bytes()
        cut.append(len(data))
        return respond(h, data[: len(data) // 3], length=len(data))

    released.server.hook = hook
    updater, _ = updater_with_events(released.root)
    with pytest.raises(UpdateError) as caught:
        updater.update()
    message = caught.value.message
    assert "cut short" in message and "demo-1.1.0.tar.gz" in message, message
    assert "too slow or stalled" not in message
    assert_intact(released, released.before)
    assert updater.update() == "1.1.0"


def _http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def test_a_clock_far_ahead_is_named_when_the_server_clock_disagrees(released: Any) -> None:
    """This computer says +400 days: the server's Date header says otherwise, and by the
    server's clock the refused timestamp is still valid (it was signed a moment ago)."""
    repo = released.publisher.repo
    server_now = time.time() - 400 * DAY  # i.e. this computer's clock is 400 days ahead
    resign(released.publisher, days={"timestamp": -393}, roles=("timestamp",))

    def hook(h: Any) -> bool:
        path = served_file(repo, h)
        if not path.is_file():
            return respond(h, b"not found", status=404, date=_http_date(server_now))
        return respond(h, path.read_bytes(), date=_http_date(server_now))

    released.server.hook = hook
    updater, _ = updater_with_events(released.root)
    with pytest.raises(UpdateError) as caught:
        updater.check()
    message = caught.value.message
    assert caught.value.kind == "expired"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert "this computer's clock may be wrong" in message and today in message, message
    assert "check it" in message and "repo-tools refresh" in message
    assert_intact(released, released.before)
    result = run_cli(released.root, "check")
    assert result.returncode == 1 and "clock may be wrong" in result.stderr, result.stderr


def test_a_clock_far_ahead_is_suspected_when_every_role_appears_expired(released: Any) -> None:
    """No Date header to compare with: root, targets, snapshot and timestamp all expired
    (root lives a year) points at this computer's clock first."""
    repo = released.publisher.repo
    resign(
        released.publisher,
        days={"root": -30, "targets": -300, "snapshot": -370, "timestamp": -393},
        roles=("root", "targets", "snapshot", "timestamp"),
    )

    def hook(h: Any) -> bool:
        path = served_file(repo, h)
        if not path.is_file():
            return respond(h, b"not found", status=404, date=None)
        return respond(h, path.read_bytes(), date=None)

    released.server.hook = hook
    with pytest.raises(UpdateError) as caught:
        Updater.from_config(install_root=released.root).check()
    assert caught.value.kind == "expired"
    assert "this computer's clock may be wrong" in caught.value.message, caught.value.message
    assert_intact(released, released.before)


def test_metadata_that_really_expired_blames_the_publisher_not_the_clock(released: Any) -> None:
    resign(released.publisher, days={"timestamp": -1}, roles=("timestamp",))
    with pytest.raises(UpdateError) as caught:
        Updater.from_config(install_root=released.root).check()
    message = caught.value.message
    assert caught.value.kind == "expired"
    assert "clock" not in message and "the publisher must run `repo-tools refresh`" in message
    assert_intact(released, released.before)


def test_a_missing_ca_bundle_names_the_setting_and_the_path(released: Any, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    config = released.layout.config_file
    settings = json.loads(config.read_text())
    config.write_text(json.dumps({**settings, "ca_bundle": str(missing)}))
    updater, events = updater_with_events(released.root)
    with pytest.raises(UpdateError) as caught:
        updater.check()
    message = caught.value.message
    assert caught.value.kind == "config", message
    assert "ca_bundle" in message and str(missing) in message, message
    assert "update-client config set ca_bundle" in message
    assert [e.message for e in events if e.kind == "error"] == [message]
    result = run_cli(released.root, "check")
    assert result.returncode == 4 and "ca_bundle" in result.stderr, result.stderr
    assert "No such file or directory" not in result.stderr.split(":")[0]
    assert_intact(released, released.before)


@pytest.mark.parametrize("checked_before", [False, True], ids=["fresh", "after-a-check"])
@pytest.mark.parametrize("version", [1, 2], ids=["same-version", "newer-version"])
def test_a_foreign_root_in_the_cache_falls_back_to_the_bundle_root(
    released: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    version: int,
    checked_before: bool,
) -> None:
    """Another repository's valid root.json copied into the metadata cache: without the
    fallback every check says "possibly an attack", forever."""
    if checked_before:  # root_history/ exists and holds the bundle's root
        assert Updater.from_config(install_root=released.root).check() is not None
    other = _other_repository(tmp_path / "other")
    if version == 2:
        resign(other, roles=("root",))
    foreign = (other.repo / "metadata" / "root.json").read_bytes()
    trusted = released.layout.metadata_dir / "root.json"
    trusted.unlink()
    trusted.write_bytes(foreign)
    with caplog.at_level(logging.WARNING):
        assert Updater.from_config(install_root=released.root).update() == "1.1.0"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("another repository" in w for w in warnings), warnings
    bundled = released.layout.version_dir("1.0.0") / ".update" / "root.json"
    assert trusted.read_bytes() == bundled.read_bytes()
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # once: the next check trusts the restored root
        assert Updater.from_config(install_root=released.root).check() is None
    assert not [r for r in caplog.records if "another repository" in r.getMessage()]


def test_a_foreign_root_that_cannot_be_replaced_safely_says_how_to_repair(
    released: Any, tmp_path: Path
) -> None:
    """What an earlier client left after running once with a foreign root.json: the foreign
    root in root_history/ too, so the bundle's root is not one this client verified. The
    error says which file to replace with which; doing just that repairs the install."""
    assert Updater.from_config(install_root=released.root).check() is not None
    foreign = (_other_repository(tmp_path / "other").repo / "metadata" / "root.json").read_bytes()
    trusted = released.layout.metadata_dir / "root.json"
    trusted.unlink()
    trusted.write_bytes(foreign)
    (released.layout.metadata_dir / "root_history" / "1.root.json").write_bytes(foreign)
    with pytest.raises(UpdateError) as caught:
        Updater.from_config(install_root=released.root).check()
    message = caught.value.message
    assert caught.value.kind == "signature", message
    assert f"the trusted root {trusted} does not lead to the root the installed" in message
    bundled = released.root / "current" / ".update" / "root.json"
    assert f"replace that file with a copy of {bundled} and check again" in message
    assert_intact(released, released.before)
    trusted.write_bytes(bundled.read_bytes())  # what the message says to do
    assert Updater.from_config(install_root=released.root).update() == "1.1.0"


def test_a_root_the_client_walked_to_is_kept_and_a_foreign_bundle_root_never_wins(
    released: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The other side of the fallback: a newer root reached by the signed chain is kept (no
    warning, no re-walk), and a bundle whose root.json is some other repository's (what a
    release signed with the targets key alone could carry) never replaces the verified cache:
    that would hand the trust of root to whoever signs targets."""
    publisher, layout = released.publisher, released.layout
    command = [
        sys.executable, "-m", "repo_tools", "--repo", str(publisher.repo), "--keys",
        str(publisher.keys), "refresh", "--force",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=120)  # root version 2
    assert Updater.from_config(install_root=released.root).check() is not None
    trusted = layout.metadata_dir / "root.json"
    walked = trusted.read_bytes()
    assert json.loads(walked)["signed"]["version"] == 2
    other = _other_repository(tmp_path / "other")
    bundled = layout.version_dir("1.0.0") / ".update" / "root.json"
    bundled.write_bytes((other.repo / "metadata" / "root.json").read_bytes())
    with caplog.at_level(logging.WARNING):
        assert Updater.from_config(install_root=released.root).check() is not None
    assert trusted.read_bytes() == walked
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records


class _Other:
    def __init__(self, base: Path) -> None:
        self.repo, self.keys = base / "repo", base / "keys"


def _other_repository(base: Path) -> _Other:
    """Another publisher's repository: `repo-tools init` with its own keys."""
    other = _Other(base)
    command = [
        sys.executable, "-m", "repo_tools", "--repo", str(other.repo), "--keys", str(other.keys),
        "init", "--app-name", "demo",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return other


# -- 4. an unreachable server in words a user understands --------------------------------------


def test_an_unreachable_server_is_one_sentence_with_the_details_kept(released: Any) -> None:
    from client.progress import UpdateView, reduce

    port = released.server.httpd.server_address[1]
    released.server.close()
    updater, events = updater_with_events(released.root)
    with pytest.raises(UpdateError) as caught:
        updater.check()
    error = caught.value
    assert error.kind == "unreachable"
    assert error.message.startswith("update server unreachable: ")
    assert "127.0.0.1" in error.message and "try again later" in error.message
    assert "check this computer's network connection" in error.message
    assert not [w for w in RAW_NETWORK_WORDS if w in error.message], error.message
    assert str(port) in error.detail and "/metadata/" in error.detail
    assert any(w in error.detail for w in ("NewConnectionError", "Connection refused"))
    (event,) = [e for e in events if e.kind == "error"]
    view = reduce(UpdateView(), event.kind, event.message, event.data)  # what a GUI shows
    assert not [w for w in RAW_NETWORK_WORDS if w in view.detail], view.detail
    result = run_cli(released.root, "--json", "check")
    assert result.returncode == 1
    assert "update server unreachable" in result.stderr
    assert not [w for w in RAW_NETWORK_WORDS if w in result.stderr + result.stdout], result
    assert_intact(released, released.before)


def test_two_unreachable_servers_are_summed_up_in_words(released: Any, https_server) -> None:
    second = https_server(released.publisher.repo)
    urls = [released.server.url, second.url]
    released.server.close()
    second.close()
    config = released.layout.config_file
    settings = json.loads(config.read_text())
    servers = [{"metadata_url": f"{u}/metadata", "targets_url": f"{u}/targets"} for u in urls]
    config.write_text(json.dumps({**settings, "servers": servers}))
    with pytest.raises(UpdateError) as caught:
        Updater.from_config(install_root=released.root).check()
    error = caught.value
    assert error.message.startswith("all 2 update servers failed"), error.message
    assert not [w for w in RAW_NETWORK_WORDS if w in error.message], error.message
    assert "NewConnectionError" in error.detail or "refused" in error.detail
