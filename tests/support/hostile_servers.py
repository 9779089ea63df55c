"""Hostile answers for `StaticServer` hooks: other bytes, endless bodies, trickles, resets,
stalls, and an honest server with HTTP Range support. A hook gets the request handler and
returns True when it has answered the request itself."""

from __future__ import annotations

import http.server
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

Handler = http.server.BaseHTTPRequestHandler


def local_file(root: Path, handler: Handler) -> Path:
    """The file under `root` that the request asks for."""
    return root / handler.path.lstrip("/").split("?")[0]


def answer(handler: Handler, data: bytes, status: int = 200, length: int | None = None) -> bool:
    """Answer `data` with `status`; `length` claims another Content-Length."""
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(data) if length is None else length))
    handler.end_headers()
    handler.wfile.write(data)
    return True


def answer_endless(handler: Handler, prefix: bytes = b"", limit_seconds: float = 20) -> bool:
    """A body that never ends (no Content-Length, bytes until the client hangs up)."""
    handler.send_response(200)
    handler.end_headers()
    handler.close_connection = True
    chunk = b"A" * 65536
    deadline = time.monotonic() + limit_seconds
    try:
        handler.wfile.write(prefix)
        while time.monotonic() < deadline:
            handler.wfile.write(chunk)
    except OSError:
        pass
    return True


def answer_trickle(handler: Handler, data: bytes, per_second: int = 1, limit: float = 30) -> bool:
    """Honest headers, then `per_second` bytes a second (slow retrieval)."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.close_connection = True
    deadline = time.monotonic() + limit
    try:
        for i in range(0, len(data), per_second):
            if time.monotonic() > deadline:
                break
            handler.wfile.write(data[i : i + per_second])
            handler.wfile.flush()
            time.sleep(1)
    except OSError:
        pass
    return True


def reset_connection(handler: Handler, after: bytes = b"", total: int | None = None) -> bool:
    """Send headers (and `after` bytes of body) then reset the TCP connection (RST)."""
    handler.close_connection = True
    try:
        if total is not None:
            handler.send_response(200)
            handler.send_header("Content-Length", str(total))
            handler.end_headers()
            handler.wfile.write(after)
            handler.wfile.flush()
            time.sleep(0.3)  # let the client read what was sent before the reset
        raw = handler.connection
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            sock = raw.unwrap() if hasattr(raw, "unwrap") and total is None else raw
        except (OSError, ValueError):
            sock = raw
        sock.close()
    except OSError:
        pass
    return True


class Gate:
    """Lets a hook stall a request until the test releases it (with a safety timeout)."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    def stall(self, seconds: float = 30) -> None:
        self.reached.set()
        self.release.wait(seconds)


def serve_ranges(root: Path) -> Callable[[Handler], bool]:
    """A hook serving files honestly *with* HTTP Range support (as nginx or a CDN would)."""

    def hook(handler: Handler) -> bool:
        path = local_file(root, handler)
        header = handler.headers.get("Range")
        if not header or not path.is_file():
            return False
        data = path.read_bytes()
        start = int(header.split("=")[1].split("-")[0])
        if start >= len(data):
            return answer(handler, b"", status=416)
        handler.send_response(206)
        handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.send_header("Content-Length", str(len(data) - start))
        handler.end_headers()
        handler.wfile.write(data[start:])
        return True

    return hook
