"""Read one page: a local file, or an http(s) URL through the network layer.

:func:`fetch` asks :mod:`harvester.net.exchange` for the page (retries,
redirects with the address guard at every hop, the per-attempt deadline, the
per-host limit), with robots.txt consulted at every hop and the body decoded
under ``max_bytes`` (:mod:`harvester.net.body`).  The host the user named is
fetched as given; every other host a redirect reaches passes the guard.
Every failure is a :class:`FetchError` with the network layer's stable code
(``http_<status>``, ``timeout``, ``dns_error``, ``connect_error``,
``truncated``, ``too_many_redirects``, ``too_large``, ``bad_encoding`` ...),
``robots_disallowed``, or for local files ``not_found`` and ``unreadable``;
a redirect the guard refuses is a :class:`BlockedURL`.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from typing import BinaryIO, TypeGuard, TypeVar, cast

import httpx

from harvester.errors import BlockedURL, FetchError, RemoteError
from harvester.net.body import Decoder, body_chunks, read_body
from harvester.net.client import Session
from harvester.net.exchange import Request, exchange, host_of
from harvester.net.policy import parse_count
from harvester.net.redact import redact
from harvester.net.robots import RobotsCache
from harvester.records import Page, Source

T = TypeVar("T")

__all__ = ["ACCEPT", "SITEMAP_ACCEPT", "fetch", "fetch_sitemap", "read_file", "read_page_bytes"]

ACCEPT = ("text/html,application/xhtml+xml,application/ld+json;q=0.9,"
          "application/json;q=0.8,text/plain;q=0.5,*/*;q=0.1")
SITEMAP_ACCEPT = ("application/xml,text/xml;q=0.9,application/gzip;q=0.8,"
                  "text/plain;q=0.5,*/*;q=0.1")
#: A sitemap body up to this size stays in memory; a larger one goes to a temporary file.
_SPOOL_IN_MEMORY = 1 << 20
# Only codings whose output the body reader can bound while decoding.
ACCEPT_ENCODING = "gzip, deflate"
_GZIP_MAGIC = b"\x1f\x8b"
_CONTENT_TYPES = {".html": "text/html", ".htm": "text/html", ".xhtml": "application/xhtml+xml",
                  ".json": "application/json", ".jsonld": "application/ld+json",
                  ".txt": "text/plain"}


# ── local files ────────────────────────────────────────────────────────────


def read_file(source: Source, max_bytes: int) -> Page:
    """Read a local page, at most ``max_bytes`` of it; a gzipped one (``page.html.gz``,
    or any file that starts like gzip) is decompressed under the same cap."""
    path = source.ref
    body = read_page_bytes(path, max_bytes)
    name = path[:-3] if path.lower().endswith(".gz") else path
    suffix = os.path.splitext(name)[1].lower()
    return Page(ref=path, url=None, body=body, content_type=_CONTENT_TYPES.get(suffix))


def read_page_bytes(path: str, max_bytes: int) -> bytes:
    """The bytes of the page file at ``path``, gunzipped when gzipped; FetchError else."""
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise FetchError(f"{path} is not a regular file", path, code="unreadable")
            body = fh.read(max_bytes + 1)
            if body[:2] == _GZIP_MAGIC:
                return _gunzip(fh, body, max_bytes, path)
    except FileNotFoundError:
        raise FetchError(_not_found_message(path), path, code="not_found") from None
    except IsADirectoryError:
        raise FetchError(f"{path} is a directory", path, code="unreadable") from None
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}", path, code="unreadable") from None
    if len(body) > max_bytes:
        raise FetchError(f"{path} is larger than the {max_bytes}-byte page cap; "
                         "raise --max-page-bytes to read it", path, code="too_large")
    return body


def _gunzip(fh: BinaryIO, start: bytes, max_bytes: int, path: str) -> bytes:
    """Decompress a gzipped page file with the same bounded decoder as HTTP bodies."""
    decoder = Decoder("gzip", max_bytes, path)
    parts: list[bytes] = []
    chunk = start
    try:
        while chunk:
            parts.extend(bytes(piece) for piece in decoder.feed(chunk))
            chunk = fh.read(1 << 20)
        decoder.finish()
    except RemoteError as exc:
        raise FetchError(f"{path}: {exc.message}", path, code=exc.code) from None
    return b"".join(parts)


def _not_found_message(path: str) -> str:
    message = f"no such file: {path} (a PAGE is an http(s) URL, a file, a directory or -)"
    first = path.split("/", 1)[0]
    if "." in first and not first.startswith(".") and not os.path.exists(first):
        message += f"; did you mean https://{path} ?"
    return message


# ── over the network ───────────────────────────────────────────────────────


def fetch(
    source: Source, session: Session, *, max_bytes: int, robots: RobotsCache | None = None,
    etag: str | None = None, last_modified: str | None = None, trusted: bool = True,
) -> Page:
    """GET ``source.ref``; a 304 to a conditional request gives ``Page(status=304, body=b"")``.

    ``trusted`` False sends even the first hop through the address guard (a page a
    sitemap on another host listed).
    """
    url = source.ref.strip()
    _check_scheme(url, session.policy.redact_params)
    conditional = _conditional(etag, last_modified)
    typed_host = host_of(url) if trusted else None

    def handle(response: httpx.Response, final: str) -> Page:
        return _page(source, response, final, conditional, session, max_bytes)

    request = Request(
        url, handle=handle, headers=lambda: {"Accept": ACCEPT,
                                             "Accept-Encoding": ACCEPT_ENCODING, **conditional},
        accept=lambda status: 200 <= status < 300 or (status == 304 and bool(conditional)),
        trusted_host=typed_host, check_hop=_robots_check(robots, typed_host))
    return _exchange(session, request)


def _robots_check(robots: RobotsCache | None,
                  typed_host: str | None) -> Callable[[str], None] | None:
    """The hop check that asks robots.txt, when robots.txt is obeyed."""
    if robots is None:
        return None
    return lambda hop: robots.check(hop, trusted_host=typed_host)


def _exchange(session: Session, request: Request[T]) -> T:
    """The exchange's answer; its failures as FetchError (a refused hop stays BlockedURL)."""
    try:
        return exchange(session, request)[0]
    except (BlockedURL, FetchError):
        raise
    except RemoteError as exc:
        raise _gave_up(exc) from exc


def fetch_sitemap(url: str, session: Session, *, robots: RobotsCache | None = None,
                  trusted: bool = True, max_bytes: int) -> BinaryIO:
    """GET a sitemap into a spooled temporary file (memory is flat in its size),
    rewound for reading; at most ``max_bytes`` after Content-Encoding is undone."""
    url = url.strip()
    _check_scheme(url, session.policy.redact_params)
    typed_host = host_of(url) if trusted else None

    def handle(response: httpx.Response, final: str) -> BinaryIO:
        # Handed to the caller, who closes it once the sitemap is read.
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            for chunk in body_chunks(response, final, session.policy, limit=max_bytes):
                spool.write(chunk)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return cast(BinaryIO, spool)

    request = Request(url, handle=handle, check_hop=_robots_check(robots, typed_host),
                      trusted_host=typed_host,
                      headers=lambda: {"Accept": SITEMAP_ACCEPT,
                                       "Accept-Encoding": ACCEPT_ENCODING})
    return _exchange(session, request)


def _check_scheme(url: str, secrets: tuple[str, ...]) -> None:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("http", "https"):
        raise FetchError(f"URL {redact(url, secrets)} refused: only http and https pages can "
                         "be fetched (save other pages to a file and give its path)", url,
                         code="bad_scheme")


def _conditional(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """The conditional headers of a re-fetch; a stored validator that cannot go back in
    a header as it came (not printable ASCII, or absurdly long) is not sent."""
    headers = {}
    if _sendable(etag):
        headers["If-None-Match"] = etag
    if _sendable(last_modified):
        headers["If-Modified-Since"] = last_modified
    return headers


def _sendable(value: str | None) -> TypeGuard[str]:
    return bool(value) and value is not None and len(value) <= 1024 and (
        value.isascii() and value.isprintable())


def _gave_up(exc: RemoteError) -> FetchError:
    message = exc.message
    if exc.attempts > 1:
        message += f" (gave up after {exc.attempts} attempts)"
    return FetchError(message, exc.url, code=exc.code, attempts=exc.attempts)


def _page(source: Source, response: httpx.Response, url: str, conditional: Mapping[str, str],
          session: Session, max_bytes: int) -> Page:
    headers = response.headers
    if response.status_code == 304:
        return Page(ref=source.ref, url=url, body=b"", content_type=None, status=304,
                    etag=headers.get("etag") or conditional.get("If-None-Match"),
                    last_modified=headers.get("last-modified")
                    or conditional.get("If-Modified-Since"))
    length = parse_count(headers.get("content-length"))
    identity = headers.get("content-encoding", "identity").strip().lower() in ("", "identity")
    if identity and length is not None and length > max_bytes:
        raise FetchError(f"page is {length} bytes, more than the {max_bytes}-byte cap; "
                         "raise --max-page-bytes", url, code="too_large")
    body = read_body(response, url, session.policy, limit=max_bytes)
    return Page(ref=source.ref, url=url, body=body, content_type=headers.get("content-type"),
                status=response.status_code, etag=headers.get("etag"),
                last_modified=headers.get("last-modified"))
