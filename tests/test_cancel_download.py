"""`Updater.cancel()` against a real HTTPS server: a download cancelled from another thread
stops mid-way, keeps its partial file and says "cancelled" in history; the next download
resumes it with HTTP Range and completes. The same for a delta (no fall back to the full
pack) and for Ctrl-C on `update-client download` (exit 7)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from client.errors import ErrorKind, UpdateError
from client.transport import CHUNK
from tests.support.bundles import write_app
from tests.support.hostile_servers import Gate, Handler, local_file, serve_ranges
from tests.support.install import client_command, install_root, launch, without_delta_base
from tests.support.publisher import Publisher, release_bundle

SIZE = 3_000_000  # incompressible: about 11 transport chunks, so a cancel lands mid-way


class Site:
    """Release 1.0.0 installed, 1.1.0 published (a 1 MB delta or a 3 MB pack), served by
    a real HTTPS server whose `hook` the test sets."""

    def __init__(self, tmp: Path, https_server, ca_file: Path) -> None:
        self.publisher = Publisher(tmp / "pub")
        bundle = self.publisher.bundle
        write_app(bundle, "one", size=SIZE)
        release_bundle(self.publisher.repo, self.publisher.keys, bundle, "--version", "1.0.0")
        write_app(bundle, "two", size=SIZE)
        data = bytearray((bundle / "lib" / "data.bin").read_bytes())
        data[100_000:1_100_000] = random.Random(8).randbytes(1_000_000)  # a patch of ~1 MB
        (bundle / "lib" / "data.bin").write_bytes(bytes(data))
        release_bundle(self.publisher.repo, self.publisher.keys, bundle, "--version", "1.1.0")
        self.hook = None
        self.server = https_server(self.publisher.repo, lambda h: bool(self.hook and self.hook(h)))
        self.root = tmp / "install"
        self.layout = install_root(
            self.root, self.publisher, "1.0.0", [self.server.url], ca_file, read_timeout_seconds=60
        )

    def updater(self):
        from client import Updater

        updater = Updater.from_config(install_root=self.root)
        events: list = []
        updater.on_event(events.append)
        return updater, events

    def partial(self) -> Path | None:
        found = list(self.layout.targets_dir.glob(".*.part"))
        assert len(found) <= 1, found
        return found[0] if found else None

    def history(self) -> list[dict]:
        from client.history import read

        return read(self.layout.history_file)

    def stall(self, suffix: str, sent: int, gate: Gate) -> None:
        """The first request for a target ending in `suffix` gets `sent` bytes, then waits for
        the gate; everything else (and later requests, Range included) is served honestly."""
        honest = serve_ranges(self.publisher.repo)

        def hook(h: Handler) -> bool:
            if h.path.endswith(suffix) and not gate.reached.is_set():
                data = local_file(self.publisher.repo, h).read_bytes()
                h.send_response(200)
                h.send_header("Content-Length", str(len(data)))
                h.end_headers()
                h.close_connection = True
                try:
                    h.wfile.write(data[:sent])
                    h.wfile.flush()
                    gate.stall(60)
                    h.wfile.write(data[sent:])
                except OSError:
                    pass  # the client hung up after cancelling
                return True
            return honest(h)

        self.hook = hook

    def ranges_asked(self, suffix: str) -> list[str | None]:
        """From now on, record the Range header of every request for `suffix`."""
        asked: list[str | None] = []
        inner = self.hook

        def spy(h: Handler) -> bool:
            if h.path.endswith(suffix):
                asked.append(h.headers.get("Range"))
            return bool(inner and inner(h))

        self.hook = spy
        return asked


@pytest.fixture
def site(tmp_path, https_server, test_ca) -> Site:
    return Site(tmp_path, https_server, test_ca.ca_file)


def cancel_mid_download(site: Site, suffix: str) -> tuple[UpdateError, list, int]:
    """Start a download on a worker thread; at its first progress event, cancel it from this
    thread while the server holds back the rest. The error, the events, the partial size."""
    gate = Gate()
    site.stall(suffix, 2 * CHUNK + 1000, gate)
    updater, events = site.updater()
    progressed = threading.Event()
    updater.on_event(lambda e: e.kind == "download_progress" and progressed.set())
    outcome: dict = {}

    def download() -> None:
        try:
            outcome["result"] = updater.download()
        except UpdateError as error:
            outcome["error"] = error

    worker = threading.Thread(target=download)
    worker.start()
    try:
        assert progressed.wait(60), "the download never made progress"
        updater.cancel()  # from the test's thread, while the server holds back the rest
    finally:
        gate.release.set()
        worker.join(60)
    assert not worker.is_alive()
    assert "error" in outcome, f"the download was not cancelled: {outcome}"
    partial = site.partial()
    assert partial is not None, "the partial download was not kept"
    return outcome["error"], events, partial.stat().st_size


def test_a_cancelled_download_keeps_its_bytes_and_the_next_one_resumes(site: Site) -> None:
    without_delta_base(site.layout, "1.0.0")  # no delta base: the full pack
    archive = site.publisher.target_file("demo-1.1.0.tar.zst").stat().st_size
    error, events, kept = cancel_mid_download(site, ".tar.zst")

    assert error.kind == ErrorKind.CANCELLED and "cancelled" in error.message
    assert CHUNK <= kept < archive, (kept, archive)  # stopped mid-way, bytes kept
    (failure,) = [e for e in events if e.kind == "error"]
    assert failure.data["kind"] == "cancelled" and failure.data["action"] == "downloaded"
    record = site.history()[-1]
    assert (record["event"], record["result"], record["kind"]) == (
        "downloaded", "cancelled", "cancelled",
    )  # fmt: skip
    assert site.layout.current_version() == "1.0.0"
    assert site.layout.read_state().downloaded is None

    asked = site.ranges_asked(".tar.zst")
    updater, events = site.updater()
    result = updater.download_result()
    assert result.update.version == "1.1.0" and result.method == "full"
    assert asked == [f"bytes={kept}-"]  # resumed where the cancel left it
    assert result.bytes < archive  # the kept bytes were not fetched again
    assert site.partial() is None
    assert site.history()[-1]["result"] == "ok"
    assert updater.install() == "1.1.0"
    assert launch(site.root).startswith("app 1.1.0 two")


def test_a_cancelled_delta_does_not_fall_back_to_the_full_pack(site: Site) -> None:
    error, _, kept = cancel_mid_download(site, ".delta")
    assert error.kind == ErrorKind.CANCELLED
    assert not [p for p in site.server.requests if p.endswith((".tar.gz", ".tar.zst"))]
    patch = site.publisher.target_file("demo-1.1.0.from-1.0.0.delta").stat().st_size
    assert kept < patch, (kept, patch)

    asked = site.ranges_asked(".delta")
    updater, _ = site.updater()
    result = updater.download_result()
    assert result.method == "patch" and asked == [f"bytes={kept}-"]
    assert updater.install() == "1.1.0"
    assert launch(site.root).startswith("app 1.1.0 two")


def test_cancel_without_a_download_changes_nothing(site: Site) -> None:
    """A cancel with no download running is not kept for the next one."""
    updater, _ = site.updater()
    updater.cancel()
    site.hook = serve_ranges(site.publisher.repo)
    assert updater.download() is not None and updater.install() == "1.1.0"


def test_ctrl_c_cancels_update_client_download_with_exit_7(site: Site) -> None:
    without_delta_base(site.layout, "1.0.0")
    gate = Gate()
    site.stall(".tar.zst", 2 * CHUNK + 1000, gate)
    command = client_command("--json", "--install-root", str(site.root), "download")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert gate.reached.wait(60), "the server never saw the request"
        deadline = time.monotonic() + 30
        while (site.partial() is None or site.partial().stat().st_size < CHUNK) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.02)  # wait until the client has written its first chunk
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)  # the handler runs when the signal interrupts the blocked read
        gate.release.set()
        out, err = proc.communicate(timeout=60)
    finally:
        gate.release.set()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 7, (proc.returncode, out, err)
    assert "Traceback" not in err and "cancelled: run the command again" in err
    answer = json.loads(out)
    assert answer["ok"] is False and answer["kind"] == "cancelled" and answer["exit_code"] == 7
    assert site.history()[-1]["result"] == "cancelled"
    kept = site.partial().stat().st_size
    assert kept < site.publisher.target_file("demo-1.1.0.tar.zst").stat().st_size

    asked = site.ranges_asked(".tar.zst")
    updater, _ = site.updater()
    assert updater.update() == "1.1.0" and asked == [f"bytes={kept}-"]
