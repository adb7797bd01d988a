"""harvester.measure.checks: declared versus measured, on numbers and on real generated media."""

from __future__ import annotations

import pytest

from harvester.measure.checks import check, check_duration, check_size
from harvester.measure.probe import probe
from harvester.records import Checks, Declared, Probe, Verdict
from tests.support.media import have_ffmpeg, make_image, make_video

MATCH, MISMATCH, SWAPPED, UNKNOWN = (Verdict.MATCH, Verdict.MISMATCH, Verdict.SWAPPED,
                                     Verdict.UNKNOWN)


@pytest.mark.parametrize(("declared", "measured", "verdict"), [
    (10.0, 10.9, MATCH),       # 1 s floor
    (10.0, 11.1, MISMATCH),
    (100.0, 101.9, MATCH),     # 2 % above 50 s
    (100.0, 97.9, MISMATCH),
    (0.0, 0.8, MATCH),
    (None, 5.0, UNKNOWN),
    (5.0, None, UNKNOWN),
])
def test_duration_tolerance(declared: float | None, measured: float | None,
                            verdict: Verdict) -> None:
    assert check_duration(declared, measured) is verdict


@pytest.mark.parametrize(("declared", "measured", "verdict"), [
    ((480, 270), (480, 270), MATCH),
    ((480, 270), (270, 480), SWAPPED),
    ((480, 270), (640, 360), MISMATCH),
    ((480, 480), (480, 480), MATCH),
    ((480, 480), (480, 270), MISMATCH),
    (None, (480, 270), UNKNOWN),
    ((480, 270), None, UNKNOWN),
])
def test_size_verdicts(declared: tuple[int, int] | None, measured: tuple[int, int] | None,
                       verdict: Verdict) -> None:
    assert check_size(declared, measured) is verdict


def test_missing_or_failed_probes_are_unknown() -> None:
    declared = Declared(duration_s=6, width=480, height=270)
    assert check(declared, None, None) == Checks()
    assert check(declared, Probe(available=False, error="ffprobe_unavailable"),
                 Probe(available=False, error="ffprobe_unavailable")) == Checks()
    # A width alone is not enough to judge the frame size.
    assert check(Declared(width=480), Probe(width=480, height=270), None).dimensions is UNKNOWN


def test_thumbnail_without_declared_size() -> None:
    real = Probe(width=320, height=180, codec="mjpeg")
    assert check(Declared(), None, real).thumbnail is MATCH
    assert check(Declared(), None, Probe(error="unknown_format")).thumbnail is UNKNOWN
    assert check(Declared(), None, Probe()).thumbnail is UNKNOWN


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Probe]:
    if not have_ffmpeg():
        pytest.skip("ffmpeg/ffprobe not installed")
    d = tmp_path_factory.mktemp("checks")
    return {
        "clip": probe(make_video(d / "clip.mp4", width=480, height=270, duration=6, audio=True)),
        "phone": probe(make_video(d / "phone.mp4", width=480, height=270, duration=2, rotate=90)),
        "tall": probe(make_video(d / "tall.mp4", width=270, height=480, duration=2)),
        "thumb": probe(make_image(d / "thumb.jpg", width=320, height=180), kind="thumbnail"),
    }


def test_real_clip_as_declared(media: dict[str, Probe]) -> None:
    declared = Declared(duration_s=6, width=480, height=270)
    assert check(declared, media["clip"], media["thumb"], thumbnail_size=(320, 180)) == \
        Checks(duration=MATCH, dimensions=MATCH, thumbnail=MATCH)


def test_real_clip_with_wrong_claims(media: dict[str, Probe]) -> None:
    declared = Declared(duration_s=10, width=640, height=360)
    assert check(declared, media["clip"], media["thumb"], thumbnail_size=(640, 360)) == \
        Checks(duration=MISMATCH, dimensions=MISMATCH, thumbnail=MISMATCH)


@pytest.mark.parametrize("name", ["tall", "phone"])
def test_portrait_declared_landscape_is_swapped(media: dict[str, Probe], name: str) -> None:
    declared = Declared(duration_s=2, width=480, height=270)
    result = check(declared, media[name], None)
    assert (result.duration, result.dimensions) == (MATCH, SWAPPED)
