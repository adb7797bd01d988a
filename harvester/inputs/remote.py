"""Files named by URL: WARC files and ``-i`` lists on web servers or in object stores.

:class:`Remote` opens them for one run (or one shard):

* ``http://`` and ``https://`` go through harvester's own network layer
  (:mod:`harvester.net.exchange`), like pages: the address guard, ``--proxy``,
  ``--header``, retries, the per-host limit and ``--limit-rate`` apply.  The
  host the user named is trusted as for pages; robots.txt is not asked (a WARC
  file or a list is data the user chose, not a page of the site).
* Any other scheme (``s3://``, ``gs://``, ``memory://`` ...) goes through
  fsspec, with the run's ``--storage-option KEY=VALUE`` settings.  For S3,
  s3fs also reads the usual AWS environment (``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` for
  an S3-compatible store).
* Anything else is a local path.

A WARC file over http(s) is read by :class:`HttpFile` in blocks of
:data:`BLOCK` bytes, each one ``Range`` request: a dropped connection costs
one block (the request is retried), each block has its own deadline, memory
stays at about one block per file, and the WARC reader can seek back as it
does after a damaged record.  Every block after the first carries
``If-Range``, so a file replaced on the server mid-read is an error, never
two versions stitched together.  A server that ignores ``Range`` sends the
whole file to the first request: it is then written to a temporary file as
it arrives and read from there.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import IO, Any, TypeVar, cast

import httpx

from harvester.config import Config, parse_storage_options
from harvester.errors import FetchError, RemoteError
from harvester.net.body import body_chunks
from harvester.net.client import Session, open_session
from harvester.net.exchange import Request, exchange, host_of

__all__ = ["BLOCK", "LIST_MAX_BYTES", "HttpFile", "Opener", "Remote", "is_http", "is_remote"]

T = TypeVar("T")

#: Bytes asked for in one Range request of a WARC file over http(s).
BLOCK = 8 << 20
#: The largest list file read (a Common Crawl warc.paths.gz is about 0.2 MB).
LIST_MAX_BYTES = 256 << 20
#: A whole file sent in answer to a Range request stays in memory up to this size.
_SPOOL_IN_MEMORY = BLOCK
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+)\s*$", re.IGNORECASE)
_EMPTY_RANGE = re.compile(r"^\s*bytes\s+\*/0\s*$", re.IGNORECASE)
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")

#: Opens one file for reading (a context manager yielding a seekable binary stream).
Opener = Callable[[str], AbstractContextManager[IO[bytes]]]


def is_http(ref: str) -> bool:
    """Is ``ref`` an http(s) URL?"""
    return ref[:8].lower().startswith(("http://", "https://"))


def is_remote(ref: str) -> bool:
    """Is ``ref`` a URL of another scheme than ``file:`` (read through fsspec or http)?"""
    found = _URL.match(ref)
    return found is not None and found[1].lower() != "file"


@dataclass
class Remote:
    """How one run reads files named by URL: http(s) through ``session`` (or a session
    of ``config`` made for the read), other schemes through fsspec."""

    config: Config
    session: Session | None = None

    def read_bytes(self, url: str, limit: int = LIST_MAX_BYTES) -> bytes:
        """All the bytes of the file at ``url``, as stored (not decompressed).

        Raises FetchError: code ``not_found`` (or ``http_404``/``http_410``) when it
        is not there, another code for any other failure.
        """
        if is_http(url):
            with self._session() as session:
                return _http_bytes(url, session, limit)
        with self._fsspec(url) as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise FetchError(f"{url} is larger than {limit} bytes", url, code="too_large")
        return bytes(data)

    @contextmanager
    def open_warc(self, ref: str, *, trusted: bool = True) -> Iterator[IO[bytes]]:
        """A seekable binary stream on the WARC file ``ref`` (URL or local path).

        Failing to open a URL is a FetchError; a missing local file raises
        FileNotFoundError, as :func:`open` does.  An http(s) ``ref`` that is not
        ``trusted`` goes through the address guard from its first hop.
        """
        if is_http(ref):
            with self._session() as session, io.BufferedReader(
                    HttpFile(ref, session, trusted=trusted), buffer_size=1 << 16) as stream:
                yield stream
        elif is_remote(ref):
            with self._fsspec(ref) as stream:
                yield stream
        else:
            with open(ref.removeprefix("file://"), "rb") as stream:
                yield stream

    @contextmanager
    def _session(self) -> Iterator[Session]:
        if self.session is not None:
            yield self.session
            return
        with open_session(self.config) as session:
            yield session

    @contextmanager
    def _fsspec(self, url: str) -> Iterator[IO[bytes]]:
        with ExitStack() as stack:
            stream = _fsspec_open(url, self.config, stack)
            yield stream


def _fsspec_open(url: str, config: Config, stack: ExitStack) -> IO[bytes]:
    """``url`` opened through fsspec; any failure to open it is a FetchError.

    Filesystems raise what their libraries raise (botocore's errors are not
    OSErrors), so everything an open can raise is translated here, once.
    """
    import fsspec

    options = parse_storage_options(config.storage_options)
    try:
        return cast(IO[bytes], stack.enter_context(fsspec.open(url, "rb", **options)))
    except FileNotFoundError:
        raise FetchError(f"no such file: {url}", url, code="not_found") from None
    except ImportError as exc:
        scheme = url.partition("://")[0]
        hint = " (pip install 'harvester[s3]')" if scheme in ("s3", "s3a") else ""
        raise FetchError(f"cannot read {scheme}:// URLs: {exc}{hint}", url,
                         code="missing_dependency") from None
    except ValueError as exc:  # fsspec knows no such protocol, or a bad option
        raise FetchError(str(exc), url, code="bad_scheme") from None
    except Exception as exc:  # credentials, permissions, network: one clear line
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise FetchError(reason, url, code="unreadable") from None


# ── http(s) ────────────────────────────────────────────────────────────────


def _http_bytes(url: str, session: Session, limit: int) -> bytes:
    """The whole body at ``url`` as sent (a ``.gz`` list stays gzipped)."""

    def handle(response: httpx.Response, final: str) -> bytes:
        return b"".join(bytes(c) for c in body_chunks(response, final, session.policy,
                                                       limit=limit, raw=True))

    request = Request(url, handle=handle, trusted_host=host_of(url),
                      headers=lambda: {"Accept-Encoding": "identity"})
    return _exchanged(session, request)


def _exchanged(session: Session, request: Request[T]) -> T:
    """The exchange's answer; a failure as a FetchError carrying its stable code."""
    try:
        return exchange(session, request)[0]
    except FetchError:
        raise
    except RemoteError as exc:
        message = exc.message
        if exc.attempts > 1:
            message += f" (gave up after {exc.attempts} attempts)"
        raise FetchError(message, request.url, code=exc.code, attempts=exc.attempts) from None


class HttpFile(io.RawIOBase):
    """A read-only, seekable file over http(s), fetched ``block`` bytes at a time.

    The first block is asked for on construction, so a missing file or a
    refused host fails at open.  Errors are FetchError with the network
    layer's codes; ``changed`` when the file changed between two blocks.
    """

    def __init__(self, url: str, session: Session, *, block: int = BLOCK,
                 trusted: bool = True) -> None:
        super().__init__()
        self.url, self._session, self._block = url, session, block
        self._trusted_host = host_of(url) if trusted else None
        self.requests = 0
        self._pos = 0
        self._size = 0
        self._validator: str | None = None
        self._data, self._data_at = b"", 0
        self._spool: IO[bytes] | None = None
        self._fill(0)

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._size - self._pos)
        if wanted <= 0:
            return 0
        if self._spool is not None:
            self._spool.seek(self._pos)
            got = self._spool.readinto(view[:wanted])  # type: ignore[attr-defined]
            self._pos += got
            return int(got)
        done = 0
        while done < wanted:  # across blocks: a read is never cut short
            if not self._data_at <= self._pos < self._data_at + len(self._data):
                self._fill(self._pos)
            start = self._pos - self._data_at
            piece = self._data[start:start + wanted - done]
            view[done:done + len(piece)] = piece
            self._pos += len(piece)
            done += len(piece)
        return done

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
        self._data = b""
        super().close()

    def _fill(self, start: int) -> None:
        """Fetch the block at ``start`` (or, from a server without ranges, the file)."""
        end = start + self._block - 1

        def headers() -> dict[str, str]:
            asked = {"Range": f"bytes={start}-{end}", "Accept-Encoding": "identity"}
            if self._validator:
                asked["If-Range"] = self._validator
            return asked

        request = Request(self.url, handle=lambda r, final: self._take(r, final, start),
                          headers=headers, accept=lambda s: s in (200, 206, 416),
                          trusted_host=self._trusted_host)
        self.requests += 1
        _exchanged(self._session, request)

    def _take(self, response: httpx.Response, url: str, start: int) -> None:
        """Keep what one answer holds: a block, the whole file, or an empty file."""
        first = self.requests == 1
        if response.status_code == 416 and first and _EMPTY_RANGE.match(
                response.headers.get("content-range", "")):
            self._size, self._data = 0, b""
            return
        if response.status_code == 206:
            self._take_block(response, url, start, first)
        elif response.status_code == 200 and first:
            self._take_whole(response, url)
        else:  # 200 to a later block: If-Range failed; 416: the file shrank
            raise FetchError(f"{self.url} changed on the server while it was read "
                             f"(answer {response.status_code} at byte {start})",
                             self.url, code="changed")

    def _take_block(self, response: httpx.Response, url: str, start: int, first: bool) -> None:
        found = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if found is None or int(found[1]) != start or int(found[2]) < start:
            raise FetchError(f"{self.url}: asked for bytes from {start}, got Content-Range "
                             f"{response.headers.get('content-range')!r}", self.url,
                             code="bad_range")
        total, length = int(found[3]), int(found[2]) - start + 1
        if first:
            self._size = total
            self._validator = _validator(response)
        elif total != self._size:
            raise FetchError(f"{self.url} changed on the server while it was read (its size "
                             f"went from {self._size} to {total} bytes)", self.url,
                             code="changed")
        data = b"".join(bytes(c) for c in body_chunks(response, url, self._session.policy,
                                                       limit=length, raw=True))
        if len(data) != length:
            raise FetchError(f"{self.url}: block at byte {start} has {len(data)} of "
                             f"{length} bytes", self.url, code="truncated")
        self._data, self._data_at = data, start

    def _take_whole(self, response: httpx.Response, url: str) -> None:
        """The server ignored Range: keep the whole file, on disk past one block."""
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            for chunk in body_chunks(response, url, self._session.policy, limit=1 << 50,
                                     raw=True):
                spool.write(chunk)
        except BaseException:
            spool.close()
            raise
        self._size = spool.tell()
        self._spool = cast(IO[bytes], spool)


def _validator(response: httpx.Response) -> str | None:
    """What If-Range sends to pin later blocks to this version: a strong ETag, else
    Last-Modified."""
    etag: str | None = response.headers.get("etag")
    if etag and not etag.startswith("W/"):
        return etag
    modified: str | None = response.headers.get("last-modified")
    return modified
