"""Sitemap bytes: what is recognised, the protocol's limits, trust, and the command line."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest

from harvester.config import Config, load_config
from harvester.errors import ConfigError
from harvester.inputs.sitemap import sitemap_kind
from harvester.pipeline.run import harvest
from harvester.pipeline.sitemaps import MAX_DEPTH, expand_body
from harvester.records import SitemapHint, Source, SourceKind
from tests.support.server import LoopbackServer

pytestmark = pytest.mark.timeout(60)

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
BASE = "http://127.0.0.1:9"
PAGE = (b'<html><head><script type="application/ld+json">{"@type": "VideoObject", '
        b'"name": "n", "contentUrl": "http://127.0.0.1:9/v.mp4"}</script></head></html>')


def urlset(locs: list[str], tag: str = "url", root: str = "urlset") -> bytes:
    body = "".join(f"<{tag}><loc>{loc}</loc></{tag}>\n" for loc in locs)
    return f'<?xml version="1.0"?>\n<{root} {NS}>\n{body}</{root}>\n'.encode()


@pytest.mark.parametrize(("head", "kind"), [
    (urlset([]), "urlset"),
    (b"\xef\xbb\xbf  <!-- made by hand -->\n" + urlset([]), "urlset"),
    (gzip.compress(urlset([], "sitemap", "sitemapindex")), "sitemapindex"),
    (b"<sm:urlset xmlns:sm='http://www.sitemaps.org/schemas/sitemap/0.9'/>", "urlset"),
    (b"<!DOCTYPE html><html><body>urlset</body></html>", None),
    (b'{"@type": "VideoObject"}', None),
    (b"\x1f\x8bnot really gzip", None),
])
def test_a_sitemap_is_recognised_by_its_first_bytes(head: bytes, kind: str | None) -> None:
    assert sitemap_kind(head) == kind


def expand(body: bytes, depth: int = 0) -> tuple[list[Source], dict[str, int], str | None]:
    source = Source(f"{BASE}/s.xml", SourceKind.SITEMAP,
                    hint=SitemapHint(sitemap=f"{BASE}/s.xml", depth=depth, trusted=True))
    expansion = expand_body(source, BytesIO(body), Config())
    children = list(expansion.children)
    error = expansion.error.code if expansion.error else None
    return children, dict(expansion.counts), error


def test_entries_after_the_fifty_thousandth_are_skipped_and_counted() -> None:
    children, counts, error = expand(urlset([f"{BASE}/p{n}.html" for n in range(50_003)]))
    assert (len(children), counts, error) == (50_000, {"pages": 50_000, "over_limit": 3}, None)
    assert all(c.hint is not None and c.hint.trusted for c in children[:3])


def test_index_levels_beyond_the_limit_are_not_followed() -> None:
    index = urlset([f"{BASE}/deeper.xml"], "sitemap", "sitemapindex")
    children, counts, _ = expand(index, depth=MAX_DEPTH - 1)
    assert [c.kind for c in children] == [SourceKind.SITEMAP]
    children, counts, _ = expand(index, depth=MAX_DEPTH)
    assert (children, counts) == ([], {"too_deep": 1})


def test_a_local_sitemap_file_lists_pages_that_pass_the_address_guard(tmp_path: Path) -> None:
    with LoopbackServer() as srv:
        srv.route("/a.html", body=PAGE)
        path = tmp_path / "sitemap.xml.gz"
        path.write_bytes(gzip.compress(urlset([srv.url("/a.html")])))
        guarded = harvest([str(path)], Config(retries=0))
        assert srv.log == []  # a file names no host the user vouched for
        allowed = harvest([str(path)], Config(retries=0, allow_private_hosts=True))
    assert [(p.ref, p.error.code if p.error else None) for p in guarded.pages] == [
        (srv.url("/a.html"), "private_address"), (str(path), None)]
    assert [len(p.videos) for p in allowed.pages] == [1, 0]


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harvester", "harvest", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=50,
                          env={"PYTHONPATH": str(Path(__file__).resolve().parent.parent),
                               "PATH": "/usr/bin:/bin"})


def test_the_command_line_takes_sitemaps_and_since(tmp_path: Path) -> None:
    with LoopbackServer() as srv:
        srv.route("/a.html", body=PAGE)
        srv.route("/b.html", body=PAGE)
        body = (f'<urlset {NS}><url><loc>{srv.url("/a.html")}</loc><lastmod>2026-10-01'
                f'</lastmod></url><url><loc>{srv.url("/b.html")}</loc><lastmod>2026-06-01'
                "</lastmod></url></urlset>").encode()
        srv.route("/sitemap.xml", body=body, content_type="application/xml")
        done = run_cli(["--sitemap", srv.url("/sitemap.xml"), "--since", "2026-09-01",
                        "-o", "m.json", "-q"], tmp_path)
        assert done.returncode == 0, done.stderr
        assert [r.path for r in srv.log if r.path.endswith(".html")] == ["/a.html"]
    manifest = json.loads((tmp_path / "m.json").read_text())
    assert [p["status"] for p in manifest["pages"]] == ["ok", "sitemap"]
    assert manifest["pages"][1]["sitemap"] == {"pages": 1, "before_since": 1}
    bad = run_cli(["--sitemap", "http://127.0.0.1:9/s.xml", "--since", "last week"], tmp_path)
    assert bad.returncode == 2 and "since" in bad.stderr


def test_the_config_file_takes_sitemap_keys(tmp_path: Path) -> None:
    toml = tmp_path / "h.toml"
    toml.write_text('sitemap = ["https://a.example/s.xml"]\nsitemaps_from_robots = '
                    '["https://b.example/"]\nsince = "2026-11-01T00:00:00Z"\n')
    cfg = load_config(toml, {})
    assert (cfg.sitemaps, cfg.sitemaps_from_robots, cfg.since) == (
        ("https://a.example/s.xml",), ("https://b.example/",), "2026-11-01T00:00:00Z")
    toml.write_text('since = "yesterday"\n')
    with pytest.raises(ConfigError, match="since"):
        load_config(toml, {})


def test_a_sitemap_over_the_size_limit_stops_where_the_limit_falls(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("harvester.inputs.sitemap.MAX_SITEMAP_BYTES", 100_000)
    children, counts, error = expand(gzip.compress(
        urlset([f"{BASE}/p{n}.html" for n in range(5_000)])))
    assert error == "sitemap_too_large"
    assert 0 < len(children) == counts["pages"] < 5_000
