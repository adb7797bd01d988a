"""A scriptable HTTP/1.1 fault server on 127.0.0.1 (port 0) for download tests.

Each path has a script: a list of :class:`Reply` consumed one per request (the
last one repeats).  A reply can misbehave in the ways real servers do:
cut the body short, lie about Content-Length, trickle, ignore or misplace
Range, change its ETag, answer 416, ask for Retry-After, redirect anywhere,
compress, send Content-Disposition tricks, hang before the headers, or send
its headers one byte at a time::

    with FaultServer() as srv:
        srv.script("/v.mp4", Reply(body=data, etag='"a"', cut_after=4000),
                   Reply(body=data, etag='"a"'))
        ...
        srv.requests_to("/v.mp4")[1].headers["range"]   # 'bytes=4000-'

Pass an ``ssl.SSLContext`` to serve HTTPS (e.g. from trustme), or another
loopback ``host`` (127.0.0.2) to stand in for an internal address.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AUTO = -1


@dataclass
class Reply:
    """One scripted response.  ``length=AUTO`` sends the true Content-Length."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "video/mp4"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    honour_range: bool = True
    ignore_if_range: bool = False   # answer a Range with 206 whatever If-Range says
    raw_headers: list[tuple[str, str]] = field(default_factory=list)  # repeats allowed
    range_shift: int = 0            # 206 whose Content-Range starts elsewhere (R06)
    partial_limit: int | None = None  # 206 sends fewer bytes than Content-Range says (R07)
    length: int | None = AUTO       # None: no Content-Length (see ``chunked``)
    chunked: bool = False
    cut_after: int | None = None    # close after this many body bytes
    trickle: tuple[int, float] | None = None  # (bytes per write, seconds between writes)
    extra: bytes = b""              # sent after the body, beyond Content-Length (R10)
    hang: float | None = None       # accept, then say nothing for this long, then close
    gzip: bool = False              # compress the body, Content-Encoding: gzip
    dribble: float | None = None    # send the status line and headers one byte at a time


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(status=status, content_type=None, headers={"Location": location})


@dataclass
class Logged:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    at: float = field(default_factory=time.monotonic)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FaultServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-response is what these tests do; stay quiet about it."""
        if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        owner = self.server.owner
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = owner.next_reply(Logged(self.command, self.path, headers))
        if reply.hang is not None:
            owner.stopping.wait(reply.hang)
            self.close_connection = True
            return
        status, body, extra_headers = _shape(reply, headers)
        with owner.counting():
            self._send(reply, status, body, extra_headers)

    do_HEAD = do_GET

    def _send(self, reply: Reply, status: int, body: bytes, extra: dict[str, str]) -> None:
        self.send_response(status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for name, value in {**extra, **reply.headers}.items():
            self.send_header(name, value)
        for name, value in reply.raw_headers:
            self.send_header(name, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif reply.length is not None:
            length = len(body) if reply.length == AUTO else reply.length
            self.send_header("Content-Length", str(length))
        else:
            self.close_connection = True
        if reply.cut_after is not None or reply.extra:
            self.close_connection = True
            self.send_header("Connection", "close")
        if reply.dribble is not None:
            self._dribble_headers(reply.dribble)
            return
        self.end_headers()
        if self.command != "HEAD":
            self._body(reply, body)

    def _dribble_headers(self, pause: float) -> None:
        """Send the head one byte every ``pause`` seconds, until the client gives up."""
        self._headers_buffer.append(b"\r\n")  # type: ignore[attr-defined]
        head = b"".join(self._headers_buffer)  # type: ignore[attr-defined]
        self._headers_buffer = []  # type: ignore[attr-defined]
        self.close_connection = True
        try:
            for i in range(len(head)):
                self.wfile.write(head[i:i + 1])
                self.wfile.flush()
                if self.server.owner.stopping.wait(pause):
                    return
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return

    def _body(self, reply: Reply, body: bytes) -> None:
        cut = reply.cut_after is not None and reply.cut_after < len(body)
        data = body[: reply.cut_after] if cut else body
        step, pause = reply.trickle or (64 * 1024, 0.0)
        try:
            for start in range(0, len(data), step):
                # Between writes, not after the last: a client that has the whole
                # body is not kept waiting by the server.
                if pause and start and self.server.owner.stopping.wait(pause):
                    return
                piece = data[start : start + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if reply.chunked else piece)
                self.wfile.flush()
            if reply.chunked and not cut:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.write(reply.extra)
            self.wfile.flush()
            if cut:
                self.connection.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True


def _shape(reply: Reply, req: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and validator/range headers for one request."""
    body = gzip.compress(reply.body, mtime=0) if reply.gzip else reply.body
    headers: dict[str, str] = {}
    if reply.etag:
        headers["ETag"] = reply.etag
    if reply.last_modified:
        headers["Last-Modified"] = reply.last_modified
    if reply.gzip:
        headers["Content-Encoding"] = "gzip"
    wanted = req.get("range", "")
    if reply.status != 200 or not reply.honour_range or not wanted.startswith("bytes="):
        return reply.status, body, headers
    if_range = req.get("if-range")
    if (if_range is not None and not reply.ignore_if_range
            and if_range not in (reply.etag, reply.last_modified)):
        return 200, body, headers
    start = int(wanted[len("bytes="):].split("-", 1)[0])
    if start >= len(body):
        return 416, b"", {**headers, "Content-Range": f"bytes */{len(body)}"}
    first = start + reply.range_shift
    headers["Content-Range"] = f"bytes {first}-{len(body) - 1}/{len(body)}"
    part = body[first:]
    if reply.partial_limit is not None:
        part = part[: reply.partial_limit]
    return 206, part, headers


class FaultServer:
    """Threaded fault server; ``log`` lists every request in arrival order."""

    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None):
        self.scripts: dict[str, list[Reply]] = {}
        self.log: list[Logged] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.active = 0
        self.peak = 0  # most responses in flight at once
        self._server = _Server((host, 0), _Handler)
        self._server.owner = self
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if ssl_context else "http"
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> str:
        """Set the replies for ``path``; returns its URL."""
        with self.lock:
            self.scripts[path] = list(replies)
        return self.url(path)

    def next_reply(self, logged: Logged) -> Reply:
        with self.lock:
            self.log.append(logged)
            script = self.scripts.get(logged.path.split("?", 1)[0])
            if not script:
                return Reply(status=404, content_type="text/plain", body=b"not found")
            return script.pop(0) if len(script) > 1 else script[0]

    @contextmanager
    def counting(self) -> Iterator[None]:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            yield
        finally:
            with self.lock:
                self.active -= 1

    def requests_to(self, path: str) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if r.path.split("?", 1)[0] == path]

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def mp4_body(size: int, seed: int = 0) -> bytes:
    """``size`` bytes that sniff as MP4: an ``ftyp`` box, then seeded random bytes."""
    import random

    head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    return (head + random.Random(seed).randbytes(max(0, size - len(head))))[:size]
