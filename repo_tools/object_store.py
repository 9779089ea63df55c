"""Publishing to an S3-compatible object store (AWS S3, MinIO, Cloudflare R2, Backblaze B2, ...).

`s3://BUCKET/PREFIX` names the destination; credentials, region and profile come from the
usual AWS settings (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_DEFAULT_REGION,
~/.aws/), and `--endpoint-url` (or AWS_ENDPOINT_URL_S3) points at a store other than AWS.

A PUT replaces an object whole, so readers see the old or the new bytes, never a mix; the
upload order of repo_tools.destination does the rest. Each object carries Cache-Control (no-cache
for the moving metadata names, immutable for versioned ones and targets) so a CDN in front
of the bucket never serves a stale timestamp, and Content-MD5, so the store rejects bytes
damaged on the way. An object is not sent again when its size and MD5 ETag match the local
file, or, for targets (named by their sha256), its size alone: a daily refresh reads no
archives.
boto3 is imported only here: install it with the `s3` extra (`pip install '.[s3]'`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.urls import url_problem
from repo_tools.destination import (
    BUCKET_SCHEME,
    PUBLISHED_FOLDERS,
    DestinationKind,
    cache_control,
    content_type,
    kind_of,
    named_by_content,
)
from repo_tools.errors import RepoError

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class BucketAddress:
    bucket: str
    prefix: str  # "" or "some/folder/" (always ends with "/")

    def key(self, name: str) -> str:
        return self.prefix + name

    def __str__(self) -> str:
        return f"{BUCKET_SCHEME}{self.bucket}/{self.prefix}"


def parse_bucket_address(text: str) -> BucketAddress | None:
    """`s3://bucket/some/prefix` -> BucketAddress; None when `text` is not an s3:// address."""
    if kind_of(text) is not DestinationKind.BUCKET:
        return None
    bucket, _, prefix = text[len(BUCKET_SCHEME) :].partition("/")
    if not _BUCKET_NAME.match(bucket):
        raise RepoError(
            f"{text!r} does not name a bucket: write s3://BUCKET/PREFIX with a bucket name of "
            "3-63 lower-case letters, digits, dots and hyphens"
        )
    prefix = prefix.strip("/")
    return BucketAddress(bucket, f"{prefix}/" if prefix else "")


def check_endpoint_url(url: str) -> None:
    """HTTPS, or plain HTTP to this machine only (a local store for development and tests)."""
    if not url:
        return
    if url_problem(url, allow_http_loopback=True) is None:
        return
    raise RepoError(
        f"endpoint URL {url!r} is not allowed: use https://HOST[:PORT] "
        "(plain http:// only to 127.0.0.1 or ::1)"
    )


def file_md5(path: Path) -> bytes:
    digest = hashlib.md5(usedforsecurity=False)  # the store's integrity check, not ours
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


class BucketDestination:
    def __init__(self, address: BucketAddress, endpoint_url: str = "") -> None:
        check_endpoint_url(endpoint_url)
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise RepoError(
                "publishing to s3:// needs boto3: install the s3 extra (pip install '.[s3]')"
            ) from None
        self.address = address
        self.endpoint_url = endpoint_url
        config = Config(connect_timeout=10, read_timeout=60, retries={"mode": "standard"})
        with self._errors("connecting"):
            self._client = boto3.client("s3", endpoint_url=endpoint_url or None, config=config)
        self._present = self._list()  # key -> (size, ETag without quotes)

    def __str__(self) -> str:
        return str(self.address)

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """botocore's exceptions as one clear line that says what to do."""
        from botocore import exceptions as boto

        where = self.endpoint_url or "the default AWS endpoint"
        try:
            yield
        except (boto.NoCredentialsError, boto.PartialCredentialsError):
            raise RepoError(
                f"no credentials for the object store while {action}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
            ) from None
        except (boto.EndpointConnectionError, boto.ConnectTimeoutError, boto.ReadTimeoutError):
            raise RepoError(
                f"cannot reach the object store at {where} while {action}: check "
                "--endpoint-url and the network, then run `repo-tools publish` again"
            ) from None
        except boto.ClientError as error:
            raise RepoError(self._explain(error, action)) from None
        except boto.BotoCoreError as error:
            raise RepoError(f"object store error while {action}: {error}") from None

    def _explain(self, error: Any, action: str) -> str:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        bucket = self.address.bucket
        if code == "NoSuchBucket":
            return f"bucket {bucket!r} does not exist: create it, or fix the s3:// address"
        if code in {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"}:
            return (
                f"the object store refused {action} ({code}: {message}): check the credentials "
                f"and that they may list, write and delete objects in bucket {bucket!r}"
            )
        return f"object store error while {action} ({code}: {message})"

    def _list(self) -> dict[str, tuple[int, str]]:
        present: dict[str, tuple[int, str]] = {}
        with self._errors(f"listing {self.address}"):
            pages = self._client.get_paginator("list_objects_v2")
            for folder in PUBLISHED_FOLDERS:
                prefix = self.address.key(folder + "/")
                for page in pages.paginate(Bucket=self.address.bucket, Prefix=prefix):
                    for item in page.get("Contents", []):
                        present[item["Key"]] = (item["Size"], item["ETag"].strip('"'))
        return present

    def is_current(self, name: str, source: Path) -> bool:
        size, etag = self._present.get(self.address.key(name), (-1, ""))
        if size != source.stat().st_size:
            return False
        # a multipart ETag ("...-N") is not an MD5: such an object is simply sent again
        return named_by_content(name) or etag == file_md5(source).hex()

    def put(self, name: str, source: Path) -> None:
        key = self.address.key(name)
        md5 = file_md5(source)
        with self._errors(f"uploading {key}"), source.open("rb") as body:
            self._client.put_object(
                Bucket=self.address.bucket,
                Key=key,
                Body=body,
                ContentMD5=base64.b64encode(md5).decode(),
                ContentType=content_type(name),
                CacheControl=cache_control(name),
            )
        self._present[key] = (source.stat().st_size, md5.hex())

    def published_names(self) -> list[str]:
        return sorted(key[len(self.address.prefix) :] for key in self._present)

    def delete(self, name: str) -> None:
        key = self.address.key(name)
        with self._errors(f"deleting {key}"):
            self._client.delete_object(Bucket=self.address.bucket, Key=key)
        self._present.pop(key, None)
