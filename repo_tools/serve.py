"""`repo-tools serve`: a development static server for metadata/ and targets/ only.

Production serving is any static host (see README, nginx example). With TLS, a development
certificate authority is created in the TLS folder on first use and reused afterwards, so a
client's ca_bundle keeps working across restarts of the server; its file is printed.
"""

from __future__ import annotations

import http.server
import os
import ssl
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from repo_tools.destination import PUBLISHED_FOLDERS
from repo_tools.errors import RepoError


@dataclass(frozen=True)
class Serving:
    """A server bound and ready for `serve_forever()`."""

    server: http.server.ThreadingHTTPServer
    url: str  # e.g. http://127.0.0.1:8080/
    ca_file: Path | None  # the development CA clients need as ca_bundle (with TLS)


class _RepositoryHandler(http.server.SimpleHTTPRequestHandler):
    def _published(self) -> bool:
        """Only files inside metadata/ or targets/, judged on the decoded, resolved path
        (so `%2e%2e` and `..` cannot reach repo-tools.json, staging or a ceremony draft)."""
        wanted = Path(self.translate_path(self.path)).resolve()
        root = Path(self.directory).resolve()
        return any(wanted.is_relative_to(root / folder) for folder in PUBLISHED_FOLDERS)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if not self._published():
            self.send_error(404)
            return
        super().do_GET()

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        if not self._published():
            self.send_error(404)
            return
        super().do_HEAD()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        if not self.server.quiet:  # type: ignore[attr-defined]
            super().log_message(format, *args)

    def list_directory(self, path):  # type: ignore[no-untyped-def]
        self.send_error(404)
        return None


def make_server(
    repo: Path, host: str, port: int, tls_dir: Path | None, quiet: bool = False
) -> tuple[http.server.ThreadingHTTPServer, Path | None]:
    handler = partial(_RepositoryHandler, directory=str(repo))
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.quiet = quiet  # type: ignore[attr-defined]
    ca_file = None
    if tls_dir is not None:
        ca_file, ca = development_ca(tls_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(host, "localhost", "127.0.0.1", "::1").configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    return server, ca_file


def open_server(repo: Path, host: str, port: int, tls_dir: Path | None) -> Serving:
    """`repo-tools serve`: the development server for `repo`, bound to host:port."""
    if not (repo / "metadata").is_dir():
        raise RepoError(f"{repo}/metadata not found: run `repo-tools init` and `release` first")
    try:
        server, ca_file = make_server(repo, host, port, tls_dir)
    except OSError as error:
        raise RepoError(
            f"cannot listen on {host}:{port}: {error.strerror}; choose another --port"
        ) from None
    scheme = "https" if tls_dir is not None else "http"
    return Serving(server, f"{scheme}://{host}:{server.server_address[1]}/", ca_file)


def development_ca(tls_dir: Path):  # type: ignore[no-untyped-def]
    """The CA kept in tls_dir (dev-ca.pem, dev-ca.key), made on first use."""
    import trustme

    ca_file, key_file = tls_dir / "dev-ca.pem", tls_dir / "dev-ca.key"
    if ca_file.is_file() and key_file.is_file():
        return ca_file, trustme.CA.from_pem(ca_file.read_bytes(), key_file.read_bytes())
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(ca.private_key_pem.bytes())
    ca.cert_pem.write_to_path(str(ca_file))
    return ca_file, ca
