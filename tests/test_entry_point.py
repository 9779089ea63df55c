"""A bundle that cannot start is refused where it is made and where it is installed.

`repo-tools release` refuses a bundle whose archive would not hold the client's entry point
(`client_settings.entry_point`, or the default `app.py`), runnable, and writes nothing;
`setup` refuses such a bundle before anything is placed. A frozen entry point is an
executable without `.py`, which must have its x permission.
"""

from __future__ import annotations

import stat
import tarfile
from pathlib import Path

import pytest

from client.entry_point import entry_point_problem
from client.install import InstallError, setup
from client.layout import Layout
from tests.support.install import run_client
from tests.support.publisher import (
    Publisher,
    published_digest,
    refused,
    release_bundle,
    run_tools,
    set_config,
)

FROZEN = "myapp"  # a PyInstaller onedir build's executable


def frozen_bundle(folder: Path, executable: bool = True) -> Path:
    """What PyInstaller onedir makes: an executable at the top, its libraries beside it."""
    (folder / "_internal").mkdir(parents=True)
    (folder / "_internal" / "libpython.so").write_bytes(b"\x7fELF" + bytes(5000))
    (folder / FROZEN).write_bytes(b"\x7fELF frozen demo" + bytes(2000))
    (folder / FROZEN).chmod(0o755 if executable else 0o644)
    return folder


@pytest.mark.parametrize(
    ("entry", "mode", "problem"),
    [
        ("app.py", None, "has no 'app.py', the entry point the client starts"),
        ("app.py", stat.S_IFDIR | 0o755, "is not a file"),
        (FROZEN, stat.S_IFREG | 0o644, "is not executable (no x permission)"),
        ("app.py", stat.S_IFREG | 0o644, None),  # a script runs with the client's Python
        (FROZEN, stat.S_IFREG | 0o755, None),
        ("bin/myapp", stat.S_IFREG | 0o700, None),
    ],
)
def test_the_rule(entry: str, mode: int | None, problem: str | None) -> None:
    found = entry_point_problem(entry, mode, "bundle B")
    assert found == problem if problem is None else problem in found


def test_release_refuses_a_bundle_without_its_entry_point_and_writes_nothing(
    tmp_path: Path,
) -> None:
    publisher = Publisher(tmp_path / "pub")
    bundle = frozen_bundle(tmp_path / "dist")  # no app.py, the default entry point
    before = published_digest(publisher.repo)
    for dry_run in ((), ("--dry-run",)):
        command = ("release", "--version", "1.0.0", "--bundle", str(bundle), *dry_run)
        result = run_tools(publisher.repo, publisher.keys, *command)
        stderr = refused(result, "has no 'app.py'", "client_settings", "Nothing was released")
        assert f"'{FROZEN}'" in stderr, stderr  # the executable it may have meant
    assert published_digest(publisher.repo) == before
    assert not list((publisher.repo / "targets").iterdir())


def test_release_takes_a_frozen_entry_point_only_when_it_can_run(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path / "pub")
    set_config(publisher.repo, client_settings={"entry_point": FROZEN})
    bundle = frozen_bundle(tmp_path / "dist", executable=False)
    before = published_digest(publisher.repo)
    result = run_tools(
        publisher.repo, publisher.keys, "release", "--version", "1.0.0", "--bundle", str(bundle)
    )
    refused(result, f"'{FROZEN}'", "not executable", "client_settings in repo-tools.json")
    assert published_digest(publisher.repo) == before

    (bundle / FROZEN).chmod(0o755)
    assert release_bundle(publisher.repo, publisher.keys, bundle, "--version", "1.0.0") == "1.0.0"


def test_release_refuses_an_entry_point_that_bundle_exclude_leaves_out(tmp_path: Path) -> None:
    publisher = Publisher(tmp_path / "pub")
    set_config(publisher.repo, bundle_exclude=["*.py"])
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "app.py").write_text("print('hello')\n")
    (bundle / "data.txt").write_text("data\n")
    before = published_digest(publisher.repo)
    result = run_tools(
        publisher.repo, publisher.keys, "release", "--version", "1.0.0", "--bundle", str(bundle)
    )
    refused(result, "'app.py'", "bundle_exclude leaves it out (pattern '*.py')")
    assert published_digest(publisher.repo) == before


def unpacked_release(tmp_path: Path) -> tuple[Publisher, Path]:
    """A frozen bundle released with client_settings.entry_point, unpacked into a folder."""
    publisher = Publisher(tmp_path / "pub")
    set_config(publisher.repo, client_settings={"entry_point": FROZEN})
    release_bundle(
        publisher.repo, publisher.keys, frozen_bundle(tmp_path / "dist"), "--version", "1.0.0"
    )
    unpacked = tmp_path / "unpacked"
    with tarfile.open(publisher.archive("1.0.0")) as tar:
        tar.extractall(unpacked, filter="tar")
    return publisher, unpacked


def nothing_placed(root: Path) -> None:
    layout = Layout(root)
    assert not layout.is_set_up()
    assert not layout.current_link.exists() and not layout.current_link.is_symlink()
    assert not list(layout.versions.glob("*")) if layout.versions.exists() else True
    assert not (root / "updater_config.json").exists()


def test_setup_refuses_a_bundle_without_its_entry_point_before_placing_anything(
    tmp_path: Path,
) -> None:
    publisher, unpacked = unpacked_release(tmp_path)
    (unpacked / FROZEN).unlink()
    root = tmp_path / "install"
    with pytest.raises(InstallError, match=f"has no '{FROZEN}'.*nothing was installed"):
        setup(Layout(root), unpacked)
    nothing_placed(root)

    (unpacked / FROZEN).write_bytes(b"\x7fELF")  # back, but without its x permission
    result = run_client(None, "setup", "--install-root", str(root), "--from", str(unpacked))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not executable" in result.stderr and "nothing was installed" in result.stderr
    nothing_placed(root)

    # the refused root is not left half-made: the good archive sets it up
    release = setup(Layout(root), publisher.archive("1.0.0"))
    assert release["version"] == "1.0.0"
    assert (root / "current" / FROZEN).stat().st_mode & stat.S_IXUSR


def test_setup_checks_the_entry_point_the_settings_will_have(tmp_path: Path) -> None:
    _, unpacked = unpacked_release(tmp_path)
    root = tmp_path / "install"
    with pytest.raises(InstallError, match="has no 'app.py'"):
        setup(Layout(root), unpacked, {"entry_point": "app.py"})  # overrides the bundle's
    nothing_placed(root)
