"""A real HTTPS static file server on 127.0.0.1 for tests, with a throwaway certificate authority.

`StaticServer` serves a folder; a `handler_hook` lets hostile-server tests take over any
request (serve other bytes, hang, trickle, reset) while everything else is served honestly.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import trustme

# A hook gets the handler and returns True when it has answered the request itself.
Hook = Callable[[http.server.SimpleHTTPRequestHandler], bool]


@dataclass
class TestCA:
    ca: trustme.CA
    ca_file: Path
    server_context: ssl.SSLContext


def make_test_ca(directory: Path) -> TestCA:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = directory / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return TestCA(ca, ca_file, context)


class _Handler(http.server.SimpleHTTPRequestHandler):
    server_state: StaticServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def setup(self) -> None:
        self.server_state.connections += 1
        # HTTP/1.1 keeps the connection open between requests, as nginx or a CDN does
        if self.server_state.keep_alive:
            self.protocol_version = "HTTP/1.1"
            # headers and body go out in separate writes: without this, delayed ACKs stall
            # every response on a reused connection by ~40 ms (production servers set it too)
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        if not self.server_state.keep_alive:
            return super().send_error(code, message, explain)
        body = f"{code} {message or ''}".encode()  # the stdlib's version always closes
        self.send_response(code, message)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        state = self.server_state
        state.requests.append(self.path)
        if state.hook is not None and state.hook(self):
            return
        super().do_GET()


@dataclass
class StaticServer:
    """Serves `root` over HTTPS (or HTTP when context is None) on an ephemeral loopback port."""

    root: Path
    context: ssl.SSLContext | None
    hook: Hook | None = None
    requests: list[str] = field(default_factory=list)
    keep_alive: bool = False  # HTTP/1.1 persistent connections (default: one per request)
    connections: int = 0  # TCP connections accepted

    def __post_init__(self) -> None:
        handler = type("BoundHandler", (_Handler,), {"server_state": self})
        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(handler, directory=str(self.root))
        )
        self.httpd.daemon_threads = True
        if self.context is not None:
            self.httpd.socket = self.context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        scheme = "https" if self.context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
