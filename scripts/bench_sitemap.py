"""Benchmark sitemap expansion: time and peak memory for one large gzipped sitemap.

Serves a gzipped ``urlset`` of ``--urls`` entries (each with a ``lastmod``, one
in a hundred with a ``<video:video>``) from a loopback server, then fetches and
expands it the way a run does (``--sitemap URL``: spooled download, streaming
parse, one source at a time) without fetching the pages.  Memory is the
process's resident set, sampled every few milliseconds, above what it was just
before the expansion started.

Usage::

    python scripts/bench_sitemap.py               # 50,000 URLs
    python scripts/bench_sitemap.py --urls 10000 --json
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester.config import Config  # noqa: E402
from harvester.net.client import Session  # noqa: E402
from harvester.net.policy import NetPolicy  # noqa: E402
from harvester.pipeline.sitemaps import expand_sitemap  # noqa: E402
from harvester.records import SitemapHint, Source, SourceKind  # noqa: E402
from tests.support.server import LoopbackServer  # noqa: E402

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    """Resident set size of this process, in bytes."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE


class PeakSampler(threading.Thread):
    """The largest resident set seen while running."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.002):
            self.peak = max(self.peak, rss())

    def stop(self) -> int:
        self._done.set()
        self.join()
        return max(self.peak, rss())


def sitemap_gz(base: str, urls: int) -> bytes:
    """A gzipped urlset of ``urls`` pages, written piece by piece."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb") as gz:
        gz.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps'
                 b'.org/schemas/sitemap/0.9" xmlns:video="http://www.google.com/schemas/'
                 b'sitemap-video/1.1">\n')
        for n in range(urls):
            video = (f"<video:video><video:title>clip {n}</video:title><video:content_loc>"
                     f"{base}/media/{n}.mp4</video:content_loc><video:duration>90"
                     "</video:duration></video:video>") if n % 100 == 0 else ""
            gz.write(f"<url><loc>{base}/news/2026/11/article-{n:06d}-with-a-longer-slug."
                     f"html</loc><lastmod>2026-11-01T10:00:00Z</lastmod>{video}</url>\n"
                     .encode())
        gz.write(b"</urlset>\n")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=50_000)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    with LoopbackServer() as srv:
        body = sitemap_gz(srv.url(""), args.urls)
        srv.route("/big.xml.gz", body=body, content_type="application/gzip")
        config = Config(retries=0)
        source = Source(srv.url("/big.xml.gz"), SourceKind.SITEMAP,
                        hint=SitemapHint(sitemap=srv.url("/big.xml.gz"), trusted=True))
        with Session(NetPolicy.from_config(config)) as session:
            baseline = rss()
            sampler = PeakSampler()
            sampler.start()
            started = time.perf_counter()
            expansion = expand_sitemap(source, config, session, None)
            pages = videos = 0
            for child in expansion.children:
                pages += 1
                videos += len(child.hint.videos) if child.hint else 0
            elapsed = time.perf_counter() - started
            peak = sampler.stop()
    figures = {"urls": args.urls, "pages": pages, "videos": videos,
               "gzip_bytes": len(body), "seconds": round(elapsed, 3),
               "urls_per_second": round(pages / elapsed) if elapsed else None,
               "peak_rss_above_baseline_mb": round((peak - baseline) / 2**20, 1),
               "error": expansion.error.code if expansion.error else None}
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
