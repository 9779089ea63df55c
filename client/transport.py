"""Network I/O for ngclient: a `FetcherInterface` built on requests.

Everything the TUF specification leaves to the transport lives here:
HTTPS only (plain http only to loopback behind an explicit development flag), per-request
connect/read timeouts plus one wall-clock deadline per operation (a server trickling a byte a
second still fails in time: the slow-retrieval attack), never more bytes than the signed length
or `max_download_mb` (endless data), progress callbacks, and HTTP Range resume of an
interrupted target download. Verification stays in ngclient: a resumed file is checked whole
against the signed length and hashes, and a file that fails is deleted, never resumed again.

Failures are raised as tuf's exception types whose text is one sentence for people (what
failed, on which server, which file); the low-level cause (urllib3, ssl, socket) stays
chained as `__cause__` and the URL as `.url`, for `client.errors.describe` to keep as the
technical detail. The server's `Date` header is remembered (`clock_offset`), so an expiry
can be told apart from a wrong local clock.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

import requests
import urllib3
from tuf.api import exceptions
from tuf.ngclient import FetcherInterface

from client import errors
from client.urls import is_loopback, url_problem

CHUNK = 1 << 18  # 256 KiB: large reads for throughput, frequent enough progress
# (target name, bytes so far, total bytes)
ProgressCallback = Callable[[str, int, int], None]


class InsecureURLError(exceptions.DownloadError):
    """A URL this client refuses to use (plain http outside development loopback)."""

    advice = "use the https:// address of the update server in the settings (`servers`)"


class DeadlineExceededError(exceptions.SlowRetrievalError):
    """The operation's overall deadline passed (slow retrieval defence)."""


class ServerUnreachableError(exceptions.DownloadError):
    """No connection to the update server: refused, no route, name not found, TLS refused."""


class ConnectionCutError(exceptions.DownloadError, errors.CutShort):
    """The server closed or reset the connection before the whole body arrived."""


E = TypeVar("E", bound=exceptions.DownloadError)


def _at(error: E, url: str, advice: str | None = None) -> E:
    """The error, carrying the URL it concerns (the technical detail of the message) and,
    when the usual advice for its kind does not fit, what to do instead."""
    error.url = url  # type: ignore[attr-defined]
    if advice is not None:
        error.advice = advice  # type: ignore[attr-defined]
    return error


@dataclass
class _TargetDownload:
    name: str
    partial: Path  # resumable bytes of this target: named after its hash, so never mixed up
    progress: ProgressCallback | None


_CONTEXTS: dict[str | None, ssl.SSLContext] = {}


def _tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """One verifying TLS context per trust store, built once: loading a CA bundle costs more
    than a warm update check's own work, and requests would reload it for every connection.
    A `ca_bundle` setting that names no usable file is a settings error naming it."""
    if ca_bundle not in _CONTEXTS:
        import certifi  # requests' own default trust store

        try:
            context = ssl.create_default_context(cafile=ca_bundle or certifi.where())
        except (OSError, ssl.SSLError) as error:
            if not ca_bundle:
                raise
            raise errors.ca_bundle_error(ca_bundle, error) from error
        _CONTEXTS[ca_bundle] = context
    return _CONTEXTS[ca_bundle]


class _TrustAdapter(requests.adapters.HTTPAdapter):
    """Every HTTPS connection verifies with one prepared context (hostname and chain checked)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def build_connection_pool_key_attributes(self, request, verify, cert=None):  # type: ignore[no-untyped-def]
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        pool_kwargs.pop("ca_certs", None)
        pool_kwargs.pop("ca_cert_dir", None)
        pool_kwargs["ssl_context"] = self._context
        return host_params, pool_kwargs

    def cert_verify(self, conn, url, verify, cert) -> None:  # type: ignore[no-untyped-def]
        pass  # the context above already holds the trust store and CERT_REQUIRED


_SMALL_BODY = 64 * 1024


def _finish(response: requests.Response, seconds: float) -> None:
    """Done with an error response: keep the connection for the next request (the root probe's
    404 comes right before the timestamp) when its small body arrives within the deadline,
    else drop the connection."""
    watchdog = _Watchdog(response, seconds)
    try:
        if int(response.headers.get("Content-Length", _SMALL_BODY + 1)) <= _SMALL_BODY:
            response.raw.read(_SMALL_BODY + 1, decode_content=False)
            response.raw.release_conn()
    except Exception:  # noqa: BLE001 - any failure here only costs the connection
        pass
    finally:
        watchdog.cancel()
        response.close()


class _Watchdog:
    """Shuts a response's socket down when the deadline passes, ending any blocked read."""

    def __init__(self, response: requests.Response, seconds: float) -> None:
        self._sock: socket.socket | None = None
        self._timer: threading.Timer | None = None
        self.fired = False
        try:
            # a duplicate of the connection's descriptor: shutting it down ends reads on the
            # shared socket without touching the TLS object the reading thread is using
            self._sock = socket.fromfd(response.raw.fileno(), socket.AF_INET, socket.SOCK_STREAM)
        except (OSError, ValueError, AttributeError):
            return  # body already buffered in full: nothing can block
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._sock is not None:
            self._sock.close()


class Transport(FetcherInterface):
    def __init__(
        self,
        *,
        connect_timeout: float = 10,
        read_timeout: float = 30,
        deadline_seconds: float = 900,
        max_download_bytes: int = 1 << 30,
        ca_bundle: str | None = None,
        allow_http_loopback: bool = False,
        proxy: str = "system",
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline_seconds = deadline_seconds
        self.max_download_bytes = max_download_bytes
        self.allow_http_loopback = allow_http_loopback
        self._session = requests.Session()
        # no netrc or CA-bundle surprises from the environment; proxies only as configured
        self._session.trust_env = False
        self.proxy = proxy
        self._session.verify = True
        self._session.mount("https://", _TrustAdapter(_tls_context(ca_bundle)))
        self._session.headers["Accept-Encoding"] = "identity"  # bytes as signed, never decoded
        self._deadline: float | None = None
        self._target: _TargetDownload | None = None
        self.bytes_received = 0
        self.requests_made = 0
        # last metadata bytes per URL: lets error messages name an expiry date
        self.last_metadata: dict[str, bytes] = {}
        # seconds this computer's clock is ahead of the last server's Date header (None: no
        # header seen): an expiry that is only one by our clock points at the clock
        self.clock_offset: float | None = None

    # -- operation scope -------------------------------------------------------------------

    @contextlib.contextmanager
    def operation(self) -> Iterator[None]:
        """Everything inside shares one wall-clock deadline."""
        previous = self._deadline
        self._deadline = time.monotonic() + self.deadline_seconds
        try:
            yield
        finally:
            self._deadline = previous

    @contextlib.contextmanager
    def target(self, name: str, partial: Path, progress: ProgressCallback | None) -> Iterator[None]:
        """Downloads inside are the target `name`: resumable in `partial`, with progress."""
        self._target = _TargetDownload(name, partial, progress)
        try:
            yield
        finally:
            self._target = None

    def close(self) -> None:
        self._session.close()

    # -- FetcherInterface --------------------------------------------------------------------

    def check_url(self, url: str) -> None:
        if url_problem(url, self.allow_http_loopback) is None:
            return
        raise InsecureURLError(
            f"refusing {url}: only https:// is allowed (plain http only to 127.0.0.1/::1 "
            "with dev_allow_http_loopback)"
        )

    def _proxies(self, url: str) -> dict[str, str]:
        if self.proxy == "none":
            return {}
        if self.proxy == "system":
            if is_loopback(url):
                return {}  # an environment proxy never makes sense for this machine itself
            return requests.utils.get_environ_proxies(url)  # honours NO_PROXY
        return {"http": self.proxy, "https": self.proxy}

    def _remaining(self) -> float:
        if self._deadline is None:
            return self.deadline_seconds
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._deadline_passed()
        return remaining

    def _deadline_passed(self) -> None:
        raise DeadlineExceededError(
            f"download deadline of {self.deadline_seconds:g} s exceeded: the server is too "
            "slow or stalling (slow retrieval)"
        )

    def _note_date(self, response: requests.Response) -> None:
        from email.utils import parsedate_to_datetime

        with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
            server = parsedate_to_datetime(response.headers.get("Date", "")).timestamp()
            self.clock_offset = time.time() - server

    def _open(self, url: str, offset: int = 0) -> requests.Response:
        self.check_url(url)
        remaining = self._remaining()
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        self.requests_made += 1
        try:
            response = self._session.get(
                url,
                stream=True,
                headers=headers,
                allow_redirects=False,  # a redirect could leave https or the mirror
                proxies=self._proxies(url),
                timeout=(min(self.connect_timeout, remaining), min(self.read_timeout, remaining)),
            )
        except requests.exceptions.RequestException as error:
            raise self._no_answer(url, error) from error
        self._note_date(response)
        if response.status_code >= 300 and response.status_code != 416:
            _finish(response, self._remaining())
            status = f"HTTP {response.status_code} {response.reason}"
            text = f"{errors.server_name(url)} answered {status} for {errors.file_name(url)}"
            raise _at(exceptions.DownloadHTTPError(text, response.status_code), url)
        return response

    def _no_answer(self, url: str, error: Exception) -> exceptions.DownloadError:
        """Why no response arrived: a timeout, a TLS refusal, or no connection at all."""
        where = errors.server_name(url)
        if isinstance(error, requests.exceptions.Timeout):
            text = f"{where} did not answer within {self.connect_timeout:g} s"
            return _at(exceptions.SlowRetrievalError(text), url)
        if isinstance(error, requests.exceptions.SSLError):
            text = f"TLS verification failed for {where}: the server's certificate is not trusted"
            advice = "on a network that intercepts HTTPS (a proxy, a sign-in page) try another"
            return _at(ServerUnreachableError(f"{text} (check ca_bundle)"), url, advice)
        text = f"could not connect to {where}: {errors.why_no_connection(error)}"
        return _at(ServerUnreachableError(text), url)

    def _chunks(self, response: requests.Response) -> Iterator[bytes]:
        """Body chunks of up to 256 KiB, within the operation's deadline.

        Large reads keep throughput at the level of plain requests; a watchdog timer shuts
        the socket when the deadline passes, so a server trickling bytes (each one inside the
        read timeout) cannot hold a read open beyond the deadline.
        """
        watchdog = _Watchdog(response, self._remaining())
        received = 0
        try:
            while True:
                self._remaining()
                chunk = response.raw.read(CHUNK, decode_content=False)
                if not chunk:
                    if watchdog.fired:  # an EOF forced by the watchdog is a deadline, not an end
                        self._deadline_passed()
                    self._remaining()
                    response.raw.release_conn()  # complete: the connection can serve the next
                    return
                received += len(chunk)
                self.bytes_received += len(chunk)
                yield chunk
        except exceptions.DownloadError:
            raise
        except Exception as error:  # requests/urllib3 protocol, timeout and socket errors
            if watchdog.fired:
                self._deadline_passed()
            self._remaining()
            raise self._broken(response, error, received) from error
        finally:
            watchdog.cancel()
            response.close()

    def _broken(
        self, response: requests.Response, error: Exception, received: int
    ) -> exceptions.DownloadError:
        """What a failed body read means: a stall (read timeout), or a connection that the
        server (or something between) closed or reset before the body was complete."""
        url = response.url
        where, what = errors.server_name(url), errors.file_name(url)
        if isinstance(error, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
            text = f"{where} stopped sending {what} for more than {self.read_timeout:g} s"
            return _at(exceptions.SlowRetrievalError(text), url)
        total = response.headers.get("Content-Length")
        done = f"after {received} of {total} bytes" if total else f"after {received} bytes"
        if any(isinstance(cause, ConnectionResetError) for cause in errors.error_causes(error)):
            text = f"the connection to the update server {where} was reset: the download of "
            text += f"{what} was interrupted {done}"
        else:
            text = f"the update server {where} closed the connection early: the download of "
            text += f"{what} was cut short {done}"
        return _at(ConnectionCutError(text), url)

    def _fetch(self, url: str) -> Iterator[bytes]:
        return self._chunks(self._open(url))

    @contextlib.contextmanager
    def download_file(self, url: str, max_length: int) -> Iterator[IO[bytes]]:
        if self._target is not None:
            with self._download_target(url, max_length) as handle:
                yield handle
            return
        data = bytearray()
        for chunk in self.fetch(url):
            data += chunk
            if len(data) > max_length:
                raise exceptions.DownloadLengthMismatchError(
                    f"{url}: more than the allowed {max_length} bytes (endless data): refused"
                )
        self.last_metadata[url] = bytes(data)
        with tempfile.TemporaryFile() as handle:
            handle.write(data)
            handle.seek(0)
            yield handle

    @contextlib.contextmanager
    def _download_target(self, url: str, max_length: int) -> Iterator[IO[bytes]]:
        """Download into the partial file, resuming it with a Range request if it exists."""
        target = self._target
        assert target is not None
        if max_length > self.max_download_bytes:
            raise exceptions.DownloadLengthMismatchError(
                f"{target.name} is {max_length} bytes, above max_download_mb "
                f"({self.max_download_bytes // (1 << 20)} MB): not downloaded"
            )
        partial = target.partial
        partial.parent.mkdir(parents=True, exist_ok=True)
        offset = partial.stat().st_size if partial.exists() else 0
        if offset >= max_length:  # cannot be a prefix of the signed file: start again
            partial.unlink()
            offset = 0
        response = self._open(url, offset)
        if offset and response.status_code == 200:
            offset = 0  # the server ignores Range: take the whole body
        elif offset and response.status_code != 206:
            response.close()  # 416 or similar: the partial bytes are no use
            offset = 0
            response = self._open(url)
        if response.status_code == 416:
            response.close()
            text = f"{errors.server_name(url)} answered HTTP 416 for {errors.file_name(url)}"
            raise _at(exceptions.DownloadHTTPError(text, 416), url)
        if response.status_code == 206 and not response.headers.get("Content-Range", "").startswith(
            f"bytes {offset}-"
        ):
            response.close()
            text = f"{errors.server_name(url)} answered another range of {errors.file_name(url)}"
            raise _at(ConnectionCutError(text), url)
        received = offset
        try:
            with open(partial, "ab" if offset else "wb") as sink:
                for chunk in self._chunks(response):
                    received += len(chunk)
                    if received > max_length:
                        raise exceptions.DownloadLengthMismatchError(
                            f"{target.name}: more than its signed length of {max_length} bytes "
                            "(endless data): refused"
                        )
                    sink.write(chunk)
                    if target.progress is not None:
                        target.progress(target.name, received, max_length)
        except exceptions.DownloadLengthMismatchError:
            partial.unlink(missing_ok=True)
            raise
        except OSError:
            # writing locally failed (disk full, quota): the partial bytes would only keep the
            # disk full (and history unwritable); network failures are DownloadErrors, kept
            partial.unlink(missing_ok=True)
            raise
        # an interruption above keeps the partial file: the next attempt resumes from it
        try:
            with open(partial, "rb") as handle:
                yield handle  # ngclient verifies length and hashes of the whole file here
        finally:
            # verified and copied, or failed verification: either way never resume these bytes
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
