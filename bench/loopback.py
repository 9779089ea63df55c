"""An HTTPS static file server on 127.0.0.1 for the benchmarks, counting what it serves.

:func:`make_ca` makes a throwaway certificate authority (trustme) and a server certificate for
127.0.0.1; :class:`LoopbackServer` serves one folder on an ephemeral loopback port, records
the path of every GET and the payload bytes of the files it sent (a 404 counts 0 bytes, HTTP
headers are not counted). ``keep_alive`` switches between one connection per request
(HTTP/1.0) and persistent HTTP/1.1 connections, as nginx or a CDN serve.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHUNK = 64 * 1024


@dataclass(frozen=True)
class LoopbackCA:
    ca_file: Path  # PEM of the authority, for the clients' trust store
    server_context: ssl.SSLContext  # holds the certificate for 127.0.0.1 it issued


def make_ca(directory: Path) -> LoopbackCA:
    """A new certificate authority, its PEM written to directory/bench-ca.pem."""
    import trustme

    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca_file = directory / "bench-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return LoopbackCA(ca_file, context)


class _Handler(http.server.BaseHTTPRequestHandler):
    owner: LoopbackServer  # set on the per-server subclass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def setup(self) -> None:
        if self.owner.keep_alive:
            self.protocol_version = "HTTP/1.1"
            # headers and body are separate writes: without this a reused connection waits
            # for the client's delayed ACK (about 40 ms) on every response
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def _file(self) -> Path | None:
        root = self.owner.folder
        wanted = (root / unquote(urlsplit(self.path).path).lstrip("/")).resolve()
        return wanted if wanted.is_relative_to(root) and wanted.is_file() else None

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        file = self._file()
        # counted before answering, so the count is complete when the client has its answer
        self.owner.record(self.path, 0 if file is None else file.stat().st_size)
        if file is None:
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        size = file.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        with open(file, "rb") as source:
            while chunk := source.read(CHUNK):
                self.wfile.write(chunk)


class LoopbackServer:
    """Serves ``folder`` over HTTPS on 127.0.0.1 (an ephemeral port) until :meth:`close`."""

    def __init__(self, folder: Path, context: ssl.SSLContext, keep_alive: bool = False) -> None:
        self.folder = folder.resolve()
        self.keep_alive = keep_alive
        self._lock = threading.Lock()
        self._requests: list[str] = []
        self._bytes = 0
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._httpd.server_address[1]}"

    def record(self, path: str, payload: int) -> None:
        """Called by the handler for each GET: its path and the file bytes it is sent."""
        with self._lock:
            self._requests.append(path)
            self._bytes += payload

    def reset(self) -> None:
        """Forget the requests and bytes counted so far."""
        with self._lock:
            self._requests.clear()
            self._bytes = 0

    def requests(self) -> list[str]:
        """Paths requested since the last reset, in order."""
        with self._lock:
            return list(self._requests)

    def bytes_served(self) -> int:
        """Payload bytes of the files sent since the last reset."""
        with self._lock:
            return self._bytes

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
