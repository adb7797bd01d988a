"""The HTML report: content of each card, counts, filters' data, escaping, atomic write."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from harvester.store.report import island_json, render_report, video_facets, write_report

HOSTILE = 'Evil <script>window.__pwned = 1</script> & "quotes"'


def _media(status: str, path: str | None, *, probe: dict[str, Any] | None = None,
           error: dict[str, str] | None = None) -> dict[str, Any]:
    return {"url": "https://x.test/v.mp4", "status": status, "path": path,
            "bytes": 54321 if path else None, "sha256": None, "attempts": 1,
            "content_type": "video/mp4", "error": error,
            "probe": probe}


def _video(vid: str, name: str, syntax: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": vid, "page": f"https://news.test/{vid}.html", "syntax": syntax, "pointer": "",
        "offset": 10, "repairs": [], "partial": False, "duplicate_of": None,
        "raw": '{"@type": "VideoObject"}', "data": {"@type": "VideoObject", "name": name},
        "declared": {"name": name, "content_url": "https://x.test/v.mp4", "embed_url": None,
                     "thumbnail_urls": [], "duration_s": 3.0, "width": 320, "height": 180,
                     "upload_date": "2025-04-08T13:59:27Z"},
        "validation": {"valid": True, "errors": [], "warnings": []},
    }
    base.update(extra)
    return base


def sample_manifest(thumb_url: str = "https://x.test/t.jpg") -> dict[str, Any]:
    """A manifest in the shape of notes' manifest_version 1, covering every card state.

    ``media/good.jpg`` must exist in the download dir for the local thumbnail.
    """
    probe = {"duration_s": 3.0, "width": 320, "height": 180, "codec": "h264", "frame_rate": 24.0,
             "bit_rate": 100000, "has_audio": True, "format_name": "mp4", "available": True,
             "error": None}
    swapped = {**probe, "width": 180, "height": 320}
    good_checks = {"duration": "match", "dimensions": "match", "thumbnail": "unknown"}
    videos = [
        _video("aaaa000000000001", "Harbour at evening", "text",
               repairs=["untexturize-quotes", "duration-missing-p"],
               media={"video": _media("downloaded", "aa/aaaa.mp4", probe=probe),
                      "thumbnail": _media("downloaded", "media/good.jpg"),
                      "checks": good_checks}),
        _video("bbbb000000000002", "Lighthouse stairwell", "json-ld", pointer="/@graph/3",
               media={"video": _media("downloaded", "bb/bbbb.mp4", probe=swapped),
                      "thumbnail": None,
                      "checks": {"duration": "match", "dimensions": "swapped",
                                 "thumbnail": "unknown"}}),
        _video("cccc000000000003", "Fireworks (removed)", "json-ld",
               validation={"valid": False,
                           "errors": [{"pointer": "/duration",
                                       "message": "'ninety' is not a duration"}],
                           "warnings": [{"pointer": "/thumbnailUrl", "message": "recommended"}]},
               media={"video": _media("failed", None, error={"code": "http_404",
                                                             "message": "the server answered 404"}),
                      "thumbnail": None,
                      "checks": {"duration": "unknown", "dimensions": "unknown",
                                 "thumbnail": "unknown"}}),
        _video("dddd000000000004", HOSTILE, "microdata", partial=True,
               declared={"name": HOSTILE, "content_url": None, "embed_url": None,
                         "thumbnail_urls": ["javascript:alert(1)", thumb_url], "duration_s": 95.5,
                         "width": None, "height": None, "upload_date": None},
               validation={"valid": True, "errors": [],
                           "warnings": [{"pointer": "/name", "message": "</script><b>x</b>"}]}),
    ]
    return {
        "manifest_version": 1, "generator": "harvester 0.1.0",
        "run": {"started": "2026-11-27T00:10:00Z", "finished": "2026-11-27T00:10:05Z",
                "options": {"download": True, "dir": "downloads"},
                "counts": {"pages": 5, "pages_failed": 1, "videos": 4, "distinct_videos": 4,
                           "invalid": 1, "partial": 1, "repaired": 1,
                           "media": {"downloaded": 3, "cached": 0, "failed": 1, "blocked": 0,
                                     "skipped": 0, "not_media": 0, "deferred": 0}}},
        "pages": [{"page": "https://news.test/gone.html", "status": "failed", "videos": 0,
                   "error": {"code": "http_410", "message": "gone <b>"}}],
        "videos": videos,
    }


@pytest.fixture
def html() -> str:
    return render_report(sample_manifest())


def test_one_card_per_video_with_name_and_page(html: str) -> None:
    assert html.count('<article class="card"') == 4
    assert ">Harbour at evening</h2>" in html
    assert 'href="https://news.test/aaaa000000000001.html"' in html


def test_names_and_messages_from_pages_are_escaped(html: str) -> None:
    assert "<script>window.__pwned" not in html
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt; &amp; &quot;quotes&quot;" in html
    assert "</script><b>x</b>" not in html
    assert "javascript:" not in html  # an unsafe thumbnail URL is never used
    assert 'src="https://' not in html  # nor, by default, any remote one
    assert "thumbnail not downloaded" in html
    remote = render_report(sample_manifest(), remote_thumbnails=True)
    assert "javascript:" not in remote
    assert 'src="https://x.test/t.jpg"' in remote  # the next, safe one is, when allowed


def test_nothing_leaves_the_browser_by_default(html: str) -> None:
    csp = unescape(re.search(r'Content-Security-Policy" content="([^"]*)"', html)[1])  # type: ignore[index]
    assert "img-src file: data:;" in csp and "http" not in csp


def test_cards_needing_attention_come_first_and_tiles_filter(html: str) -> None:
    order = re.findall(r'<article class="card" id="v-([0-9a-f]+)"', html)
    assert order[:2] == ["cccc000000000003", "bbbb000000000002"]  # a failure, a mismatch
    assert 'data-select="finding=mismatch"' in html and 'data-select="status=failed"' in html


def test_exactly_two_scripts_and_both_allowed_by_the_csp(html: str) -> None:
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert len(scripts) == 2
    code = scripts[1][1]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    meta = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    assert meta is not None
    csp = unescape(meta[1])
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    searches = [v["search"] for v in json.loads(scripts[0][1])["videos"]]
    assert any(text.startswith("evil <script>") for text in searches)


def test_data_island_cannot_be_closed_early() -> None:
    text = island_json({"a": "</script><script>alert(1)</script>&\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><script>alert(1)</script>&\u2028"}


def test_declared_vs_measured_and_mismatch_highlight(html: str) -> None:
    card = html.split('id="v-bbbb000000000002"')[1].split("</article>")[0]
    assert '<tr class="swapped"><th>size</th><td>320×180</td><td>180×320</td>' in card
    assert "<td>3 s</td><td>3 s</td><td>match</td>" in card
    assert "1:36 (95.5 s)" in html


def test_findings_repairs_and_download_status(html: str) -> None:
    failed = html.split('id="v-cccc000000000003"')[1].split("</article>")[0]
    assert "<code>http_404</code> the server answered 404" in failed
    assert 'class="error"><code>/duration</code>' in failed
    assert 'class="warning"><code>/thumbnailUrl</code>' in failed
    assert "<code>untexturize-quotes</code><code>duration-missing-p</code>" in html
    assert "<code>http_410</code> gone &lt;b&gt;" in html  # failed pages listed at the top


def test_summary_counts(html: str) -> None:
    summary = html.split('id="summary"')[1].split("</section>")[0]
    for value, label in (("5", "pages"), ("1", "pages failed"), ("4", "videos"),
                         ("1", "declared ≠ measured"), ("3", "media downloaded")):
        assert f"<b>{value}</b><span>{label}</span>" in summary


def test_facets_drive_the_filters() -> None:
    videos = sample_manifest()["videos"]
    facets = [video_facets(v) for v in videos]
    assert [f["status"] for f in facets] == ["downloaded", "downloaded", "failed", "not downloaded"]
    assert "repaired" in facets[0]["findings"] and "clean" in facets[0]["findings"]
    assert "mismatch" in facets[1]["findings"]
    assert {"invalid", "failed", "warnings"} <= set(facets[2]["findings"])
    assert "partial" in facets[3]["findings"] and "clean" not in facets[3]["findings"]


def test_local_thumbnail_relative_to_base_dir() -> None:
    html = render_report(sample_manifest(), base_dir=Path("../dl"))
    assert '<img src="../dl/media/good.jpg"' in html
    assert 'href="../dl/aa/aaaa.mp4">file</a>' in html


def test_paths_escaping_the_download_dir_are_not_linked() -> None:
    manifest = sample_manifest()
    manifest["videos"][0]["media"]["thumbnail"]["path"] = "../../etc/passwd"
    assert "passwd" not in render_report(manifest)


def test_empty_and_sparse_manifests_render() -> None:
    assert "Videos found: 0" in render_report({})
    sparse = render_report({"videos": [{"id": "x", "syntax": "text"}]})
    assert "(no name)" in sparse


def test_write_report_is_atomic_and_links_into_download_dir(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    write_report(sample_manifest(), target, download_dir=tmp_path / "dl")
    text = target.read_text(encoding="utf-8")
    assert '<img src="../dl/media/good.jpg"' in text
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temp file left
