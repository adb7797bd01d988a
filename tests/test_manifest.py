"""The manifest: record round trips, schema conformance, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvester.files import write_atomic
from harvester.records import (
    Checks,
    Declared,
    ErrorInfo,
    Finding,
    Media,
    MediaResult,
    MediaStatus,
    PageResult,
    Probe,
    Syntax,
    Validation,
    Verdict,
    Video,
    utc_now,
)
from harvester.store.manifest import (
    Manifest,
    manifest_problems,
    to_json,
    write_manifest,
)
from harvester.store.serial import media_from_dict, media_to_dict, video_from_dict, video_to_dict


def make_video(vid: str = "0123456789abcdef", **kw: object) -> Video:
    base: dict[str, object] = dict(
        id=vid, page="https://example.org/a", syntax=Syntax.TEXT, raw="{…}",
        data={"@type": "VideoObject", "name": "A"},
        declared=Declared(name="A", content_url="https://example.org/a.mp4",
                          thumbnail_urls=("https://example.org/a.jpg",), duration_s=90.0,
                          width=480, height=270, upload_date="2025-04-08T14:59:27+01:00"),
        validation=Validation(valid=False, errors=(Finding("/duration", "not ISO 8601"),)),
        repairs=("untexturize-quotes",), partial=False, pointer="", offset=12,
    )
    base.update(kw)
    return Video(**base)  # type: ignore[arg-type]


def make_media() -> Media:
    video = MediaResult(url="https://example.org/a.mp4", status=MediaStatus.DOWNLOADED,
                        path="ab/ab.mp4", bytes=10, sha256="a" * 64, attempts=1,
                        content_type="video/mp4",
                        probe=Probe(duration_s=90.1, width=480, height=270, codec="h264"))
    thumb = MediaResult(url="https://example.org/a.jpg", status=MediaStatus.FAILED, attempts=1,
                        error=ErrorInfo("http_404", "not found"))
    return Media(video=video, thumbnail=thumb,
                 checks=Checks(duration=Verdict.MATCH, dimensions=Verdict.SWAPPED))


def test_video_round_trip() -> None:
    video = make_video()
    assert video_from_dict(json.loads(json.dumps(video_to_dict(video)))) == video


def test_media_round_trip() -> None:
    media = make_media()
    assert media_from_dict(json.loads(json.dumps(media_to_dict(media)))) == media


def test_full_manifest_fits_schema() -> None:
    videos = (make_video(), make_video("fedcba9876543210", duplicate_of="0123456789abcdef"))
    manifest = Manifest.build(started=utc_now(), finished=utc_now(), options={"download": True},
                        pages=[PageResult(ref="https://example.org/a", videos=videos),
                               PageResult(ref="https://example.org/b",
                                          error=ErrorInfo("http_404", "gone"))],
                        media={"0123456789abcdef": make_media()},
                        seen={"0123456789abcdef": (utc_now(), utc_now())},
                        changes={"new": ["0123456789abcdef"], "changed": [], "gone": []})
    document = manifest.to_dict()
    assert manifest_problems(document) == []
    counts = document["run"]["counts"]
    assert counts["videos"] == 2 and counts["distinct_videos"] == 1
    assert counts["pages_failed"] == 1 and counts["media"]["failed"] == 1
    assert manifest.failed


def test_schema_rejects_a_bad_status() -> None:
    document = Manifest.build(started=utc_now(),
                              pages=[PageResult(ref="x", videos=(make_video(),))],
                              media={"0123456789abcdef": make_media()}).to_dict()
    document["videos"][0]["media"]["video"]["status"] = "done"
    assert any("/videos/0/media/video/status" in p for p in manifest_problems(document))


def test_write_manifest_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    target.write_text("old")
    write_manifest(target, Manifest(started=utc_now()))
    assert json.loads(target.read_text())["manifest_version"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "m.json"
    target.write_text("old")

    class Boom:
        def __str__(self) -> str:
            raise RuntimeError("boom")

    with pytest.raises(TypeError):
        write_atomic(target, Boom())  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_to_json_keeps_unicode() -> None:
    assert "“" in to_json({"a": "“"})
