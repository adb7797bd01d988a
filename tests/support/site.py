"""A small news site on a :class:`LoopbackServer`: pages with VideoObjects, and their media.

It answers the way a well-behaved origin does, so incremental runs can be
tested and measured against it: every resource has an ``ETag`` (from its
bytes) and a ``Last-Modified``; a matching ``If-None-Match`` (or, without one,
a matching ``If-Modified-Since``) gets a 304; ``Range`` with a matching (or
absent) ``If-Range`` gets a 206.  :attr:`Site.answers` lists the status of
every answer, beside the server's request log.  A media file can be *stalled*:
it sends half its body and then waits until :meth:`Site.release`, which lets a
test kill a downloader mid-transfer::

    with LoopbackServer() as srv:
        site = Site(srv, media_dir=tmp)
        site.add_article("/news/1.html", videos=2)
        site.page_urls()     # ["http://127.0.0.1:PORT/news/1.html"]
        srv.log              # every request, with its headers

Media bodies are real: one tiny MP4 and one JPEG made with ffmpeg, each copy
made distinct by a trailing MP4 ``free`` box or bytes after the JPEG's end
marker (players and ffprobe ignore both).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.support.media import make_image, make_video
from tests.support.server import LoopbackServer

LAST_MODIFIED = "Wed, 25 Nov 2026 10:00:00 GMT"


@dataclass
class Resource:
    body: bytes
    content_type: str
    stall: threading.Event | None = None  # set: send everything; clear: half, then wait

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


@dataclass
class Site:
    """Pages and media served from ``server``; base media made once in ``media_dir``."""

    server: LoopbackServer
    media_dir: Path
    pages: list[str] = field(default_factory=list)
    answers: list[tuple[str, int]] = field(default_factory=list)  # (path, status)
    _video: bytes = b""
    _image: bytes = b""

    def __post_init__(self) -> None:
        self._video = make_video(self.media_dir / "base.mp4", width=160, height=90,
                                 duration=1.0, rate=10).read_bytes()
        self._image = make_image(self.media_dir / "base.jpg", width=64, height=36).read_bytes()

    def url(self, path: str) -> str:
        return self.server.url(path)

    def page_urls(self) -> list[str]:
        return [self.url(p) for p in self.pages]

    def serve(self, path: str, resource: Resource) -> None:
        self.server.route(path, handler=lambda req: self._answer(path, req, resource))

    def _answer(self, path: str, req: BaseHTTPRequestHandler, resource: Resource) -> None:
        self.answers.append((path, _answer(req, resource)))

    def video_bytes(self, key: str) -> bytes:
        tag = key.encode("utf-8")
        return self._video + (8 + len(tag)).to_bytes(4, "big") + b"free" + tag

    def image_bytes(self, key: str) -> bytes:
        return self._image + key.encode("utf-8")

    def add_media(self, key: str, *, pad: int = 0, stall: threading.Event | None = None) -> str:
        """Serve a distinct video (padded by ``pad`` bytes) and thumbnail; the video's path."""
        video = self.video_bytes(key)
        if pad:
            tag = (b"x" * pad)
            video += (8 + len(tag)).to_bytes(4, "big") + b"free" + tag
        self.serve(f"/media/{key}.mp4", Resource(video, "video/mp4", stall))
        self.serve(f"/media/{key}.jpg", Resource(self.image_bytes(key), "image/jpeg"))
        return f"/media/{key}.mp4"

    def article(self, path: str, keys: list[str], title: str = "") -> bytes:
        blobs = "\n".join(
            '<script type="application/ld+json">' + json.dumps({
                "@context": "https://schema.org", "@type": "VideoObject",
                "name": f"Clip {key}{title}", "description": f"Footage {key}",
                "contentUrl": self.url(f"/media/{key}.mp4"),
                "thumbnailUrl": self.url(f"/media/{key}.jpg"),
                "uploadDate": "2026-11-25T10:00:00Z", "duration": "PT1S",
                "width": 160, "height": 90}) + "</script>"
            for key in keys)
        return (f"<!doctype html><html><head><title>{path}</title>{blobs}</head>"
                f"<body><h1>{path}{title}</h1></body></html>").encode()

    def set_page(self, path: str, keys: list[str], title: str = "") -> None:
        """Serve (or replace) an article at ``path`` carrying the videos ``keys``."""
        if path not in self.pages:
            self.pages.append(path)
        self.serve(path, Resource(self.article(path, keys, title), "text/html; charset=utf-8"))


def _not_modified(req: BaseHTTPRequestHandler, res: Resource) -> bool:
    """If-None-Match decides when present; If-Modified-Since only without it."""
    tag = req.headers.get("If-None-Match")
    if tag is not None:
        return bool(tag == res.etag)
    return req.headers.get("If-Modified-Since") == LAST_MODIFIED


def _answer(req: BaseHTTPRequestHandler, res: Resource) -> int:
    """GET/HEAD with validators, 304, and single open-ended ranges; the status sent."""
    if _not_modified(req, res):
        req.send_response(304)
        req.send_header("ETag", res.etag)
        req.send_header("Content-Length", "0")
        req.end_headers()
        return 304
    start = _range_start(req, res)
    body = res.body[start:]
    req.send_response(206 if start else 200)
    req.send_header("Content-Type", res.content_type)
    req.send_header("ETag", res.etag)
    req.send_header("Last-Modified", LAST_MODIFIED)
    req.send_header("Accept-Ranges", "bytes")
    if start:
        req.send_header("Content-Range", f"bytes {start}-{len(res.body) - 1}/{len(res.body)}")
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    if req.command == "HEAD":
        return 206 if start else 200
    if res.stall is not None and not res.stall.is_set():
        half = len(body) // 2
        req.wfile.write(body[:half])
        req.wfile.flush()
        res.stall.wait(timeout=60)
        body = body[half:]
    # the client may have been killed mid-transfer: that is the point of a stall
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        req.wfile.write(body)
    return 206 if start else 200


def _range_start(req: BaseHTTPRequestHandler, res: Resource) -> int:
    wanted = req.headers.get("Range", "")
    if_range = req.headers.get("If-Range")
    if not wanted.startswith("bytes=") or not wanted.endswith("-"):
        return 0
    if if_range is not None and if_range not in (res.etag, LAST_MODIFIED):
        return 0
    try:
        start = int(wanted[len("bytes="):-1])
    except ValueError:
        return 0
    return start if 0 < start < len(res.body) else 0
