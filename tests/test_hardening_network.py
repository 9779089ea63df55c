"""Hostile networks and hostile signed values over real HTTPS on 127.0.0.1, one section per
defect class of docs/security-network.md. Every attack ends with a clear message, nothing
installed, the running version intact. Only tests/conftest.py's fixtures; helpers are here.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from client import UpdateError, Updater
from tests.support.install import without_delta_base

CLIENT = str(Path(sys.executable).parent / "update-client")
RAW_NETWORK_WORDS = ("HTTPSConnectionPool", "Max retries", "NewConnectionError", "urllib3")
ARCHIVE, PACK = "demo-1.1.0.tar.gz", "demo-1.1.0.tar.zst"  # the record; the full download
PATCH = "demo-1.1.0.from-1.0.0.delta"  # the delta from the installed version
Hook = Callable[[Any], bool]

# -- helpers -----------------------------------------------------------------------------------


def updater_with_events(root: Path) -> tuple[Updater, list[Any]]:
    updater = Updater.from_config(install_root=root)
    events: list[Any] = []
    updater.on_event(events.append)
    return updater, events


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(CLIENT, "--install-root", str(root), *args)


def tools(repo: Path, keys: Path, *args: str) -> None:
    assert not run(
        sys.executable, "-m", "repo_tools", "--repo", str(repo), "--keys", str(keys), *args
    ).returncode


def launch(root: Path) -> str:
    """The installed application as a user starts it: the `current` entry point."""
    return run(sys.executable, str(root / "current" / "app.py")).stdout.strip()


def tree(folder: Path, skip: tuple[Path, ...] = ()) -> set[str]:
    """Every path under `folder` (not below `skip`): what an escape would add to."""
    paths = (p for p in folder.rglob("*") if not any(p == s or s in p.parents for s in skip))
    return {str(p.relative_to(folder)) for p in paths}


def assert_intact(installed: Any) -> None:
    """Nothing installed, the running version unchanged and launching."""
    layout = installed.layout
    assert layout.current_version() == "1.0.0"
    assert sorted(p.name for p in layout.versions.iterdir()) == ["1.0.0"]
    assert tree(layout.version_dir("1.0.0")) == installed.before
    assert launch(installed.root).startswith("app 1.0.0")


def refused(installed: Any, action: str = "check") -> UpdateError:
    """Run `action` in-process: it must fail, with the same message in an `error` event."""
    updater, events = updater_with_events(installed.root)
    with pytest.raises(UpdateError) as caught:
        getattr(updater, action)()
    assert [e.message for e in events if e.kind == "error"] == [caught.value.message]
    assert_intact(installed)
    return caught.value


def configure(installed: Any, **settings: Any) -> None:
    config = installed.layout.config_file
    config.write_text(json.dumps({**json.loads(config.read_text()), **settings}))


def respond(
    h: Any, data: bytes, *, status: int = 200, length: int | None = None, date: Any = True
) -> bool:
    """Answer a request: `length` may lie; `date` is the Date header (True: now, None: none)."""
    h.close_connection = True
    h.send_response_only(status)
    if date:
        h.send_header("Date", h.date_time_string() if date is True else date)
    h.send_header("Content-Length", str(len(data) if length is None else length))
    h.end_headers()
    with contextlib.suppress(OSError):
        h.wfile.write(data)
    return True


def served(repo: Path, h: Any) -> bytes | None:
    path = repo / h.path.lstrip("/").split("?")[0]
    return path.read_bytes() if path.is_file() else None


def resign(publisher: Any, change: Callable[[Any], None] = lambda roles: None, **kw: Any) -> None:
    """Change the repository's roles in memory and sign them with its own keys as repo-tools
    does: correctly signed metadata whose content is hostile (what a compromised build
    machine or a careless publisher could publish). kw: days={role: n}, roles=(...)."""
    from repo_tools.keys import load_all
    from repo_tools.repository import commit_resigned, load_roles

    loaded = load_roles(publisher.repo)
    change(loaded)
    days = {"root": 365, "targets": 90, "snapshot": 30, "timestamp": 7, **kw.get("days", {})}
    roles = kw.get("roles", ("targets", "snapshot", "timestamp"))
    commit_resigned(publisher.repo, loaded, load_all(publisher.keys), days, roles)


def edit_target(name: str, edit: Callable[[Any, dict[str, Any]], None]) -> Callable[[Any], None]:
    """A change for `resign`: edit(target file, its custom metadata) of target `name`."""

    def change(roles: Any) -> None:
        target = roles.targets.signed.targets[name]
        edit(target, target.unrecognized_fields["custom"]["updater"])

    return change


def trust(installed: Any, root: bytes) -> Path:
    """Put `root` in the install's metadata cache as its trusted root.json."""
    trusted = installed.layout.metadata_dir / "root.json"
    trusted.unlink()
    trusted.write_bytes(root)
    return trusted


class _Other:
    """Another publisher's repository (`repo-tools init`, its own keys)."""

    def __init__(self, base: Path) -> None:
        self.repo, self.keys = base / "repo", base / "keys"
        tools(self.repo, self.keys, "init", "--app-name", "demo")
        self.root = (self.repo / "metadata" / "root.json").read_bytes()


@pytest.fixture
def released(installed_app: Any) -> Any:
    """1.0.0 installed, 1.1.0 published (a patch 1.0.0 -> 1.1.0 and the full archive)."""
    installed_app.publisher.release("--version", "1.1.0")
    installed_app.before = tree(installed_app.layout.version_dir("1.0.0"))
    return installed_app


# -- 1. every failure of the patch path falls back to the full archive ------------------------


def _patch_hook(repo: Path, how: str) -> Hook:
    def hook(h: Any) -> bool:
        data = served(repo, h)
        if not h.path.endswith(".delta") or data is None:
            return False
        if how == "truncated":
            return respond(h, data[: len(data) // 2], length=len(data))
        if how == "wrong":
            return respond(h, b"\x5a" * len(data))  # wrong bytes, the right length
        return respond(h, b"gone", status=404)

    return hook


def _signed_patch(released: Any, case: str) -> Callable[[Any], None]:
    """A correctly signed delta that does not yield the release."""
    from client.tree_format import DeltaFile, DeltaIndex, How
    from repo_tools.repository import prefixed_target_name
    from tests.support.tree import archive_tar, delta_bytes, honest_delta, tar_entries

    repo = released.publisher.repo
    old = tar_entries(archive_tar(repo, "demo", "1.0.0"))[1]
    new = tar_entries(archive_tar(repo, "demo", "1.1.0"))[1]
    files = honest_delta("demo", "1.0.0", "1.1.0", old, new)
    if case == "codec-error":
        data = b"not a delta at all" * 10
    elif case == "unknown-codec":
        index = DeltaIndex("demo", "1.1.0", "1.0.0", tuple(f for f, _ in files), "bsdiff4")
        data = delta_bytes("demo", "1.0.0", "1.1.0", files, index)
    else:  # whole files of the right size, other bytes: only the signed sha256 tells
        wrong = [(DeltaFile(f.path, How.FULL), b"x" * len(new[f.path])) for f, _ in files]
        data = delta_bytes("demo", "1.0.0", "1.1.0", wrong)
    digest = hashlib.sha256(data).hexdigest()
    (repo / "targets" / prefixed_target_name(PATCH, digest)).write_bytes(data)

    def change(roles: Any) -> None:
        target = roles.targets.signed.targets[PATCH]
        target.length, target.hashes = len(data), {"sha256": digest}

    return change


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("404", "http 404"),
        ("404-command-line", "http 404"),
        ("truncated", "cut short"),
        ("wrong-bytes", "does not match its signed length or hash"),
        ("codec-error", "not a valid xz tar"),
        ("unknown-codec", "unknown patch codec"),
        ("patched-tar-wrong-hash", "does not match its sha256 in the signed manifest"),
    ],
)
def test_any_failure_of_the_patch_path_falls_back_to_the_full_archive(
    released: Any, case: str, why: str
) -> None:
    if case.startswith(("404", "truncated", "wrong")):
        released.server.hook = _patch_hook(released.publisher.repo, case.split("-")[0])
    else:
        resign(released.publisher, _signed_patch(released, case))
    updater, events = updater_with_events(released.root)
    assert updater.check().method == "patch"
    if case.endswith("command-line"):
        result = run_cli(released.root, "--json", "update")
        assert result.returncode == 0, (result.stdout, result.stderr)
    else:
        assert updater.update() == "1.1.0"
        (event,) = [e for e in events if e.kind == "downloaded"]
        assert event.data["method"] == "full" and event.data["patch_fallback"]
    (record,) = [r for r in updater.history() if r["event"] == "downloaded"]
    assert record["method"] == "full" and why in record["patch_fallback"].lower(), record
    assert launch(released.root).startswith("app 1.1.0")


def test_only_the_full_archive_failing_is_an_error(released: Any) -> None:
    released.server.hook = lambda h: (
        h.path.endswith((".delta", ".tar.zst")) and respond(h, b"gone", status=404)
    )
    error = refused(released, "update")
    assert error.kind == "http" and "404" in error.message and PACK in error.message
    assert Updater.from_config(install_root=released.root).history()[-1]["result"] == "failed"


# -- 2. a signed value never becomes a file path before a strict check -------------------------

ESCAPE = "/../../../escape"
SECOND_HASH = {"sha512": ESCAPE, "sha256": "ab" * 32}
LONG = "1." + "0." * 150 + "1"  # a valid PEP 440 version; in a file name, over 255 bytes


def _hashes(value: dict[str, str]) -> Callable[[Any, dict[str, Any]], None]:
    return lambda target, custom: setattr(target, "hashes", value)


def _custom(key: str, value: str) -> Callable[[Any, dict[str, Any]], None]:
    return lambda target, custom: custom.__setitem__(key, value)


def _renamed_archive(roles: Any) -> None:
    """The 1.1.0 archive signed again as version LONG, its name to match."""
    target = roles.targets.signed.targets.pop(ARCHIVE)
    target.path = f"demo-{LONG}.tar.gz"
    target.unrecognized_fields["custom"]["updater"]["version"] = LONG
    roles.targets.signed.targets[target.path] = target


HOSTILE_VALUES = {  # case: (the target concerned, the change signed into targets metadata)
    "archive-sha256-path": (ARCHIVE, edit_target(ARCHIVE, _hashes({"sha256": ESCAPE}))),
    "archive-second-hash-path": (ARCHIVE, edit_target(ARCHIVE, _hashes(SECOND_HASH))),
    "archive-tar-sha256-path": (ARCHIVE, edit_target(ARCHIVE, _custom("tar_sha256", ESCAPE))),
    "archive-version-overlong": (f"demo-{LONG}.tar.gz", _renamed_archive),
    "archive-app-path": (ARCHIVE, edit_target(ARCHIVE, _custom("app", "../../escape"))),
    "patch-sha256-path": (PATCH, lambda roles: _tree_hashes(roles, PATCH, {"sha256": ESCAPE})),
    "patch-second-hash-path": (PATCH, lambda roles: _tree_hashes(roles, PATCH, SECOND_HASH)),
}


def _tree_hashes(roles: Any, name: str, hashes: dict[str, str]) -> None:
    """Signed hashes of a format-2 target (it has no custom metadata of its own)."""
    roles.targets.signed.targets[name].hashes = hashes


def _escape_hook(repo: Path) -> Hook:
    """A hostile mirror: for a URL naming `escape`, half of the real target, then the
    connection closed (so a partial download would be kept for resuming)."""

    def hook(h: Any) -> bool:
        if "escape" not in h.path:
            return False
        name = next(n for n in (ARCHIVE, PACK, PATCH) if h.path.endswith(n))
        (target,) = (repo / "targets").glob(f"*.{name}")
        data = target.read_bytes()
        return respond(h, data[: len(data) // 2], length=len(data))

    return hook


@pytest.mark.parametrize("case", list(HOSTILE_VALUES))
def test_a_hostile_signed_value_never_reaches_the_file_system(
    released: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    name, change = HOSTILE_VALUES[case]
    patch = name.endswith(".delta")
    if not patch:
        without_delta_base(released.layout, "1.0.0")  # no delta: the pack is fetched
    resign(released.publisher, change)
    released.server.hook = _escape_hook(released.publisher.repo)
    if case == "archive-sha256-path":  # the command line prints the warning too
        result = run_cli(released.root, "check")
        assert result.returncode == 2 and f"target {name}: its signed sha256" in result.stderr
        assert "ignored" in result.stderr, result.stderr
    outside = tree(tmp_path, skip=(released.root, released.publisher.repo.parent))
    updater, _ = updater_with_events(released.root)
    error = None
    with caplog.at_level(logging.WARNING):
        try:
            version = updater.update()
        except UpdateError as caught:
            version, error = None, caught
    assert not list(tmp_path.rglob("*escape*"))
    assert tree(tmp_path, skip=(released.root, released.publisher.repo.parent)) == outside
    assert error is None, error.message  # ignored, with a warning: not an error
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert [w for w in warnings if f"target {name}: " in w and "ignored" in w], warnings
    if patch:  # the patch is ignored: the full archive is the way
        assert version == "1.1.0" and launch(released.root).startswith("app 1.1.0")
    else:  # the only release is ignored: nothing to install, nothing changed
        assert version is None
        assert_intact(released)


# -- 3. messages that say what really happened ------------------------------------------------


@pytest.mark.parametrize("what", ["timestamp.json", PACK])
def test_a_body_shorter_than_its_content_length_is_a_download_cut_short(
    released: Any, what: str
) -> None:
    without_delta_base(released.layout, "1.0.0")  # the pack, not the delta
    repo, cut = released.publisher.repo, []

    def hook(h: Any) -> bool:
        data = served(repo, h)
        if not h.path.endswith(what) or data is None or cut:
            return False
        cut.append(h.path)
        return respond(h, data[: len(data) // 3], length=len(data))

    released.server.hook = hook
    error = refused(released, "update")
    assert error.kind == "unreachable", error.message
    assert "too slow or stalled" not in error.message
    assert f"closed the connection early: the download of {what} was cut short" in error.message
    assert "try again later" in error.message
    assert Updater.from_config(install_root=released.root).update() == "1.1.0"  # it was brief


AHEAD = email.utils.formatdate(time.time() - 400 * 86400, usegmt=True)  # the server says


@pytest.mark.parametrize(
    ("server_date", "days", "clock"),
    [
        # this computer is 400 days ahead: by the server's clock the timestamp is still valid
        (AHEAD, {"timestamp": -393}, True),
        # no Date header: every role (root too, which lives a year) appears expired
        (None, {"root": -30, "targets": -300, "snapshot": -370, "timestamp": -393}, True),
        # the control: the server's clock agrees, the timestamp really expired yesterday
        (True, {"timestamp": -1}, False),
    ],
    ids=["server-clock-disagrees", "every-role-expired", "really-expired"],
)
def test_a_clock_far_ahead_is_named_and_real_expiry_blames_the_publisher(
    released: Any, server_date: Any, days: dict[str, int], clock: bool
) -> None:
    resign(released.publisher, days=days, roles=tuple(days))  # expired by `days`
    repo = released.publisher.repo
    released.server.hook = lambda h: respond(  # every file, with Date header `server_date`
        h, served(repo, h) or b"", status=404 if served(repo, h) is None else 200, date=server_date
    )
    error = refused(released)
    assert error.kind == "expired", error.message
    assert "the publisher must run `repo-tools refresh`" in error.message
    today = time.strftime("%Y-%m-%d", time.gmtime())
    hint = f"this computer's clock may be wrong (it says {today}"
    assert (hint in error.message) == clock and ("check it" in error.message) == clock, error
    if clock:
        result = run_cli(released.root, "check")
        assert result.returncode == 1 and hint in result.stderr, result.stderr


def test_a_missing_ca_bundle_names_the_setting_and_the_path(released: Any, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    configure(released, ca_bundle=str(missing))
    error = refused(released)
    assert error.kind == "config", error.message
    assert f"the ca_bundle setting names {missing}, which does not exist" in error.message
    assert "update-client config set ca_bundle" in error.message
    result = run_cli(released.root, "check")
    assert result.returncode == 4 and f"ca_bundle setting names {missing}" in result.stderr


@pytest.mark.parametrize("checked_before", [False, True], ids=["fresh", "after-a-check"])
@pytest.mark.parametrize("version", [1, 2], ids=["same-version", "newer-version"])
def test_a_foreign_root_in_the_cache_falls_back_to_the_bundle_root(
    released: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    version: int,
    checked_before: bool,
) -> None:
    """Another repository's root.json in the cache: before, "possibly an attack" forever."""
    if checked_before:  # root_history/ exists and holds the bundle's root
        assert Updater.from_config(install_root=released.root).check() is not None
    other = _Other(tmp_path / "other")
    if version == 2:
        resign(other, roles=("root",))
    trusted = trust(released, (other.repo / "metadata" / "root.json").read_bytes())
    with caplog.at_level(logging.WARNING):
        assert Updater.from_config(install_root=released.root).update() == "1.1.0"
    assert [r for r in caplog.records if "another repository" in r.getMessage()], caplog.records
    bundled = released.layout.version_dir("1.0.0") / ".update" / "root.json"
    assert trusted.read_bytes() == bundled.read_bytes()
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # once: the next check trusts the restored root
        assert Updater.from_config(install_root=released.root).check() is None
    assert not [r for r in caplog.records if "another repository" in r.getMessage()]


def test_a_foreign_root_that_cannot_be_replaced_safely_says_how_to_repair(
    released: Any, tmp_path: Path
) -> None:
    """What an earlier client left after one run with a foreign root.json (it in root_history/
    too): the bundle's root is not one this client verified; the error says how to repair."""
    assert Updater.from_config(install_root=released.root).check() is not None
    foreign = _Other(tmp_path / "other").root
    trusted = trust(released, foreign)
    (released.layout.metadata_dir / "root_history" / "1.root.json").write_bytes(foreign)
    error = refused(released)
    assert error.kind == "signature", error.message
    assert f"the trusted root {trusted} does not lead to the root the installed" in error.message
    bundled = released.root / "current" / ".update" / "root.json"
    assert f"replace that file with a copy of {bundled} and check again" in error.message
    trusted.write_bytes(bundled.read_bytes())  # what the message says to do
    assert Updater.from_config(install_root=released.root).update() == "1.1.0"


def test_a_root_the_client_walked_to_is_kept_and_a_foreign_bundle_root_never_wins(
    released: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A newer root reached by the signed chain is kept; a bundle carrying another root (any
    release signed by the targets key alone could) never replaces the verified cache."""
    tools(released.publisher.repo, released.publisher.keys, "refresh", "--force")  # root 2
    assert Updater.from_config(install_root=released.root).check() is not None
    trusted = released.layout.metadata_dir / "root.json"
    walked = trusted.read_bytes()
    assert json.loads(walked)["signed"]["version"] == 2
    bundled = released.layout.version_dir("1.0.0") / ".update" / "root.json"
    bundled.write_bytes(_Other(tmp_path / "other").root)
    with caplog.at_level(logging.WARNING):
        assert Updater.from_config(install_root=released.root).check() is not None
    assert trusted.read_bytes() == walked
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records


# -- 4. an unreachable server in words a user understands --------------------------------------


@pytest.mark.parametrize("servers", [1, 2])
def test_an_unreachable_server_is_one_sentence_with_the_details_kept(
    released: Any, https_server: Any, servers: int
) -> None:
    from client.events import Event
    from client.ui.view import Context, View, next_view

    down = [released.server] + [https_server(released.publisher.repo) for _ in range(servers - 1)]
    urls = [server.url for server in down]
    for server in down:
        server.close()
    entries = [{"metadata_url": f"{u}/metadata", "targets_url": f"{u}/targets"} for u in urls]
    configure(released, servers=entries)
    error = refused(released)  # and the `error` event carries the same message
    assert error.kind == "unreachable"
    lead = "update server unreachable: could not connect to 127.0.0.1 (port "
    sentence = "the connection was refused; check this computer's network connection and try "
    assert error.message.count(lead) == servers and error.message.count(sentence) == servers
    if servers == 2:
        assert error.message.startswith("all 2 update servers failed: 1) "), error.message
    assert not [w for w in RAW_NETWORK_WORDS if w in error.message], error.message
    assert all(f"GET {u}/metadata/" in error.detail for u in urls), error.detail
    assert "Connection refused" in error.detail and "ConnectionRefusedError" not in error.message
    shown = next_view(View(), Event("error", error.message, {"kind": error.kind}), Context())
    assert shown.headline == "Could not reach the update server."  # a GUI: one sentence
    assert shown.detail == error.message  # and the whole story behind Details
    result = run_cli(released.root, "--json", "check")
    assert result.returncode == 1 and lead in result.stderr
    assert not [w for w in RAW_NETWORK_WORDS if w in result.stderr], result  # for people
    reported = json.loads(result.stdout)  # for programs: the sentence, and the detail behind it
    assert reported["error"] == error.message and "Connection refused" in reported["detail"]
