"""The one URL rule of the project: HTTPS, or plain HTTP only to this machine's loopback.

Used by the client's settings validation and transport, and by the publisher's object-store
endpoints. Standard library only (on the application's start-up path through settings).
"""

from __future__ import annotations

from urllib.parse import urlsplit

# not "localhost": a name can resolve anywhere
LOOPBACK_HOSTS = ("127.0.0.1", "::1")


def is_loopback(url: str) -> bool:
    """True when `url` names this machine by a loopback address."""
    return urlsplit(url).hostname in LOOPBACK_HOSTS


def url_problem(url: object, allow_http_loopback: bool) -> str | None:
    """Why `url` may not be used (a phrase to put after the URL), or None if it may.

    Accepted: https://HOST...; http://127.0.0.1 or http://[::1] when `allow_http_loopback`.
    """
    if not isinstance(url, str) or not url:
        return "is not a URL"
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname:
        if allow_http_loopback and parts.hostname in LOOPBACK_HOSTS:
            return None
        return "uses plain http://"
    return "is not an https:// URL"
