"""A counting forward proxy on 127.0.0.1 (port 0) for tests.

It answers absolute-form requests (``GET http://127.0.0.1:8000/a.html``) by
forwarding them to the origin and copying the answer back, adding
``Via: 1.1 counting-proxy`` to the forwarded request so the origin can tell
proxied requests from direct ones.  ``hosts`` maps names the proxy resolves
itself (``{"cdn.test": "127.0.0.1"}``); it only ever dials loopback addresses.
``CONNECT host:port`` opens a tunnel (for https targets); anything else
(origin-form requests, other hosts) gets an error::

    with CountingProxy() as proxy:
        ... --proxy proxy.url ...
        proxy.targets   # ['http://127.0.0.1:PORT/page.html', ...]
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authorization", "proxy-connection",
                         "te", "trailer", "transfer-encoding", "upgrade"})


@dataclass
class Forwarded:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names, as the client sent them to the proxy


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: CountingProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up are not news here."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        owner = self.server.owner
        headers = {k.lower(): v for k, v in self.headers.items()}
        with owner.lock:
            owner.forwarded.append(Forwarded(self.command, self.path, headers))
        parts = urlsplit(self.path)
        address = owner.hosts.get(parts.hostname or "", parts.hostname or "")
        if parts.scheme != "http" or not address.startswith("127."):
            self._fail(502, b"this proxy forwards absolute http:// URLs to loopback only")
            return
        self._forward(address, parts.port or 80, parts.path + (f"?{parts.query}" if parts.query
                                                              else ""), headers)

    def do_CONNECT(self) -> None:
        owner = self.server.owner
        with owner.lock:
            owner.forwarded.append(Forwarded(self.command, self.path,
                                             {k.lower(): v for k, v in self.headers.items()}))
        host, _, port = self.path.rpartition(":")
        address = owner.hosts.get(host, host)
        if not address.startswith("127.") or not port.isdigit():
            self._fail(502, b"this proxy tunnels to loopback only")
            return
        try:
            upstream = socket.create_connection((address, int(port)), timeout=30)
        except OSError:
            self._fail(502, b"origin unreachable")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        _pipe(self.connection, upstream)
        self.close_connection = True

    def _forward(self, address: str, port: int, path: str, headers: dict[str, str]) -> None:
        upstream = http.client.HTTPConnection(address, port, timeout=30)
        try:
            sent = {k: v for k, v in headers.items() if k not in _HOP_BY_HOP}
            upstream.request(self.command, path or "/", headers={**sent,
                                                                  "via": "1.1 counting-proxy"})
            answer = upstream.getresponse()
            body = answer.read()
        except OSError as exc:
            self._fail(502, f"origin unreachable: {exc}".encode())
            return
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _fail(self, status: int, text: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    with upstream:
        while True:
            ready, _, _ = select.select([client, upstream], [], [], 30)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)


class CountingProxy:
    """A threaded forward proxy; ``forwarded`` lists every request it received."""

    def __init__(self, hosts: dict[str, str] | None = None) -> None:
        self.hosts = dict(hosts or {})
        self.forwarded: list[Forwarded] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def targets(self) -> list[str]:
        with self.lock:
            return [f.target for f in self.forwarded]

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
