"""Putting bundles on disk: first setup, atomic install, switch, prune, user-data backups.

Order of every install (power loss at any instant leaves a runnable version):
extract into staging/ -> fsync -> rename to versions/<v>/ -> switch `current` by renaming a
new symlink over it. The running version's folder is never written to: an install only
creates a sibling folder, and pruning never removes the current or the previous version.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

from client.archive import write_bundle_tar
from client.extract import extract_tar
from client.files import atomic_write_text, fsync_dir, remove_path
from client.layout import BUNDLED_CONFIG, RELEASE_FILE, ROOT_FILE, Layout, State

TYPE_CHECKING = False
if TYPE_CHECKING:
    from client.settings import Settings

UNLIMITED = 1 << 62  # setup from a local, trusted source: no signed size to hold it to


class InstallError(RuntimeError):
    """An install step failed; the running version is untouched."""


def read_release(bundle: Path) -> dict[str, str]:
    """The bundle's .update/release.json: {"app", "version", "channel"}, checked."""
    from client.formats import FormatError, check_app_name, check_channel, parse_version

    path = bundle / RELEASE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        app = check_app_name(str(data["app"]))
        version = str(parse_version(str(data["version"])))
        channel = check_channel(str(data.get("channel", "stable")))
    except FileNotFoundError:
        raise InstallError(f"{path} is missing: not a bundle made by repo-tools") from None
    except (ValueError, KeyError, TypeError, FormatError) as error:
        raise InstallError(f"{path} is not a valid release file: {error}") from None
    return {"app": app, "version": version, "channel": channel}


def clean_staging(layout: Layout) -> None:
    shutil.rmtree(layout.staging, ignore_errors=True)
    layout.staging.mkdir(parents=True, exist_ok=True)


def manifest_file(layout: Layout, version: str) -> Path:
    """What was written into versions/<version> when it was installed (entry -> kind)."""
    return layout.root / "cache" / "manifests" / f"{version}.json"


def read_manifest(layout: Layout, version: str) -> dict[str, str] | None:
    """The install-time manifest of a kept version, or None if there is none (or it is
    damaged: a manifest that cannot be read proves nothing either way)."""
    try:
        data = json.loads(manifest_file(layout, version).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        return data
    return None


def place_version(
    layout: Layout,
    tar: Path,
    version: str,
    max_unpacked: int,
    app: str,
    running: str | None = None,
) -> Path:
    """Extract `tar` safely into staging, check it is `app` `version`, move to versions/<v>.

    The folder of the current version, and of the version this process runs (`running`,
    which differs from current after a rollback without restart), is never replaced."""
    clean_staging(layout)
    staged = layout.staging / version
    manifest: dict[str, str] = {}
    extract_tar(tar, staged, max_unpacked, manifest=manifest)
    return place_staged(layout, staged, version, app, manifest, running)


def place_staged(
    layout: Layout,
    staged: Path,
    version: str,
    app: str,
    manifest: dict[str, str],
    running: str | None = None,
) -> Path:
    """Check the extracted folder `staged` is `app` `version`, move it to versions/<v> and
    keep its integrity `manifest` (cache/manifests/<v>.json)."""
    release = read_release(staged)
    if release["app"] != app or release["version"] != version:
        raise InstallError(
            f"archive contains {release['app']} {release['version']}, expected {app} {version}: "
            "refused (wrong software)"
        )
    os.sync()  # file data on disk before the rename makes it visible
    final = layout.version_dir(version)
    if final.exists():
        if version in (layout.current_version(), running):
            raise InstallError(f"version {version} is the running version: not replaced")
        # a kept copy of this version: replace it with the verified fresh one
        old = layout.staging / f".old-{version}"
        os.rename(final, old)
        shutil.rmtree(old, ignore_errors=True)
    layout.versions.mkdir(parents=True, exist_ok=True)
    os.rename(staged, final)
    fsync_dir(layout.versions)
    atomic_write_text(manifest_file(layout, version), json.dumps(manifest, sort_keys=True))
    return final


def switch_current(layout: Layout, version: str) -> None:
    """Point `current` at versions/<version> atomically: a new link renamed over the old one."""
    if not (layout.version_dir(version) / RELEASE_FILE).is_file():
        raise InstallError(f"version {version} is not installed in {layout.versions}")
    temp = layout.root / ".current.tmp"
    temp.unlink(missing_ok=True)
    relative = os.path.join("versions", version)
    try:
        os.symlink(relative, temp, target_is_directory=True)
    except OSError:
        # no symlinks (Windows without developer mode): a one-line pointer file instead
        atomic_write_text(temp, relative + "\n")
    os.replace(temp, layout.current_link)
    fsync_dir(layout.root)


def prune_versions(layout: Layout, max_backups: int, current: str, protect: set[str]) -> list[str]:
    """Keep at most max_backups versions besides `current`, oldest removed first; versions in
    `protect` (previous, pending) are never removed and count towards the budget."""
    kept = [v for v in layout.kept_versions() if v != current]
    removable = [v for v in kept if v not in protect]
    allowed = max(0, max_backups - (len(kept) - len(removable)))
    excess = removable[: max(0, len(removable) - allowed)]
    for version in excess:
        old = layout.staging / f".old-{version}"
        os.rename(layout.version_dir(version), old)
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(layout.backups / version, ignore_errors=True)
        manifest_file(layout, version).unlink(missing_ok=True)
    return excess


def prune_cache(layout: Layout, app: str, keep_versions: set[str]) -> None:
    """Drop downloads and old patch bases: only the tars of `keep_versions` stay (bounded)."""
    keep = {layout.base_tar(app, v).name for v in keep_versions}
    if not layout.targets_dir.is_dir():
        return
    for entry in layout.targets_dir.iterdir():
        if entry.name not in keep and entry.is_file():
            entry.unlink(missing_ok=True)


# -- user data backups ---------------------------------------------------------------------


def backup_user_data(layout: Layout, leaving_version: str, paths: list[str]) -> Path | None:
    """Copy backup_paths into backups/<leaving_version>/ (replacing an older copy)."""
    if not paths:
        return None
    layout.backups.mkdir(parents=True, exist_ok=True)
    temp = layout.backups / f".{leaving_version}.tmp"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    manifest = []
    for index, source in enumerate(paths):
        src = Path(source).expanduser()
        stored = f"{index}-{src.name or 'data'}"
        if src.is_dir():
            shutil.copytree(src, temp / stored, symlinks=True)
        elif src.is_file():
            shutil.copy2(src, temp / stored)
        else:
            continue  # nothing there yet: nothing to restore later either
        manifest.append({"source": str(src.absolute()), "stored": stored})
    (temp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    final = layout.backups / leaving_version
    if final.exists():
        shutil.rmtree(final)
    os.rename(temp, final)
    return final


def restore_user_data(layout: Layout, version: str) -> list[str]:
    """Put back the user data saved when `version` was left; returns the restored paths."""
    folder = layout.backups / version
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InstallError(f"no user-data backup for version {version}") from None
    restored = []
    for entry in manifest:
        stored, target = folder / entry["stored"], Path(entry["source"])
        temp = target.with_name(target.name + ".restoring")
        aside = target.with_name(target.name + ".before-restore")
        for leftover in (temp, aside):
            remove_path(leftover)
        if stored.is_dir():
            shutil.copytree(stored, temp, symlinks=True)
        else:
            shutil.copy2(stored, temp)
        if target.exists():
            os.rename(target, aside)
        os.rename(temp, target)
        remove_path(aside)
        restored.append(str(target))
    return restored


# -- first install -----------------------------------------------------------------------


def setup(
    layout: Layout, source: Path, settings_overrides: dict[str, Any] | None = None
) -> dict[str, str]:
    """Create the install root from a release archive (.tar.gz/.tar) or a bundle folder,
    trusting the root.json the bundle carries. Returns the release dict."""
    from client import settings as settings_mod

    source = Path(source)
    if layout.is_set_up():
        raise InstallError(
            f"{layout.root} is already set up (version {layout.current_version()}): "
            "use `update-client update` or `rollback`"
        )
    if not source.exists():
        raise InstallError(f"{source} does not exist: give a release archive or bundle folder")
    layout.create()
    clean_staging(layout)
    probe = layout.staging / "probe"
    manifest: dict[str, str] = {}
    try:
        if source.is_dir():
            _extract_folder(source, probe, manifest)
        elif source.name.endswith((".tar.gz", ".tgz", ".tar")):
            extract_tar(source, probe, UNLIMITED, manifest=manifest)  # read as a stream
        else:
            raise InstallError(f"{source}: expected a .tar.gz archive or a bundle folder")
        release = read_release(probe)
        root_json = _read_root(probe / ROOT_FILE)
        bundled = probe / BUNDLED_CONFIG
        config = json.loads(bundled.read_text(encoding="utf-8")) if bundled.is_file() else {}
        config = {**config, **(settings_overrides or {})}
        settings = settings_mod.from_dict(config)  # raises SettingsError before anything moves
        _check_entry_point(probe, source, _settings_in_force(layout, settings, settings_overrides))
    except settings_mod.SettingsError:
        clean_staging(layout)
        raise  # already names the key and the value
    except (OSError, ValueError, tarfile.TarError) as error:
        clean_staging(layout)
        raise InstallError(f"cannot read {source}: {error}") from error
    app, version = release["app"], release["version"]
    place_staged(layout, probe, version, app, manifest)  # no tar is kept: the tree format
    atomic_write_text(layout.metadata_dir / "root.json", root_json)
    if not layout.config_file.exists() or settings_overrides:
        settings = _settings_in_force(layout, settings, settings_overrides)
        settings_mod.save(layout.config_file, settings)
    layout.write_state(State(app=app))
    switch_current(layout, version)  # last: until here the root is not "set up"
    from client import history

    with contextlib.suppress(OSError):  # set up it is: a full history disk must not say otherwise
        history.append(layout.history_file, "setup", to_version=version, channel=release["channel"])
    return release


def _extract_folder(source: Path, destination: Path, manifest: dict[str, str]) -> None:
    """Extract a bundle folder as its deterministic tar would be, through a pipe (the tar is
    never written anywhere: a 460 MB bundle costs no 460 MB tar)."""
    import threading

    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            with open(write_fd, "wb") as sink:
                write_bundle_tar(source, sink)
        except BrokenPipeError:
            pass  # the reader stopped (it says why)
        except BaseException as error:  # noqa: BLE001 - reported by the reader's thread
            failure.append(error)

    writer = threading.Thread(target=produce, name="bundle-tar", daemon=True)
    writer.start()
    try:
        with open(read_fd, "rb") as stream:
            extract_tar(stream, destination, UNLIMITED, manifest=manifest)
    except Exception:
        writer.join()  # the pipe is closed: the writer ends
        if failure:
            raise failure[0] from None  # the bundle's own problem says more than the tar's
        raise
    writer.join()
    if failure:
        raise failure[0]


def _settings_in_force(
    layout: Layout, bundled: Settings, overrides: dict[str, Any] | None
) -> Settings:
    """The settings the install root will have after setup: a settings file already there is
    kept (the overrides applied on top), else the bundle's settings with the overrides."""
    from client import settings as settings_mod

    if not layout.config_file.exists():
        return bundled
    kept = settings_mod.load(layout.config_file)
    return settings_mod.from_dict({**kept.to_dict(), **overrides}) if overrides else kept


def _check_entry_point(probe: Path, source: Path, settings: Settings) -> None:
    """Refuse a bundle that could be installed but never started (client.entry_point)."""
    from client.entry_point import entry_mode, entry_point_problem

    entry = settings.entry_point
    problem = entry_point_problem(entry, entry_mode(probe, entry), f"the bundle {source}")
    if problem is not None:
        raise InstallError(
            f"{problem} (setting entry_point), so it could be installed but never started: "
            "nothing was installed. Set up from a release archive of this application made "
            "by a current repo-tools (which refuses such bundles), or give setup the "
            "entry_point setting that names the file that starts it"
        )


def _read_root(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
        if data["signed"]["_type"] != "root":
            raise ValueError("not root metadata")
    except FileNotFoundError:
        raise InstallError(
            f"{path} is missing: the bundle must carry the repository's root"
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise InstallError(f"{path} is not TUF root metadata: {error}") from None
    return text
