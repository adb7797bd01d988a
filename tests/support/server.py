"""A real HTTP server on 127.0.0.1 (port 0) driven by per-path handlers.

Usage::

    with LoopbackServer() as srv:
        srv.route("/page.html", body=b"<html>...", content_type="text/html")
        srv.route("/slow", handler=my_handler)   # handler(request) -> None, writes itself
        httpx.get(srv.url("/page.html"))
        srv.log   # list of RequestRecord(method, path, headers)

Handlers get the ``BaseHTTPRequestHandler`` and may write anything to its
socket, which makes lying about Content-Length, cutting bodies short or
trickling possible.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class RequestRecord:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    handler: Handler | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LoopbackServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-response is part of many tests, not news."""


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as real servers set it: the headers and the body go out in two
    # writes, and with Nagle the body would wait for the client's delayed ACK of the
    # headers, 40 ms on every keep-alive request (most of a benchmark's first run).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _dispatch(self) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        with owner.lock:
            owner.log.append(RequestRecord(self.command, self.path, dict(self.headers.items())))
            route = owner.routes.get(self.path) or owner.routes.get(path)
        if route is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if route.handler is not None:
            route.handler(self)
            return
        self.send_response(route.status)
        if route.content_type:
            self.send_header("Content-Type", route.content_type)
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(route.body)

    do_GET = _dispatch
    do_HEAD = _dispatch


class LoopbackServer:
    """A threaded HTTP/1.1 server bound to ``host`` on a port the OS picks."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[RequestRecord] = []
        self.lock = threading.Lock()
        self._server = _Server((host, 0), _RequestHandler)
        self._server.owner = self
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, **kwargs: Any) -> None:
        with self.lock:
            self.routes[path] = Route(**kwargs)

    def requests_to(self, path: str) -> list[RequestRecord]:
        with self.lock:
            return [r for r in self.log if r.path.split("?", 1)[0] == path]

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
