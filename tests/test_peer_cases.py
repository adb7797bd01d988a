"""Peer projects' own test cases (yt-dlp, extruct) run against our JSON-LD path.

yt-dlp's ``_search_json_ld`` real-world cases are checked field by field in
our terms (``Declared`` and the VideoObject's data); extruct's malformed
JSON-LD samples must give the same JSON that extruct expects.  The cases live
in ../shared/peer-cases (see PROVENANCE.md there); tests skip without it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from harvester.extract import extract, jsonld, text
from harvester.extract.repair import repair
from harvester.records import Video

YTDLP_CASES = [f"search_json_ld_realworld_case{i}" for i in range(1, 7)]
EXTRUCT_MALFORMED = [
    "custom.invalid__AllocateAction.001", "custom.invalid__JSONLD_with_JS_comment",
    "custom.invalid__JSONLD_with_control_characters",
    "custom.invalid__JSONLD_with_control_characters_comment", "custom.invalid__JoinAction.001",
    "misc__null_ld_mock", "schema.org.invalid__AllocateAction.001",
    "schema.org.invalid__JoinAction.001",
]


def _title_matches(expected: str, name: str | None) -> bool:
    if expected.startswith("md5:"):
        return hashlib.md5((name or "").encode()).hexdigest() == expected[4:]
    return expected == name


def _check_field(key: str, expected: Any, video: Video) -> None:
    d, data = video.declared, video.data
    if key == "title":
        assert _title_matches(expected, d.name)
    elif key == "description":
        assert data.get("description") == expected
    elif key == "url":
        assert d.content_url == expected
    elif key == "timestamp":
        assert d.upload_date and datetime.fromisoformat(d.upload_date).timestamp() == expected
    elif key == "duration":
        assert d.duration_s == expected
    elif key in ("width", "height"):
        assert getattr(d, key) == expected
    elif key == "view_count":
        assert data["interactionStatistic"]["userInteractionCount"] == expected
    elif key == "thumbnails":
        assert list(d.thumbnail_urls) == [t["url"] for t in expected]
    elif key == "chapters":
        parts = [(p["name"], p["startOffset"]) for p in data["hasPart"]]
        assert parts == [(c["title"], c["start_time"]) for c in expected]
        assert d.duration_s == expected[-1]["end_time"]
    else:
        raise AssertionError(f"no mapping for yt-dlp field {key!r}")


@pytest.mark.parametrize("case", YTDLP_CASES)
def test_ytdlp_search_json_ld_realworld(shared_dir: Path, case: str) -> None:
    spec = json.loads((shared_dir / "peer-cases" / "ytdlp" / f"{case}.json").read_text("utf-8"))
    videos = extract(spec["html"], "https://example.org/page")
    if spec["search_kwargs"].get("expected_type", "VideoObject") != "VideoObject":
        assert videos == []  # an Article page: no VideoObject to report
        return
    assert len(videos) == 1 and videos[0].repairs == ()
    for key, expected in spec["expected"].items():
        _check_field(key, expected, videos[0])


def test_ytdlp_case6_video_is_found_with_its_thumbnail(shared_dir: Path) -> None:
    path = shared_dir / "peer-cases" / "ytdlp" / "search_json_ld_realworld_case6.json"
    (video,) = extract(json.loads(path.read_text("utf-8"))["html"], "https://example.org/")
    assert video.data["thumbnail_url"].startswith("//www.nobelprize.org/images/")


def _values(html: str) -> list[Any]:
    values: list[Any] = []
    for blob in jsonld.find_blobs(html, "p"):
        parsed = repair(blob)
        assert parsed.error is None, parsed.error
        if parsed.value is not None:  # a literal `null` script holds nothing
            values.append(parsed.value)
    return values


@pytest.mark.parametrize("case", EXTRUCT_MALFORMED)
def test_extruct_malformed_jsonld(shared_dir: Path, case: str) -> None:
    folder = shared_dir / "peer-cases" / "extruct" / "malformed_jsonld"
    html = (folder / f"{case}.html").read_text("utf-8")
    expected = json.loads((folder / f"{case}.expected.jsonld").read_text("utf-8"))
    assert _values(html) == expected


def test_extruct_empty_jsonld_script(shared_dir: Path) -> None:
    path = shared_dir / "peer-cases" / "extruct" / "malformed_jsonld" / \
        "test_empty_jsonld_script.case.json"
    spec = json.loads(path.read_text("utf-8"))
    assert _values(spec["html"]) == spec["expected"] == []


@pytest.mark.parametrize("case", ["Event.002", "MusicRecording.001"])
def test_extruct_microdata_videos_are_not_json_ld_or_text(shared_dir: Path, case: str) -> None:
    html = (shared_dir / "peer-cases" / "extruct" / "videoobject" / f"{case}.html").read_text(
        "utf-8")
    assert list(jsonld.find_blobs(html, "p")) == []
    assert list(text.find_blobs(html, "p")) == []
