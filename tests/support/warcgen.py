"""Corpus-like pages and WARC files built at test (or benchmark) time.

Pages look like real article pages: a head with meta and Open Graph tags, a
NewsArticle JSON-LD block without video (a realistic negative), navigation,
paragraphs of filler text and an analytics script.  A few carry a video, in
one of four shapes seen in the wild: JSON-LD, microdata, Open Graph video
tags, or the texturized text blob that a WordPress filter leaves behind.

Everything is deterministic for a given seed, so two runs build byte-identical
WARC files.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

_TEXT = ("harbour council ferry market evening tide fleet traders footfall timetable "
         "investigators pier stalls weather report minister budget school hospital "
         "station tram depot line works closure river crossing bridge storm season "
         "festival music square crowd police statement witness video footage camera")
WORDS = tuple(_TEXT.split())

VIDEO_KINDS = ("json-ld", "microdata", "opengraph", "text")


@dataclass(frozen=True, slots=True)
class GenPage:
    """One generated page: its URL, its HTML bytes, its Content-Type and its videos."""

    url: str
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    videos: int = 0


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    return " ".join(words).capitalize() + "."


def _video_json(n: int, base: str) -> dict[str, object]:
    return {"@context": "https://schema.org", "@type": "VideoObject",
            "name": f"Clip {n}: harbour at evening",
            "description": "Boats come in as the light goes.",
            "thumbnailUrl": f"{base}/media/clip-{n}.jpg",
            "contentUrl": f"{base}/media/clip-{n}.mp4",
            "uploadDate": "2025-04-08T14:59:27+01:00", "duration": "PT1M30S",
            "width": 640, "height": 360}


def video_markup(kind: str, n: int, base: str) -> tuple[str, str]:
    """(head, body) HTML describing video ``n`` in the syntax ``kind``."""
    data = _video_json(n, base)
    if kind == "json-ld":
        return (f'<script type="application/ld+json">{json.dumps(data)}</script>', "")
    if kind == "microdata":
        return ("", '<div itemscope itemtype="https://schema.org/VideoObject">'
                f'<h2 itemprop="name">{data["name"]}</h2>'
                '<meta itemprop="duration" content="PT1M30S">'
                '<meta itemprop="uploadDate" content="2025-04-08T14:59:27Z">'
                f'<link itemprop="thumbnailUrl" href="{data["thumbnailUrl"]}">'
                f'<link itemprop="contentUrl" href="{data["contentUrl"]}"></div>')
    if kind == "opengraph":
        return (f'<meta property="og:type" content="video.other">'
                f'<meta property="og:title" content="{data["name"]}">'
                f'<meta property="og:image" content="{data["thumbnailUrl"]}">'
                f'<meta property="og:video" content="{data["contentUrl"]}">'
                '<meta property="og:video:type" content="video/mp4">', "")
    if kind == "text":
        # WordPress's typographic filter: “ after {, ″ after a digit, ” elsewhere; no P.
        text = json.dumps(data, separators=(",", ":")).replace('"PT1M30S"', '"T1M30S"')
        out = []
        for i, ch in enumerate(text):
            if ch != '"':
                out.append(ch)
            elif i and text[i - 1] == "{":
                out.append("\u201c")
            elif i and text[i - 1].isdigit():
                out.append("\u2033")
            else:
                out.append("\u201d")
        return ("", "<p>" + "".join(out) + "</p>")
    raise ValueError(f"unknown video kind {kind!r}")


def page_html(rng: random.Random, url: str, size: int, video: tuple[str, int] | None,
              base: str = "https://media.example") -> str:
    """An article page of about ``size`` bytes, with one video when ``video`` is given."""
    title = _sentence(rng)[:70]
    article = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
               "datePublished": "2025-04-08T10:00:00Z", "author": {"@type": "Person",
                                                                   "name": "Staff"}}
    head_extra, body_extra = video_markup(*video, base) if video else ("", "")
    head = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta name="viewport" content="width=device-width">'
            f'<meta property="og:site_name" content="Harbour News">'
            f'<meta property="og:url" content="{url}">'
            f'<script type="application/ld+json">{json.dumps(article)}</script>'
            f"{head_extra}<style>body{{font:16px serif}} .nav a{{margin:0 4px}}</style>"
            "</head><body>")
    nav = '<nav class="nav">' + "".join(
        f'<a href="/section/{w}">{w.title()}</a>' for w in WORDS[:24]) + "</nav>"
    parts = [head, nav, f"<article><h1>{title}</h1>", body_extra]
    length = sum(len(p) for p in parts)
    while length < size - 400:
        paragraph = "<p>" + " ".join(_sentence(rng) for _ in range(rng.randint(3, 8))) + "</p>"
        parts.append(paragraph)
        length += len(paragraph)
    parts.append('</article><script>window.dataLayer=window.dataLayer||[];'
                 'dataLayer.push({"event":"pageview","section":"news"});</script></body></html>')
    return "".join(parts)


def corpus_pages(count: int, *, seed: int = 7, video_every: int = 200,
                 min_size: int = 50_000, max_size: int = 100_000,
                 host: str = "https://news.example") -> Iterator[GenPage]:
    """``count`` pages; one in ``video_every`` describes a video (0.5% by default)."""
    rng = random.Random(seed)
    for n in range(count):
        url = f"{host}/{2025 + n % 2}/article-{n}.html"
        video = (VIDEO_KINDS[(n // video_every) % len(VIDEO_KINDS)], n) \
            if n % video_every == video_every // 2 else None
        html = page_html(rng, url, rng.randint(min_size, max_size), video)
        yield GenPage(url=url, body=html.encode("utf-8"), videos=1 if video else 0)

# Web-like pages: what a crawl holds, rather than article pages tuned to the corpus.
_JS_WORDS = ("function", "var", "return", "window", "document", "this", "null", "true",
             "length", "push", "config", "event", "callback", "options", "element")


def _script(rng: random.Random, size: int) -> str:
    """Minified-looking inline JavaScript of about ``size`` characters."""
    parts: list[str] = []
    length = 0
    while length < size:
        a, b = rng.choice(_JS_WORDS), rng.choice(_JS_WORDS)
        piece = (f"{a}.{b}{rng.randint(0, 99)}=function(e,t){{var n=e&&e.{b}||{{}};"
                 f'if(!n["{a}"])return t({rng.randint(0, 9999)});n.q=[].concat(n.q||[],t);}};')
        parts.append(piece)
        length += len(piece)
    return "<script>" + "".join(parts) + "</script>"


def web_page_html(rng: random.Random, url: str, size: int, video: tuple[str, int] | None,
                  base: str = "https://media.example") -> str:
    """A page of about ``size`` bytes laid out like a common news or shop page: meta and
    Open Graph tags, an ld+json block without video, stylesheets and scripts (inline and
    external), a large navigation, the content, a footer; one video when ``video`` is
    given (in the syntax ``video[0]``)."""
    title = _sentence(rng)[:70]
    crumbs = {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [
        {"@type": "ListItem", "position": i + 1, "name": w, "item": f"{url}/../{w}"}
        for i, w in enumerate(rng.sample(WORDS, 3))]}
    head_extra, body_extra = video_markup(*video, base) if video else ("", "")
    head = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{title}</title><meta name=\"description\" content=\"{_sentence(rng)}\">"
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<meta property="og:type" content="article">'
            f'<meta property="og:title" content="{title}"><meta property="og:url" content="{url}">'
            f'<meta property="og:image" content="{base}/img/{rng.randint(1, 9999)}.jpg">'
            '<meta name="twitter:card" content="summary_large_image">'
            f'<link rel="canonical" href="{url}"><link rel="stylesheet" href="/css/site.css">'
            f'<script type="application/ld+json">{json.dumps(crumbs)}</script>{head_extra}'
            '<script async src="https://cdn.example/analytics.js"></script>'
            + _script(rng, rng.randint(2000, 8000)) + "</head><body>")
    menu = "".join(f'<li class="menu-item"><a href="/{a}/{b}">{a.title()} {b}</a></li>'
                   for a in WORDS[:12] for b in WORDS[12:16])
    nav = f'<header><nav class="main-nav" role="navigation"><ul>{menu}</ul></nav></header>'
    footer = ('<footer class="site-footer"><ul>' + "".join(
        f'<li><a href="/page/{w}">{w.title()}</a></li>' for w in WORDS) + "</ul>"
        "<p>&copy; 2025 Harbour Media. All rights reserved.</p></footer>")
    tail = _script(rng, rng.randint(3000, 12000)) + footer + "</body></html>"
    parts = [head, nav, f'<main><article class="post"><h1>{title}</h1>', body_extra]
    length = sum(len(p) for p in parts) + len(tail)
    while length < size:
        paragraph = ('<div class="para"><p>' + " ".join(
            _sentence(rng) for _ in range(rng.randint(3, 8))) + "</p></div>")
        parts.append(paragraph)
        length += len(paragraph)
    parts.append("</article></main>")
    parts.append(tail)
    return "".join(parts)


def web_pages(count: int, *, seed: int = 11, video_every: int = 20,
              min_size: int = 30_000, max_size: int = 80_000,
              host: str = "https://www.example") -> Iterator[GenPage]:
    """``count`` web-like pages of 30-80 KB; one in ``video_every`` (5% by default)
    carries a video, as JSON-LD or microdata in turn."""
    rng = random.Random(seed)
    for n in range(count):
        url = f"{host}/{2025 + n % 2}/page-{n}.html"
        video = (("json-ld", "microdata")[(n // video_every) % 2], n) \
            if n % video_every == video_every // 2 else None
        html = web_page_html(rng, url, rng.randint(min_size, max_size), video)
        yield GenPage(url=url, body=html.encode("utf-8"), videos=1 if video else 0)


def write_warc(path: Path, pages: Iterable[GenPage], *, gzip: bool = True) -> int:
    """Write ``pages`` as a WARC (a warcinfo, then request + response per page).

    Returns the number of response records.
    """
    written = 0
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=gzip)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "warcgen"}))
        for page in pages:
            writer.write_record(response_record(writer, page))
            written += 1
    return written


def response_record(writer: WARCWriter, page: GenPage) -> object:
    """One WARC response record holding ``page`` behind a 200 HTTP header block."""
    http = StatusAndHeaders("200 OK", [("Content-Type", page.content_type),
                                       ("Content-Length", str(len(page.body)))],
                            protocol="HTTP/1.1")
    return writer.create_warc_record(page.url, "response", payload=io.BytesIO(page.body),
                                     length=len(page.body), http_headers=http)


def warc_bytes(pages: Iterable[GenPage], *, gzip: bool = True) -> bytes:
    """A WARC in memory (each record its own gzip member when ``gzip``)."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzip)
    for page in pages:
        writer.write_record(response_record(writer, page))
    return buffer.getvalue()
