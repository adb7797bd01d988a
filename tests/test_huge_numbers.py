"""Numbers of any length: a field out of range is a finding on that field, never an
exception, and the record and the page survive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harvester.extract import extract
from harvester.extract.normalize import parse_dimension, parse_duration
from harvester.store.serial import video_to_dict

GOOD = ('"name": "x", "thumbnailUrl": "https://e.org/a.jpg", "uploadDate": "2020-01-01", '
        '"contentUrl": "https://e.org/v.mp4"')


def _page(fields: str) -> str:
    return ('<script type="application/ld+json">{"@type": "VideoObject", ' + GOOD + ", "
            + fields + '}</script><script type="application/ld+json">{"@type": "VideoObject", '
            + GOOD.replace('"x"', '"y"').replace("v.mp4", "w.mp4") + "}</script>")


def _errors(video: object) -> dict[str, str]:
    return {f.pointer: f.message for f in video.validation.errors}  # type: ignore[attr-defined]


def test_a_thousand_digit_width_and_five_thousand_digit_duration_keep_the_videos() -> None:
    page = _page(f'"width": {"9" * 1000}, "height": "{"9" * 400}px", "duration": {"9" * 5000}')
    videos = extract(page.encode(), "https://e.org/")
    assert [v.declared.name for v in videos] == ["x", "y"]
    first = videos[0]
    assert set(_errors(first)) == {"/width", "/height", "/duration"}
    assert (first.declared.width, first.declared.height, first.declared.duration_s) == (
        None, None, None)
    assert videos[1].validation.valid
    json.dumps([video_to_dict(v) for v in videos], allow_nan=False)  # a JSON document


def test_numbers_beyond_a_float_are_findings_not_infinities() -> None:
    page = _page('"width": 1e999, "duration": -1e400, "height": 480.5')
    video = extract(page, "https://e.org/")[0]
    assert set(_errors(video)) == {"/width", "/duration"}
    assert video.declared.height == 481
    json.dumps(video_to_dict(video), allow_nan=False)


def test_out_of_range_dimensions_are_errors_on_the_field() -> None:
    page = _page('"width": 100001, "height": "2000000px"')
    assert set(_errors(extract(page, "https://e.org/")[0])) == {"/width", "/height"}
    assert extract(_page('"width": 100000, "height": "1080px"'), "e")[0].validation.valid


def test_normalisers_take_any_integer() -> None:
    huge = 10 ** 1000
    assert parse_dimension(huge) is None
    assert parse_dimension({"value": huge}) is None
    assert parse_duration(huge) is None
    assert parse_duration(-huge) is None


def test_validate_command_prints_findings_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "huge.html"
    path.write_text(_page(f'"width": {"9" * 1000}, "duration": {"9" * 5000}'))
    proc = subprocess.run([sys.executable, "-m", "harvester", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert "/width" in proc.stdout and "/duration" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 1
