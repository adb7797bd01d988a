"""``harvester demo``: bundled samples served on loopback, the full pipeline, its results."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from harvester.cli.demo import DEAD_LINK, EXPECTED_VIDEOS, MISLABELLED, serve_samples, surprises

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "harvester" / "samples"
NAMESPACES = ("https://schema.org", "https://ogp.me/ns#")  # identifiers, never fetched


def test_samples_link_only_to_the_loopback_placeholder() -> None:
    for page in (SAMPLES / "pages").iterdir():
        text = page.read_text(encoding="utf-8")
        urls = re.findall(r"https?://[^\s\"'<>“”″,}]+", text)
        assert urls, page.name
        assert [u for u in urls if not u.startswith(NAMESPACES)] == [], page.name
        assert "{{BASE}}/" in text, page.name


def test_bundled_media_stay_small() -> None:
    total = sum(p.stat().st_size for p in (SAMPLES / "media").iterdir())
    assert total < 400_000


def test_sample_server_fills_in_its_address_and_serves_nothing_else() -> None:
    with serve_samples() as base, httpx.Client(base_url=base, trust_env=False) as client:
        assert base.startswith("http://127.0.0.1:")
        page = client.get("/pages/microdata.html")
        assert page.status_code == 200 and "{{BASE}}" not in page.text
        assert f'href="{base}/media/night-tram.mp4"' in page.text
        media = client.get("/media/night-tram.mp4")
        assert media.headers["content-type"] == "video/mp4" and len(media.content) > 1000
        for path in (DEAD_LINK, "/pages/../demo.py", "/pages/%2e%2e/demo.py", "/", "/robots.txt"):
            assert client.get(path).status_code == 404, path


def _run_demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "harvester", "demo", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, Any]]:
    cwd = tmp_path_factory.mktemp("demo")
    proc = _run_demo(cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = cwd / "downloads" / "demo"  # the default directory
    return out, proc.stdout, json.loads((out / "manifest.json").read_text("utf-8"))


def _video_at(manifest: dict[str, Any], path: str) -> dict[str, Any]:
    return next(v for v in manifest["videos"]
                if (v.get("media", {}).get("video") or {}).get("url", "").endswith(path))


def test_demo_finds_every_sample_video(demo_run: tuple[Path, str, dict[str, Any]]) -> None:
    _, _, manifest = demo_run
    found: dict[str, int] = {}
    for video in manifest["videos"]:
        name = video["page"].rsplit("/", 1)[-1]
        found[name] = found.get(name, 0) + 1
    assert found == dict(EXPECTED_VIDEOS)
    syntaxes = {v["syntax"] for v in manifest["videos"]}
    assert {"text", "json-ld", "microdata", "opengraph"} <= syntaxes
    assert any(v["partial"] for v in manifest["videos"])  # the cut-off third blob
    assert list(surprises(manifest)) == []


def test_demo_reports_the_mislabelled_video_and_the_dead_link(
    demo_run: tuple[Path, str, dict[str, Any]],
) -> None:
    _, stdout, manifest = demo_run
    assert _video_at(manifest, MISLABELLED)["media"]["checks"]["dimensions"] in ("mismatch",
                                                                                "swapped")
    dead = _video_at(manifest, DEAD_LINK)["media"]["video"]
    assert dead["status"] == "failed" and dead["error"]["code"] == "http_404"
    assert "expected:" in stdout and "404" in stdout and "NOT AS DESIGNED" not in stdout


def test_demo_writes_report_and_touches_only_loopback(
    demo_run: tuple[Path, str, dict[str, Any]],
) -> None:
    out, stdout, manifest = demo_run
    report = (out / "report.html").read_text("utf-8")
    assert report.count('<article class="card"') == len(manifest["videos"])
    assert str(out / "report.html") in stdout or "report.html" in stdout
    urls = [r["url"] for v in manifest["videos"] for r in (v.get("media") or {}).values()
            if isinstance(r, dict) and "url" in r]
    assert urls and all(u.startswith("http://127.0.0.1:") for u in urls)
    kept = [r for v in manifest["videos"] for r in (v.get("media") or {}).values()
            if isinstance(r, dict) and r.get("status") == "downloaded"]
    assert kept and all((out / r["path"]).is_file() for r in kept)


def test_a_run_that_went_wrong_is_not_called_as_designed(
    demo_run: tuple[Path, str, dict[str, Any]],
) -> None:
    manifest = copy.deepcopy(demo_run[2])
    _video_at(manifest, MISLABELLED)["media"]["checks"]["dimensions"] = "match"
    _video_at(manifest, DEAD_LINK)["media"]["video"]["error"]["code"] = "timeout"
    manifest["videos"].pop(0)
    found = list(surprises(manifest))
    assert len(found) == 3, found
