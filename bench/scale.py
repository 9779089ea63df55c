"""Scale (issue 11): a 460 MB application, one file changed, then one wheel upgraded.

The bundle (bench/scale_bundle.py) is the issue's: real wheels of PySide6-Essentials 6.12.0,
numpy 2.4.5, scipy 1.17.1 and pandas 3.1.1 unpacked into one folder with an ``app.py``, about
460 MB in 6,500 files, built at benchmark time and cached in ``.bench/scale/``. Releases:
1.0.0 (first, full), 1.1.0 (only app.py changed), 1.2.0 (numpy 2.4.5 -> 2.4.6 inside).

Every step is a whole command in a child process (bench/_process.py): wall time from spawn to
exit, peak RSS (``ru_maxrss`` by ``wait4``), a time limit after which it is killed and the
table says so. Disk is counted like ``du``: allocated blocks, hard links once.

* ours, twice: the new format (format 2: this tree) and the current one (format 1: the
  project at CURRENT_FORMAT_COMMIT, unpacked from git into .bench/ and put first on
  PYTHONPATH), each in the project's environment: ``repo-tools init``, then
  ``repo-tools release --version V --bundle B`` for each release; ``update-client setup``
  from the 1.0.0 archive (the first install) and ``update-client update`` 1.0.0 -> 1.1.0
  against bench/loopback.py's HTTPS server on 127.0.0.1.
* stock tufup 0.10, in its own environment (bench/stock_env.py, bench/stock/scale.py):
  ``add_bundle`` + ``publish_changes`` for the same releases of the same bundles; its
  client's ``check_for_updates`` + ``download_and_apply_update`` 1.0.0 -> 1.1.0 from a
  client folder holding what a tufup install holds (root.json, the 1.0.0 archive, the app),
  against a loopback server of its repository. A stock step that would need more memory than
  the machine has free is not started, and the table says why.

``python -m bench scale`` runs it alone (``--quick``: the small bundle, numpy alone);
``python -m bench.scale [--small]`` too. The table is printed and written as Markdown (and the
figures as JSON) to ``.bench/scale/<full|small>/``, for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench._process import ProcessRun, allocated_bytes, mem_available_mb, run_measured
from bench.loopback import LoopbackCA, LoopbackServer, make_ca
from bench.paths import ROOT
from bench.scale_bundle import (
    SCALE_DIR,
    UPGRADE,
    VERSIONS,
    BundleSet,
    bundle_set,
    bundle_size,
    ensure_bundle,
    left_out,
    read_through,
)
from bench.stock_env import REQUIREMENT, stock_command, stock_env, stock_python
from bench.table import format_table

TITLE = "a 460 MB application, one file changed, then one wheel upgraded (issue 11)"
APP = "bigapp"
OURS_TIMEOUT = 1200.0  # seconds for one of our commands
STOCK_TIMEOUT = 1200.0  # for one of stock tufup's (its 1.1.0 release took 377 s in the issue)
# stock's release with a patch holds both tars and bsdiff4's suffix array: the issue measured
# 8.8 GB peak for a 462 MB bundle, about 19x the tar; its client patch about 4x
STOCK_DIFF_MEMORY = 20
STOCK_APPLY_MEMORY = 5
MB = 10**6  # file and disk sizes; RSS is in MiB as in the other benchmarks


@dataclass
class Step:
    """One measured command, or why it was not run."""

    run: ProcessRun | None = None
    skipped: str = ""

    @property
    def ok(self) -> bool:
        return self.run is not None and self.run.ok

    def why_not(self) -> str:
        if self.run is None:
            return self.skipped or "not run"
        return self.run.problem()

    def seconds(self) -> float | None:
        return self.run.seconds if self.ok and self.run else None

    def peak_mb(self) -> float | None:
        return self.run.peak_mb if self.ok and self.run else None

    def figures(self) -> dict[str, object]:
        if self.run is None:
            return {"skipped": self.skipped}
        return {"seconds": self.run.seconds, "cpu_seconds": self.run.cpu_seconds,
                "peak_mb": self.run.peak_mb,
                "returncode": self.run.returncode, "timeout": self.run.timeout}  # fmt: skip


@dataclass
class Side:
    """What one side measured; sizes in bytes, None when not measured."""

    steps: dict[str, Step] = field(default_factory=dict)
    sizes: dict[str, int | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    method: str = ""  # how the client update came: patch or full archive

    def step(self, name: str) -> Step:
        return self.steps.get(name, Step(skipped="not run"))

    def size(self, name: str) -> int | None:
        return self.sizes.get(name)


def _log(message: str) -> None:
    print(f"  {message}", flush=True)


def _measured(side: Side, name: str, command: Sequence[str | os.PathLike[str]], *, cwd: Path,
              timeout: float, env: dict[str, str], logs: Path) -> Step:  # fmt: skip
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / name.replace(" ", "-")
    run = run_measured(command, cwd=cwd, timeout=timeout, env=env, log=log)
    step = Step(run)
    side.steps[name] = step
    if step.ok:
        _log(
            f"{name}: {run.seconds:.1f} s (CPU {run.cpu_seconds:.1f} s), peak RSS "
            f"{run.peak_mb:,.0f} MB"
        )
    else:
        _log(f"{name}: {step.why_not()}")
    return step


def _skip(side: Side, name: str, why: str) -> Step:
    side.steps[name] = step = Step(skipped=why)
    _log(f"{name}: not run: {why}")
    return step


def _only(folder: Path, pattern: str) -> Path | None:
    found = sorted(folder.glob(pattern))
    return found[0] if len(found) == 1 else None


def _size(path: Path | None) -> int | None:
    return path.stat().st_size if path is not None else None


def _installed_version(app_py: Path) -> str | None:
    try:
        for line in app_py.read_text().splitlines():
            if line.startswith("VERSION = "):
                return line.split('"')[1]
    except OSError:
        pass
    return None


def _our_method(history: Path) -> str:
    """The method of the last download in our client's history.jsonl (patch, archive)."""
    method = ""
    for line in history.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("event") == "downloaded":
            method = str(entry.get("method", ""))
    return method


def _environment(pycache: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Bytecode cached, as in a shipped application (this machine sets PYTHONDONTWRITEBYTECODE;
    bench/startup.py does the same): the warm-up command of each side fills the cache."""
    env = {k: v for k, v in (base or os.environ).items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


# the last commit of the current format (format 1: whole-tar patches, a tar cache per version)
CURRENT_FORMAT_COMMIT = "b6e5b3becf341872ea13e2939e114c9a0881a418"


def current_format_source() -> Path:
    """The project as of CURRENT_FORMAT_COMMIT, unpacked once into .bench/ (git archive)."""
    folder = SCALE_DIR / f"format1-{CURRENT_FORMAT_COMMIT[:12]}"
    if (folder / "repo_tools").is_dir():
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", CURRENT_FORMAT_COMMIT],
                             check=True, capture_output=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
    partial.rename(folder)
    return folder


@dataclass(frozen=True)
class Ours:
    """One of our two formats: where its code is, and the names its releases get."""

    key: str  # "new" or "current"
    source: Path  # put first on PYTHONPATH
    full: str  # glob of the full download a client of this format takes, {v} for the version
    patch: str  # glob of the update from {b} to {v}


def formats() -> tuple[Ours, Ours]:
    return (
        Ours("new", ROOT, "*.{app}-{v}.tar.zst", "*.{app}-{v}.from-{b}.delta"),
        Ours("current", current_format_source(), "*.{app}-{v}.tar.gz",
             "*.{app}-{v}.from-{b}.patch"),
    )  # fmt: skip


def _ours(fmt: Ours, bundles: dict[str, Path], work: Path, ca: LoopbackCA) -> Side:
    side = Side()
    home, logs = work / f"ours-{fmt.key}", work / "logs" / f"ours-{fmt.key}"
    home.mkdir()
    env = _environment(work / f"pycache-ours-{fmt.key}")
    env["PYTHONPATH"] = os.pathsep.join([str(fmt.source), env.get("PYTHONPATH", "")]).rstrip(":")
    python = [sys.executable, "-m"]
    repo, keys = home / "repo", home / "keys"
    tools = [*python, "repo_tools", "--repo", str(repo), "--keys", str(keys)]
    init = run_measured([*tools, "init", "--app-name", APP], cwd=home, timeout=300, env=env,
                        log=home / "init")  # fmt: skip
    if not init.ok:
        raise RuntimeError(f"repo-tools init {init.problem()}")
    run_measured([*python, "client.cli", "--help"], cwd=home, timeout=120, env=env,
                 log=home / "warm")  # fmt: skip

    def release(version: str) -> Step:
        command = [*tools, "release", "--version", version, "--bundle", str(bundles[version])]
        return _measured(side, f"release {version}", command, cwd=home, timeout=OURS_TIMEOUT,
                         env=env, logs=logs)  # fmt: skip

    def target(pattern: str, version: str, base: str = "") -> Path | None:
        return _only(repo / "targets", pattern.format(app=APP, v=version, b=base))

    if not release("1.0.0").ok:
        return side
    archive = target("*.{app}-{v}.tar.gz", "1.0.0")
    side.sizes["archive"] = _size(target(fmt.full, "1.0.0"))
    side.sizes["tar.gz"] = _size(archive)
    if not release("1.1.0").ok:
        return side
    side.sizes["patch 1.1.0"] = _size(target(fmt.patch, "1.1.0", "1.0.0"))

    server = LoopbackServer(repo, ca.server_context)
    try:
        root = home / "install"
        assert archive is not None
        setup = [*python, "client.cli", "setup", "--install-root", str(root), "--from",
                 str(archive), "--server", f"{server.url}/metadata", f"{server.url}/targets",
                 "--ca-bundle", str(ca.ca_file)]  # fmt: skip
        if _measured(side, "setup", setup, cwd=home, timeout=OURS_TIMEOUT, env=env, logs=logs).ok:
            side.sizes["disk setup"] = before = allocated_bytes(root)
            server.reset()
            update = [*python, "client.cli", "--install-root", str(root), "update"]
            step = _measured(side, "update", update, cwd=home, timeout=OURS_TIMEOUT, env=env,
                             logs=logs)  # fmt: skip
            if step.ok:
                side.sizes["disk update"] = allocated_bytes(root) - before
                side.sizes["downloaded"] = server.bytes_served()
                side.method = _our_method(root / "history.jsonl")
                got = _installed_version(root / "current" / "app.py")
                if got != "1.1.0":
                    raise RuntimeError(f"our client's update left version {got} current")
    finally:
        server.close()

    if release("1.2.0").ok:
        side.sizes["patch 1.2.0"] = _size(target(fmt.patch, "1.2.0", "1.1.0"))
    return side


def _memory_guard(factor: float, tar_bytes: int) -> str:
    """Why a stock step is not started ('' if the machine has the memory free for it)."""
    need = factor * tar_bytes / 2**20 + 1024
    free = mem_available_mb()
    if free >= need:
        return ""
    return f"needs about {need / 1024:.1f} GB of memory, {free / 1024:.1f} GB available"


def _stock(bundles: dict[str, Path], work: Path, ca: LoopbackCA, tar_bytes: int) -> Side:
    side = Side()
    home, logs = work / "stock", work / "logs" / "stock"
    home.mkdir()
    env = _environment(work / "pycache-stock", stock_env())
    warm = [stock_python(), "-c", "import tufup.repo, tufup.client"]
    run_measured(warm, cwd=ROOT, timeout=120, env=env, log=home / "warm")
    repo_work = home / "publisher"
    repo_work.mkdir()

    def release(version: str, memory: float) -> Step:
        name = f"release {version}"
        why = _memory_guard(memory, tar_bytes) if memory else ""
        if why:
            return _skip(side, name, why)
        command = stock_command("scale", "release", repo_work, bundles[version], version, APP)
        return _measured(side, name, command, cwd=ROOT, timeout=STOCK_TIMEOUT, env=env,
                         logs=logs)  # fmt: skip

    targets = repo_work / "repo" / "targets"
    if not release("1.0.0", 0).ok:
        return side
    archive = targets / f"{APP}-1.0.0.tar.gz"
    side.sizes["archive"] = _size(archive)
    first_done = release("1.1.0", STOCK_DIFF_MEMORY).ok
    if not first_done:
        side.notes.append("the client update and 1.2.0 need stock's release 1.1.0")
        return side
    side.sizes["patch 1.1.0"] = _size(_only(targets, f"{APP}-1.1.0.patch"))

    client = home / "client"
    (client / "metadata").mkdir(parents=True)
    (client / "targets").mkdir()
    # what a tufup install holds: the trusted root, the installed version's archive (its
    # patch base) and the application itself (a copy: tufup has no installer of its own)
    shutil.copyfile(repo_work / "repo" / "metadata" / "root.json", client / "metadata/root.json")
    shutil.copyfile(archive, client / "targets" / archive.name)
    shutil.copytree(bundles["1.0.0"], client / "app")
    side.sizes["disk setup"] = before = allocated_bytes(client)
    why = _memory_guard(STOCK_APPLY_MEMORY, tar_bytes)
    if why:
        _skip(side, "update", why)
    else:
        server = LoopbackServer(repo_work / "repo", ca.server_context)
        try:
            update = stock_command("scale", "update", "--app", APP, "--version", "1.0.0",
                                   "--url", server.url, "--client-dir", client)  # fmt: skip
            update_env = {**env, "REQUESTS_CA_BUNDLE": str(ca.ca_file)}
            step = _measured(side, "update", update, cwd=ROOT, timeout=STOCK_TIMEOUT,
                             env=update_env, logs=logs)  # fmt: skip
            if step.ok:
                side.sizes["disk update"] = allocated_bytes(client) - before
                side.sizes["downloaded"] = server.bytes_served()
                result = json.loads(step.run.stdout.strip().splitlines()[-1]) if step.run else {}
                patched = (client / "targets" / f"{APP}-1.1.0.patch").is_file()
                side.method = "patch" if patched else "full archive"
                got = _installed_version(client / "app" / "app.py")
                if not result.get("installed") or got != "1.1.0":
                    side.steps["update"] = Step(skipped=f"did not install 1.1.0: {result}")
                    side.sizes.pop("disk update")
        finally:
            server.close()

    if release("1.2.0", STOCK_DIFF_MEMORY).ok:
        side.sizes["patch 1.2.0"] = _size(_only(targets, f"{APP}-1.2.0.patch"))
    return side


# ---- the table ---------------------------------------------------------------------------


def _secs(value: float | None) -> str:
    return f"{value:,.1f} s" if value is not None else ""


def _rss(value: float | None) -> str:
    return f"{value:,.0f} MB" if value is not None else ""


def _bytes(value: int | None, signed: bool = False) -> str:
    if value is None:
        return ""
    sign = "+" if signed and value >= 0 else ""
    if abs(value) < 10_000:
        return f"{sign}{value:,} B"
    if abs(value) < 10 * MB:
        return f"{sign}{value / 1000:,.1f} KB"
    return f"{sign}{value / MB:,.1f} MB"


def _ratio(ours: float | None, stock: float | None) -> str:
    if ours is None or not stock:
        return ""
    return f"{ours / stock:.2f}"


def _met(ok: bool | None) -> str:
    return "" if ok is None else ("yes" if ok else "NO")


Row = list[str]


def _row(label: str, values: Sequence[float | int | None], why: Sequence[str],
         cell: Callable[[float | int | None], str], target: str = "",
         met: bool | None = None) -> Row:  # fmt: skip
    """label, then ours (new format), ours (current format), stock, new/stock, target, met."""
    cells = [
        cell(v) if v is not None else (f"not measured: {w}" if w else "")
        for v, w in zip(values, why, strict=True)
    ]
    return [label, *cells, _ratio(values[0], values[2]), target, _met(met)]


def _within(value: float | int | None, limit: float | int | None) -> bool | None:
    return None if value is None or limit is None else value <= limit


def _at_most(value: float | int | None, limit: float | int | None) -> bool | None:
    return None if limit is None else _within(value, limit)


def table_rows(new: Side, current: Side, stock: Side) -> list[Row]:
    sides = (new, current, stock)

    def steps(name: str) -> tuple[list[float | None], list[float | None], list[str]]:
        found = [side.step(name) for side in sides]
        seconds, peaks = [f.seconds() for f in found], [f.peak_mb() for f in found]
        return seconds, peaks, [f.why_not() for f in found]

    def sizes(name: str) -> list[int | None]:
        return [side.size(name) for side in sides]

    size = lambda v: _bytes(None if v is None else int(v))  # noqa: E731
    grown = lambda v: _bytes(None if v is None else int(v), True)  # noqa: E731
    t1, m1, w1 = steps("release 1.0.0")
    t2, m2, w2 = steps("release 1.1.0")
    t3, m3, w3 = steps("release 1.2.0")
    ts, ms, ws = steps("setup")
    tu, mu, wu = steps("update")
    ws = [ws[0], ws[1], "tufup has no installer"]
    first_ratio = None if t1[0] is None or t1[2] is None else t1[0] / t1[2]
    limit_release = 0.15 * t1[0] if t1[0] is not None else None
    limit_update = 0.5 * ts[0] if ts[0] is not None else None
    archive = sizes("archive")
    no_why = ["", "", ""]
    return [
        _row("publisher: first release 1.0.0, time", t1, w1, _secs,
             "<= 0.33 of stock (3x faster)", _within(first_ratio, 1 / 3)),
        _row("publisher: first release 1.0.0, peak RSS", m1, w1, _rss),
        _row("full download (new: .tar.zst; current, stock: .tar.gz)", archive, no_why, size,
             "<= stock's gzip -9 archive", _at_most(archive[0], archive[2])),
        _row("full archive .tar.gz (format-1 and stock tufup clients)", sizes("tar.gz"),
             no_why, size),
        _row("publisher: release 1.1.0 (app.py changed), time", t2, w2, _secs,
             f"<= 0.15x our first ({_secs(limit_release) or '?'})",
             _within(t2[0], limit_release)),
        _row("publisher: release 1.1.0, peak RSS", m2, w2, _rss, "<= 400 MB",
             _within(m2[0], 400)),
        _row("patch 1.0.0 -> 1.1.0 (new: delta)", sizes("patch 1.1.0"), no_why, size, "(fine)"),
        _row("client: first install (ours: setup), time", ts, ws, _secs),
        _row("client: first install, peak RSS", ms, ws, _rss),
        _row("client: install root after the first install", sizes("disk setup"), no_why, size),
        _row("client: update 1.0.0 -> 1.1.0, time", tu, wu, _secs,
             f"<= 0.5x our first install ({_secs(limit_update) or '?'})",
             _within(tu[0], limit_update)),
        _row("client: update, peak RSS", mu, wu, _rss, "<= 200 MB", _within(mu[0], 200)),
        _row("client: update, bytes downloaded (by the server's count)", sizes("downloaded"),
             no_why, size),
        ["client: update, what it downloaded", *(side.method for side in sides), "", "", ""],
        _row("client: disk added by the update", sizes("disk update"), no_why, grown,
             "<= 30 MB", _within(new.size("disk update"), 30 * MB)),
        _row(f"dependency upgrade 1.2.0 ({UPGRADE[0]} -> {UPGRADE[1].split('==')[1]}): patch",
             sizes("patch 1.2.0"), w3, size, "<= current format's whole-tar patch",
             _at_most(new.size("patch 1.2.0"), current.size("patch 1.2.0"))),
        _row("dependency upgrade 1.2.0: release time", t3, w3, _secs,
             "<= current format's", _at_most(t3[0], t3[1])),
        _row("dependency upgrade 1.2.0: release peak RSS", m3, w3, _rss),
    ]  # fmt: skip


HEADER = ["", "ours (new format)", "ours (current format)",
          f"stock tufup ({REQUIREMENT.split('==')[1]})", "new/stock", "target (issue 11)",
          "met"]  # fmt: skip


def _machine() -> str:
    load = os.getloadavg()
    try:
        with open("/proc/meminfo") as meminfo:
            total = int(meminfo.readline().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        total = float("nan")
    return (f"{os.cpu_count()} cores, {platform.machine()}, {total:.0f} GiB, Python "
            f"{platform.python_version()}, load average {load[0]:.2f}")  # fmt: skip


def run(quick: bool = False, small: bool | None = None) -> None:
    bundles_of = bundle_set(quick if small is None else small)
    started = datetime.now(UTC)
    machine_before = _machine()
    bundles = {version: ensure_bundle(bundles_of, version) for version in VERSIONS}
    size = bundle_size(bundles["1.0.0"])
    refused = left_out(bundles_of, "1.0.0")
    note = (f"Left out of the bundle, as repo-tools release refuses them (its secret scan finds "
            f"PEM private-key headers in them), for both sides: {', '.join(refused)}."
            if refused else "")  # fmt: skip
    for folder in bundles.values():
        read_through(folder)
    print(f"  bundle: {bundles_of.label} + app.py: {size.bytes / MB:,.0f} MB in "
          f"{size.files:,} files ({bundles_of.folder / 'bundles'})", flush=True)  # fmt: skip
    work = bundles_of.folder / "run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    clock = time.perf_counter()
    ca = make_ca(work)
    new_format, current_format = formats()
    # stock first and ours last: the longest runs start while the machine is as it was
    print("  stock tufup:", flush=True)
    stock = _stock(bundles, work, ca, size.bytes)
    print("  ours, current format:", flush=True)
    current = _ours(current_format, bundles, work, ca)
    print("  ours, new format:", flush=True)
    new = _ours(new_format, bundles, work, ca)
    minutes = (time.perf_counter() - clock) / 60
    rows = table_rows(new, current, stock)
    title = (f"{TITLE}: {bundles_of.label} + app.py, {size.bytes / MB:,.0f} MB in "
             f"{size.files:,} files")  # fmt: skip
    text = format_table(HEADER, rows)
    print(f"\n{title}\n{text}", flush=True)
    notes = [note] if note else []
    notes += [f"ours (new): {n}" for n in new.notes] + [f"stock: {n}" for n in stock.notes]
    for line in notes:
        print(f"  {line}")
    machine = f"{machine_before} at the start; {_machine().split(', ')[-1]} at the end"
    sides = {"ours": new, "ours_current_format": current, "stock": stock}
    _write(bundles_of, work, title, text, notes, machine, started, minutes, sides)


def _write(bundles_of: BundleSet, work: Path, title: str, text: str, notes: list[str],
           machine: str, started: datetime, minutes: float,
           sides: dict[str, Side]) -> None:  # fmt: skip
    when = started.strftime("%Y-%m-%d %H:%M UTC")
    markdown = bundles_of.folder / "scale.md"
    after = "".join(f"\n{line}\n" for line in notes)
    markdown.write_text(
        f"{title}; measured {when}, {minutes:.0f} min; machine: {machine}.\n\n{text}\n{after}"
    )
    figures = {
        "bundle": bundles_of.label, "started": when, "machine": machine, "minutes": minutes,
        "notes": notes,
        **{side: {"steps": {n: st.figures() for n, st in data.steps.items()},
                  "sizes": data.sizes, "notes": data.notes, "method": data.method}
           for side, data in sides.items()},
    }  # fmt: skip
    (bundles_of.folder / "scale.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"  written: {markdown} (Markdown), {markdown.with_suffix('.json')}; logs in {work}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=TITLE)
    parser.add_argument("--small", action="store_true", help="numpy alone (about 57 MB)")
    args = parser.parse_args(argv)
    from bench.stock_env import stock_versions

    stock_versions()  # makes stock tufup's environment on first use
    run(small=args.small)


if __name__ == "__main__":
    main()
