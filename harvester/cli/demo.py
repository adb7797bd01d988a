"""An offline end-to-end run on the bundled sample pages and media.

``run_demo(out_dir)`` serves ``harvester/samples/`` on 127.0.0.1 (port 0, a
threaded stdlib server stopped after the run), harvests its five pages with
downloads and probes into ``out_dir``, and writes ``manifest.json`` and
``report.html`` there.  It needs no internet and never sends a request to any
address but loopback: every link in the samples is ``{{BASE}}``, replaced at
serve time by the server's own address.

The samples carry the damage the harvester exists for: a WordPress-texturized
page (curly quotes, ``T1M30S`` durations, a cut-off third blob), a JSON-LD
``@graph``, microdata, Open Graph, a page with one broken and one good blob, a
video whose page declares the wrong dimensions, and a link that answers 404.
:attr:`DemoResult.surprises` lists every way the run differed from that
design; it is empty when the demo ran as designed (the 404 is part of it).
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from harvester.config import Config
from harvester.files import write_atomic
from harvester.pipeline.run import Event, harvest
from harvester.store.manifest import to_json
from harvester.store.report import write_report

__all__ = ["EXPECTED_VIDEOS", "DemoResult", "render_summary", "run_demo"]

#: Videos each sample page holds; the demo checks that every one is found.
EXPECTED_VIDEOS: Mapping[str, int] = {
    "news-texturized.html": 3,
    "jsonld-graph.html": 1,
    "microdata.html": 1,
    "opengraph.html": 1,
    "broken-and-good.html": 2,
}
MISLABELLED = "/media/stairwell-vertical.mp4"  # the page says 320×180, the file is 180×320
DEAD_LINK = "/media/fireworks-removed.mp4"  # answers 404 on purpose
PLACEHOLDER = b"{{BASE}}"


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo produced and how it went.

    ``rows`` are the summary table's lines (page, syntax, name, duration
    declared/measured, size check, download); ``expected`` lists the failures
    that are part of the show, ``surprises`` anything that did not go to plan.
    """

    out_dir: Path
    manifest_path: Path
    report_path: Path
    counts: Mapping[str, Any]
    rows: tuple[tuple[str, ...], ...]
    expected: tuple[str, ...]
    surprises: tuple[str, ...]

    @property
    def as_designed(self) -> bool:
        return not self.surprises


class _SampleHandler(BaseHTTPRequestHandler):
    """Serves ``/pages/*.html`` (with ``{{BASE}}`` filled in) and ``/media/*``; else 404."""

    server: _SampleServer

    def log_message(self, format: str, *args: Any) -> None:
        """The demo reports through its progress callback, not stderr."""

    def do_GET(self) -> None:
        body, content_type = self.server.lookup(unquote(urlsplit(self.path).path))
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET


class _SampleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _SampleHandler)
        self.root = root
        self.base = f"http://127.0.0.1:{self.server_address[1]}"

    def lookup(self, path: str) -> tuple[bytes | None, str]:
        """The body and type for ``path``; only plain files of the two folders are served."""
        folder, _, name = path.strip("/").partition("/")
        target = self.root / folder / name
        if folder not in ("pages", "media") or not name or "/" in name or name.startswith("."):
            return None, "text/plain"
        if not target.is_file():
            return None, "text/plain"
        body = target.read_bytes()
        if folder == "pages":
            return body.replace(PLACEHOLDER, self.base.encode()), "text/html; charset=utf-8"
        return body, mimetypes.guess_type(name)[0] or "application/octet-stream"


@contextmanager
def serve_samples() -> Iterator[str]:
    """Serve the bundled samples on loopback; yields the base URL, stops the server after."""
    with as_file(files("harvester").joinpath("samples")) as root:
        server = _SampleServer(Path(root))
        thread = threading.Thread(target=server.serve_forever, name="harvester-demo", daemon=True)
        thread.start()
        try:
            yield server.base
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def demo_config(out_dir: Path) -> Config:
    """Downloads and probes on; loopback allowed (the samples live there); quick retries."""
    return Config(download=True, allow_private_hosts=True, ignore_robots=True, dir=str(out_dir),
                  retries=1, timeout=10.0, backoff_base=0.05, backoff_max=0.2,
                  output=str(out_dir / "manifest.json"), report=str(out_dir / "report.html"))


def run_demo(out_dir: Path, *, progress: Callable[[str], None] | None = None) -> DemoResult:
    """Harvest the bundled samples into ``out_dir`` and write the manifest and report there."""
    out_dir = Path(out_dir)
    config = demo_config(out_dir)
    say = progress or (lambda _line: None)
    with serve_samples() as base:
        say(f"serving the bundled samples at {base}/ (loopback only)")
        pages = [f"{base}/pages/{name}" for name in EXPECTED_VIDEOS]
        manifest = harvest(pages, config, progress=_event_printer(say, base)).to_dict()
    manifest_path, report_path = out_dir / "manifest.json", out_dir / "report.html"
    _write(manifest, manifest_path, report_path, out_dir)
    return DemoResult(
        out_dir=out_dir, manifest_path=manifest_path, report_path=report_path,
        counts=manifest["run"]["counts"], rows=tuple(_row(v) for v in manifest["videos"]),
        expected=(f"{DEAD_LINK.rsplit('/', 1)[1]} answers 404: a dead link, on purpose",),
        surprises=tuple(surprises(manifest)),
    )


def _write(manifest: dict[str, Any], manifest_path: Path, report_path: Path, out: Path) -> None:
    write_atomic(manifest_path, to_json(manifest))
    write_report(manifest, report_path, download_dir=out)


def _event_printer(say: Callable[[str], None], base: str) -> Callable[[Event], None]:
    def show(event: Event) -> None:
        ref = event.ref.replace(base, "")
        if event.kind == "page":
            say(f"page   {ref}: {event.amount} video(s)")
        elif event.kind == "media-done":
            say(f"media  {ref}: finished")
    return show


def _path_of(url: object) -> str:
    return urlsplit(url).path if isinstance(url, str) else ""


def surprises(manifest: Mapping[str, Any]) -> Iterator[str]:
    """Every way the run differed from the samples' design (nothing when it went to plan)."""
    found: dict[str, int] = {}
    for video in manifest.get("videos", ()):
        name = _path_of(video.get("page")).rsplit("/", 1)[-1]
        found[name] = found.get(name, 0) + 1
    for name, expected in EXPECTED_VIDEOS.items():
        if found.get(name, 0) != expected:
            yield f"{name}: expected {expected} video(s), found {found.get(name, 0)}"
    for page in manifest.get("pages", ()):
        if page.get("status") == "failed":
            yield f"page {page.get('page')} failed: {(page.get('error') or {}).get('code')}"
    yield from _media_surprises(manifest.get("videos", ()))


def _media_surprises(videos: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    seen: set[str] = set()
    for video in videos:
        media = video.get("media") or {}
        result = media.get("video") or {}
        path = _path_of(result.get("url"))
        seen.add(path)
        status, code = result.get("status"), (result.get("error") or {}).get("code")
        if path == DEAD_LINK:
            if (status, code) != ("failed", "http_404"):
                yield f"{DEAD_LINK} should fail with http_404, got {status} {code}"
            continue
        if path == MISLABELLED and (media.get("checks") or {}).get("dimensions") not in (
                "mismatch", "swapped"):
            yield f"{MISLABELLED}: the wrong declared dimensions went unnoticed"
        for kind in ("video", "thumbnail"):
            other = media.get(kind) or {}
            if other and other.get("status") not in ("downloaded", "cached"):
                yield f"{_path_of(other.get('url'))}: {other.get('status')}"
    for needed in (DEAD_LINK, MISLABELLED):
        if needed not in seen:
            yield f"{needed} was never tried"


def _row(video: Mapping[str, Any]) -> tuple[str, ...]:
    declared = video.get("declared") or {}
    media = video.get("media") or {}
    probe = (media.get("video") or {}).get("probe") or {}
    status = (media.get("video") or {}).get("status") or "no media URL"
    code = ((media.get("video") or {}).get("error") or {}).get("code")
    name = str(declared.get("name") or "(no name)")
    return (
        _path_of(video.get("page")).rsplit("/", 1)[-1],
        str(video.get("syntax")),
        name if len(name) <= 30 else name[:29] + "…",
        f"{_secs(declared.get('duration_s'))} / {_secs(probe.get('duration_s'))}",
        str((media.get("checks") or {}).get("dimensions") or "unknown"),
        f"{status} ({code})" if code else str(status),
    )


def _secs(value: object) -> str:
    return f"{value:g}s" if isinstance(value, int | float) else "?"


def render_summary(result: DemoResult) -> str:
    """The table and the pointers the ``demo`` command prints."""
    head = ("page", "syntax", "name", "duration decl/meas", "size", "download")
    rows = [head, *result.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts, media = result.counts, result.counts.get("media", {})
    lines += ["", f"{counts.get('videos')} videos on {counts.get('pages')} pages; "
              f"{counts.get('invalid')} invalid, {counts.get('repaired')} repaired, "
              f"{counts.get('partial')} partial; media: {media.get('downloaded', 0)} downloaded, "
              f"{media.get('failed', 0)} failed."]
    lines += [f"expected: {line}" for line in result.expected]
    lines += [f"NOT AS DESIGNED: {line}" for line in result.surprises]
    if result.as_designed:
        lines.append("The demo ran as designed: the failure above is part of the show.")
    lines += ["", f"manifest: {result.manifest_path}", f"report:   {result.report_path}"]
    return "\n".join(lines)
