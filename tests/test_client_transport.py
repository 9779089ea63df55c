"""Transport against a real HTTPS server on loopback: limits, deadline, resume, mirrors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tuf.api import exceptions

from client import Updater
from client.transport import InsecureURLError, Transport
from tests.support.install import install_root
from tests.support.publisher import Publisher

BODY = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "www"
    folder.mkdir()
    (folder / "big.bin").write_bytes(BODY)
    return folder


def transport(test_ca, **kwargs) -> Transport:
    return Transport(ca_bundle=str(test_ca.ca_file), **kwargs)


def test_plain_download_and_progress(files, https_server, test_ca, tmp_path) -> None:
    server = https_server(files)
    t = transport(test_ca)
    assert t.download_bytes(f"{server.url}/big.bin", len(BODY)) == BODY
    seen = []
    partial = tmp_path / "p.part"
    with (
        t.target("big.bin", partial, lambda n, d, total: seen.append((d, total))),
        t.download_file(f"{server.url}/big.bin", len(BODY)) as handle,
    ):
        assert handle.read() == BODY
    assert seen[-1] == (len(BODY), len(BODY)) and len(seen) > 1
    assert not partial.exists()


def test_http_refused_unless_dev_loopback(files, test_ca) -> None:
    from tests.support.https_server import StaticServer

    plain = StaticServer(files, None)
    try:
        with pytest.raises(InsecureURLError, match="only https://"):
            transport(test_ca).download_bytes(f"{plain.url}/big.bin", len(BODY))
        dev = transport(test_ca, allow_http_loopback=True)
        assert dev.download_bytes(f"{plain.url}/big.bin", len(BODY)) == BODY
        with pytest.raises(InsecureURLError):
            dev.download_bytes("http://example.com/big.bin", 10)
    finally:
        plain.close()


def test_untrusted_certificate_refused(files, https_server) -> None:
    server = https_server(files)
    with pytest.raises(exceptions.DownloadError, match="certificate is not trusted"):
        Transport().download_bytes(f"{server.url}/big.bin", len(BODY))


def test_endless_data_stops_at_the_signed_length(files, https_server, test_ca) -> None:
    def endless(handler) -> bool:
        handler.send_response(200)
        handler.end_headers()
        try:
            while True:
                handler.wfile.write(b"x" * 65536)
        except OSError:
            return True

    server = https_server(files, hook=endless)
    with pytest.raises(exceptions.DownloadLengthMismatchError, match="endless data"):
        transport(test_ca).download_bytes(f"{server.url}/timestamp.json", 100_000)


def test_max_download_mb_refuses_before_downloading(files, https_server, test_ca, tmp_path):
    server = https_server(files)
    t = transport(test_ca, max_download_bytes=1000)
    with (
        pytest.raises(exceptions.DownloadLengthMismatchError, match="max_download_mb"),
        t.target("big.bin", tmp_path / "p", None),
        t.download_file(f"{server.url}/big.bin", len(BODY)),
    ):
        pass
    assert server.requests == []


def test_slow_retrieval_fails_within_the_deadline(files, https_server, test_ca) -> None:
    def trickle(handler) -> bool:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        try:
            for _ in range(1000):
                handler.wfile.write(b"x")
                handler.wfile.flush()
                time.sleep(0.5)  # well within the read timeout: only the deadline catches it
        except OSError:
            pass
        return True

    server = https_server(files, hook=trickle)
    t = transport(test_ca, read_timeout=5, deadline_seconds=2)
    started = time.monotonic()
    with pytest.raises(exceptions.SlowRetrievalError, match="deadline"), t.operation():
        t.download_bytes(f"{server.url}/big.bin", 1000)
    assert time.monotonic() - started < 15  # the trickle itself would last 500 s


def test_interrupted_download_resumes_with_range(files, https_server, test_ca, tmp_path):
    cut = {"first": True}
    ranges = []

    def flaky(handler) -> bool:
        if not handler.path.endswith("big.bin"):
            return False
        header = handler.headers.get("Range")
        ranges.append(header)
        if cut["first"]:  # first attempt: the connection drops half way
            cut["first"] = False
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(BODY)))
            handler.end_headers()
            handler.wfile.write(BODY[: len(BODY) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.close()
            return True
        start = int(header.split("=")[1].rstrip("-"))
        handler.send_response(206)
        handler.send_header("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")
        handler.send_header("Content-Length", str(len(BODY) - start))
        handler.end_headers()
        handler.wfile.write(BODY[start:])
        return True

    server = https_server(files, hook=flaky)
    t = transport(test_ca)
    partial = tmp_path / "big.part"
    with (
        pytest.raises(exceptions.DownloadError),
        t.target("big.bin", partial, None),
        t.download_file(f"{server.url}/big.bin", len(BODY)),
    ):
        pass
    kept = partial.stat().st_size
    assert 0 < kept < len(BODY)
    received_before = t.bytes_received
    with (
        t.target("big.bin", partial, None),
        t.download_file(f"{server.url}/big.bin", len(BODY)) as handle,
    ):
        assert handle.read() == BODY
    assert ranges == [None, f"bytes={kept}-"]
    assert t.bytes_received - received_before == len(BODY) - kept  # only the rest came over
    assert not partial.exists()


def test_mirrors_5xx_then_fallback_and_all_failing(tmp_path, https_server, test_ca) -> None:
    publisher = Publisher(tmp_path / "pub")
    publisher.release("--version", "1.0.0")

    def broken(handler) -> bool:
        handler.send_error(503, "down for maintenance")
        return True

    bad = https_server(publisher.repo, hook=broken)
    good = https_server(publisher.repo)
    root = tmp_path / "install"
    install_root(root, publisher, "1.0.0", [bad.url, good.url], test_ca.ca_file)
    publisher.release("--bump", "patch")
    updater = Updater.from_config(install_root=root)
    assert updater.update() == "1.0.1"
    assert bad.requests and good.requests

    publisher.release("--bump", "patch")
    bad2 = https_server(publisher.repo, hook=broken)
    updater.set_setting(
        "servers",
        [
            updater.settings.servers[0],
            {"metadata_url": f"{bad2.url}/metadata", "targets_url": f"{bad2.url}/targets"},
        ],
    )
    errors = []
    updater.on_event(lambda e: errors.append(e) if e.kind == "error" else None)
    with pytest.raises(Exception, match="all 2 update servers failed") as caught:
        updater.update()
    assert "HTTP 503" in str(caught.value)
    assert errors and "all 2 update servers failed" in errors[-1].message
    assert updater.layout.current_version() == "1.0.1"
    assert updater.history()[-1]["result"] == "failed"
