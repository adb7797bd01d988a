"""Files served with ``Range``, ``If-Range`` and a strong ETag, on a :class:`LoopbackServer`.

Usage::

    with LoopbackServer() as server:
        served = RangeFiles({"/crawl.warc.gz": data})
        served.serve(server)
        served.etag = '"v2"'        # the file "changes": If-Range "v1" now gets a 200
        served.requests_to("/crawl.warc.gz")   # the headers of each request

``ranges=False`` makes a server that ignores Range and always sends the whole file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.support.server import LoopbackServer


@dataclass
class RangeFiles:
    """Files served with Range, If-Range and a strong ETag; ``ranges`` False ignores Range."""

    files: dict[str, bytes]
    etag: str = '"v1"'
    ranges: bool = True
    seen: list[dict[str, str]] = field(default_factory=list)

    def handler(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        self.seen.append({"path": path, **dict(request.headers.items())})
        data = self.files[path]
        wanted = request.headers.get("Range") if self.ranges else None
        if_range = request.headers.get("If-Range")
        found = re.match(r"bytes=(\d+)-(\d*)$", wanted or "")
        if found and (if_range is None or if_range == self.etag):
            start = int(found[1])
            end = min(int(found[2]) if found[2] else len(data) - 1, len(data) - 1)
            if start >= len(data):
                self._send(request, 416, b"", {"Content-Range": f"bytes */{len(data)}"})
                return
            self._send(request, 206, data[start:end + 1],
                       {"Content-Range": f"bytes {start}-{end}/{len(data)}"})
            return
        self._send(request, 200, data, {})

    def _send(self, request: BaseHTTPRequestHandler, status: int, body: bytes,
              headers: dict[str, str]) -> None:
        request.send_response(status)
        request.send_header("Content-Type", "application/octet-stream")
        request.send_header("ETag", self.etag)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def serve(self, server: LoopbackServer) -> None:
        for path in self.files:
            server.route(path, handler=self.handler)

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [r for r in self.seen if r["path"] == path]
