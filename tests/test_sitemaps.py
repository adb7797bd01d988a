"""Sitemaps in, video sitemaps read: a loopback site from robots.txt down to its pages.

Real servers on 127.0.0.1; 127.0.0.2 stands in for another host that must
receive nothing.  The session's resolver refuses every name, so no name is
ever looked up.
"""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harvester.config import Config
from harvester.net.client import Session
from harvester.net.policy import NetPolicy
from harvester.pipeline.run import harvest
from harvester.store.manifest import Manifest, manifest_problems
from harvester.store.state import State
from tests.support.faultserver import mp4_body
from tests.support.server import LoopbackServer

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
VIDEO_NS = 'xmlns:video="http://www.google.com/schemas/sitemap-video/1.1"'
OLD = "2026-01-01"
PAGES = 50
VIDEO_PAGES = 5
ODD_DURATION_PAGE = 2  # its video sitemap entry says 120 s; the page says 90 s


def loopback_only(host: str, port: int) -> list[str]:
    if host in ("127.0.0.1", "127.0.0.2"):
        return [host]
    raise socket.gaierror(socket.EAI_NONAME, f"{host} is not looked up in tests")


def urlset(entries: list[str], extra_ns: str = "") -> bytes:
    return (f'\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<urlset {NS} {extra_ns}>\n'
            + "\n".join(entries) + "\n</urlset>\n").encode()


def url_entry(loc: str, lastmod: str = OLD, inner: str = "") -> str:
    return f"<url><loc>\n  {loc}  \n</loc><lastmod>{lastmod}</lastmod>{inner}</url>"


def page_html(n: int, base: str) -> bytes:
    if n >= VIDEO_PAGES:
        return f"<html><body><p>page {n}</p></body></html>".encode()
    blob = {"@context": "https://schema.org", "@type": "VideoObject", "name": f"clip {n}",
            "contentUrl": f"{base}/v{n}.mp4", "thumbnailUrl": f"{base}/t{n}.jpg",
            "duration": "PT1M30S", "uploadDate": "2025-04-08"}
    return (f'<html><head><script type="application/ld+json">{json.dumps(blob)}</script>'
            f"</head><body>page {n}</body></html>").encode()


def video_entry(n: int, base: str) -> str:
    duration = 120 if n == ODD_DURATION_PAGE else 90
    return (f"<video:video><video:thumbnail_loc>{base}/t{n}.jpg</video:thumbnail_loc>"
            f"<video:title>clip {n}</video:title><video:description>d</video:description>"
            f"<video:content_loc>{base}/v{n}.mp4</video:content_loc>"
            f"<video:duration>{duration}</video:duration>"
            f"<video:publication_date>2025-04-08</video:publication_date></video:video>")


class Site:
    """robots.txt → index → video sitemap, a plain and a gzipped urlset, one entry elsewhere."""

    def __init__(self, srv: LoopbackServer, other: LoopbackServer) -> None:
        self.srv, self.other = srv, other
        self.base = srv.url("")
        self.lastmods = dict.fromkeys(range(PAGES), OLD)
        srv.route("/robots.txt", body=f"User-agent: *\nAllow: /\n\nSitemap: "
                  f"{self.base}/sitemap_index.xml\n".encode(), content_type="text/plain")
        index = (f'\ufeff<?xml version="1.0"?>\n<sitemapindex {NS}>\n'
                 f"<sitemap><loc> {self.base}/video-sitemap.xml </loc></sitemap>\n"
                 f"<sitemap><loc>{self.base}/sitemap-a.xml</loc></sitemap>\n"
                 f"<sitemap><loc>{self.base}/sitemap-b.xml.gz</loc></sitemap>\n"
                 f"<sitemap><loc>{other.url('/elsewhere.xml')}</loc></sitemap>\n"
                 "</sitemapindex>\n")
        srv.route("/sitemap_index.xml", body=index.encode(), content_type="application/xml")
        other.route("/elsewhere.xml", body=urlset([url_entry(other.url("/x.html"))]))
        for n in range(PAGES):
            srv.route(f"/p{n:02d}.html", body=page_html(n, self.base))
        self.publish()

    def page(self, n: int) -> str:
        return f"{self.base}/p{n:02d}.html"

    def publish(self) -> None:
        """(Re)write the sitemaps from the current lastmods."""
        half = PAGES // 2
        videos = [url_entry(self.page(n), self.lastmods[n], video_entry(n, self.base))
                  for n in range(VIDEO_PAGES)]
        self.srv.route("/video-sitemap.xml", body=urlset(videos, VIDEO_NS),
                       content_type="application/xml")
        plain = [url_entry(self.page(n), self.lastmods[n]) for n in range(half)]
        self.srv.route("/sitemap-a.xml", body=urlset(plain), content_type="text/xml")
        zipped = [url_entry(self.page(n), self.lastmods[n]) for n in range(half, PAGES)]
        self.srv.route("/sitemap-b.xml.gz", body=gzip.compress(urlset(zipped)),
                       content_type="application/x-gzip")

    def page_requests(self) -> list[str]:
        return [r.path for r in self.srv.log if r.path.startswith("/p")]


@pytest.fixture
def site() -> Iterator[Site]:
    with LoopbackServer() as srv, LoopbackServer(host="127.0.0.2") as other:
        yield Site(srv, other)


def run(config: Config, state: State | None = None) -> Manifest:
    with Session(NetPolicy.from_config(config), resolver=loopback_only) as session:
        return harvest([], config, session=session, state=state)


def as_dict(manifest: Manifest) -> dict[str, Any]:
    document = manifest.to_dict()
    assert manifest_problems(document) == []
    return document


def robots_config(site: Site, **more: Any) -> Config:
    return Config(sitemaps_from_robots=(site.base + "/",), retries=0, list_all_pages=True,
                  **more)


def test_robots_to_index_to_pages_and_video_records(site: Site) -> None:
    document = as_dict(run(robots_config(site)))
    pages = {p["page"]: p for p in document["pages"]}
    harvested = [p for p in document["pages"] if p["status"] == "ok"]
    assert sorted(p["page"] for p in harvested) == [site.page(n) for n in range(PAGES)]
    assert sorted(site.page_requests()) == [f"/p{n:02d}.html" for n in range(PAGES)]
    assert site.other.log == []  # the index entry on another host was never requested
    index = pages[f"{site.base}/sitemap_index.xml"]
    assert (index["status"], index["sitemap"]) == ("sitemap", {"sitemaps": 3, "off_host": 1})
    assert pages[f"{site.base}/sitemap-b.xml.gz"]["sitemap"] == {"pages": PAGES // 2}

    videos = document["videos"]
    listed = [v for v in videos if v["syntax"] == "sitemap"]
    assert len(listed) == VIDEO_PAGES
    own = {v["page"]: v for v in videos if v["syntax"] == "json-ld"}
    for video in listed:
        page_video = own[video["page"]]
        assert video["duplicate_of"] == page_video["id"]
        assert video["declared"]["content_url"] == page_video["declared"]["content_url"]
        assert video["validation"]["valid"], video["validation"]
        odd = video["page"] == site.page(ODD_DURATION_PAGE)
        expected = ({"verdict": "mismatch", "fields": ["duration_s"]} if odd
                    else {"verdict": "match", "fields": []})
        assert video["sitemap_vs_page"] == expected
        assert video["declared"]["duration_s"] == (120 if odd else 90)
        if odd:
            assert [w["pointer"] for w in video["validation"]["warnings"]
                    if "sitemap_vs_page" in w["message"]] == ["/duration"]


def test_state_skips_pages_whose_lastmod_has_not_changed(site: Site, tmp_path: Path) -> None:
    config = robots_config(site)
    with State.open(tmp_path / "state.db") as state:
        first = run(config, state)
    assert len(site.page_requests()) == PAGES
    first_ids = {v.id for v in first.videos}

    site.srv.log.clear()
    with State.open(tmp_path / "state.db") as state:
        second = as_dict(run(config, state))
    assert site.page_requests() == []
    statuses = {p["page"]: p["status"] for p in second["pages"]}
    assert {statuses[site.page(n)] for n in range(PAGES)} == {"unchanged"}
    assert {v["id"] for v in second["videos"]} == first_ids
    assert all("last_seen" in v for v in second["videos"])

    later = datetime.now(UTC) + timedelta(minutes=5)
    site.lastmods[7] = later.isoformat(timespec="seconds").replace("+00:00", "Z")
    site.publish()
    site.srv.log.clear()
    with State.open(tmp_path / "state.db") as state:
        run(config, state)
    assert site.page_requests() == ["/p07.html"]


def test_since_keeps_only_pages_modified_after_the_date(site: Site) -> None:
    site.lastmods[3] = site.lastmods[30] = "2026-06-01T10:00:00+02:00"
    site.publish()
    document = as_dict(run(robots_config(site, since="2026-05-01")))
    assert sorted(site.page_requests()) == ["/p03.html", "/p30.html"]
    counts = {p["page"]: p.get("sitemap") for p in document["pages"]}
    assert counts[f"{site.base}/sitemap-b.xml.gz"] == {"pages": 1, "before_since": 24}


def test_a_page_argument_that_is_a_sitemap_is_fetched_once_and_expanded(site: Site) -> None:
    config = Config(retries=0)
    with Session(NetPolicy.from_config(config), resolver=loopback_only) as session:
        manifest = harvest([f"{site.base}/sitemap-a.xml"], config, session=session)
    assert len(site.srv.requests_to("/sitemap-a.xml")) == 1
    assert sorted(site.page_requests()) == [f"/p{n:02d}.html" for n in range(PAGES // 2)]
    assert as_dict(manifest)["pages"][-1]["status"] == "sitemap"


BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
        + b"".join(b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1)) * 10
                                                 if i > 1 else b"&lol;" * 10)
                   for i in range(1, 10))
        + b"]>\n<urlset " + NS.encode() + b"><url><loc>&lol9;</loc></url></urlset>\n")


def test_bomb_html_truncated_and_odd_locs_are_named_and_the_run_goes_on(site: Site) -> None:
    srv = site.srv
    srv.route("/bomb.xml", body=BOMB, content_type="application/xml")
    srv.route("/error.xml", body=b"<!DOCTYPE html><html><body>Not found</body></html>")
    # Ten pages, then enough entries on another host (skipped, never requested) that
    # the cut falls well after the pages.
    entries = [url_entry(site.page(n)) for n in range(10)]
    entries += [url_entry(site.other.url(f"/o{n}-{n * 7919 % 10007}.html")) for n in range(3000)]
    whole = gzip.compress(urlset(entries))
    srv.route("/cut.xml.gz", body=whole[: len(whole) * 3 // 4],
              content_type="application/gzip")
    odd = urlset([url_entry("/relative.html"), url_entry("//elsewhere/x.html"),
                  url_entry("ftp://x/y"), url_entry(site.page(40))])
    srv.route("/odd.xml", body=odd, content_type="application/xml")
    srv.route("/list.txt", body=f"\ufeff{site.page(41)}\n\n  {site.page(42)}  \n".encode(),
              content_type="text/plain")
    names = ("/bomb.xml", "/error.xml", "/cut.xml.gz", "/odd.xml", "/list.txt")
    config = Config(sitemaps=tuple(site.base + n for n in names), retries=0,
                    list_all_pages=True)
    document = as_dict(run(config))
    pages = {p["page"]: p for p in document["pages"]}
    code = {n: (pages[site.base + n]["error"] or {}).get("code") for n in names}
    assert code == {"/bomb.xml": "xml_entities_refused", "/error.xml": "sitemap_is_html",
                    "/cut.xml.gz": "truncated_gzip", "/odd.xml": None, "/list.txt": None}
    assert pages[site.base + "/odd.xml"]["sitemap"] == {"relative_loc": 2, "bad_scheme": 1,
                                                       "pages": 1}
    cut = pages[site.base + "/cut.xml.gz"]["sitemap"]
    assert cut["pages"] == 10 and 1000 < cut["off_host"] < 3000  # before the cut: read
    ok = {p["page"] for p in document["pages"] if p["status"] == "ok"}
    assert ok == {site.page(n) for n in (*range(10), 40, 41, 42)}
    assert site.other.log == []


@pytest.mark.slow
def test_fifty_thousand_url_gzipped_sitemap_in_flat_memory() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_sitemap.py"),
                           "--urls", "50000", "--json"], capture_output=True, text=True,
                          timeout=110, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["pages"] == 50_000
    assert figures["peak_rss_above_baseline_mb"] < 100


def test_a_sitemap_elsewhere_named_by_robots_may_list_the_sites_pages(site: Site) -> None:
    """Cross-submit: the robots.txt of 127.0.0.1 names a sitemap on 127.0.0.2, which
    lists pages on both hosts (and one on a third, skipped)."""
    srv, other = site.srv, site.other
    srv.route("/robots.txt", body=f"Sitemap: {other.url('/cross.xml')}\n".encode(),
              content_type="text/plain")
    other.route("/robots.txt", status=404)
    other.route("/o.html", body=page_html(0, other.url("")))
    listed = [url_entry(site.page(1)), url_entry(other.url("/o.html")),
              url_entry("http://127.0.0.3/x.html")]
    other.route("/cross.xml", body=urlset(listed), content_type="application/xml")
    # The sitemap's host is not one the user named: it passes the guard, so allow it.
    document = as_dict(run(robots_config(site, allow_hosts=("127.0.0.2",))))
    pages = {p["page"]: p for p in document["pages"]}
    assert pages[other.url("/cross.xml")]["sitemap"] == {"pages": 2, "off_host": 1}
    assert pages[site.page(1)]["status"] == pages[other.url("/o.html")]["status"] == "ok"
    assert site.page_requests() == ["/p01.html"]


def test_video_sitemap_records_are_downloaded_like_the_others(site: Site,
                                                               tmp_path: Path) -> None:
    for n in range(VIDEO_PAGES):
        site.srv.route(f"/v{n}.mp4", body=mp4_body(4096, seed=n), content_type="video/mp4")
    # Media URLs are untrusted wherever they are named: loopback media needs allowing.
    config = robots_config(site, download=True, probe=False, dir=str(tmp_path / "media"),
                           allow_hosts=("127.0.0.1",))
    document = as_dict(run(config))
    by_id = {v["id"]: v for v in document["videos"]}
    listed = [v for v in document["videos"] if v["syntax"] == "sitemap"]
    assert len(listed) == VIDEO_PAGES
    for video in listed:
        mine, theirs = video["media"]["video"], by_id[video["duplicate_of"]]["media"]["video"]
        assert mine["status"] in ("downloaded", "cached")
        assert mine["sha256"] == theirs["sha256"] is not None
    assert all(len(site.srv.requests_to(f"/v{n}.mp4")) == 1 for n in range(VIDEO_PAGES))
