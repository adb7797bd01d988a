"""normalize(): every form of duration, date, size and URL that real pages write."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.extract.normalize import (
    absolute_url,
    normalize,
    parse_date,
    parse_dimension,
    parse_duration,
)
from harvester.records import Blob, Candidate, Declared, Syntax

BASE = "https://news.example/2025/story.html"


def cand(data: Any, partial: bool = False) -> Candidate:
    blob = Blob(page=BASE, syntax=Syntax.JSON_LD, offset=0, raw="")
    return Candidate(blob=blob, data=data, partial=partial)


# -- the texturized fixture's three objects, as repair hands them over ---------

TEXTURIZED = [
    {
        "@context": "https://schema.org", "@type": "VideoObject", "name": "Metro.co.uk",
        "duration": "T1M30S",
        "thumbnailUrl": "https://i.dailymail.co.uk/1s/2025/04/08/14/97042527-0-image-a-7_1744120683224.jpg",
        "uploadDate": "2025-04-08T14:59:27+0100″",
        "description": "Zelensky said Ukrainian forces caught two Chinese nationals.",
        "contentUrl": "https://videos.metro.co.uk/video/met/2025/04/08/8350744987245984723/"
                      "480x270_MP4_8350744987245984723.mp4″",
        "height": 270, "width": 480,
    },
    {
        "@context": "https://schema.org", "@type": "VideoObject", "name": "Metro.co.uk",
        "duration": "T32S",
        "thumbnailUrl": "https://i.dailymail.co.uk/1s/2025/04/03/11/96869909-0-image-a-146_1743674670701.jpg",
        "uploadDate": "2025-04-03T11:03:43+0100",
        "description": "Brutal ballistic missile hits.nnPictures show how Russia wreaked havoc.",
        "contentUrl": "https://videos.metro.co.uk/video/met/2025/04/03/2566267484713434011/"
                      "480x270_MP4_2566267484713434011.mp4",
        "height": 480, "width": 270,
    },
    {   # cut off at the end of the file: only what came before the cut
        "@context": "https://schema.org", "@type": "VideoObject", "name": "Metro.co.uk",
        "duration": "T46S",
        "thumbnailUrl": "https://i.dailymail.co.uk/1s/2025/03/05/14/95868773-0-image-a-4_1741184494193.jpg",
        "uploadDate": "2025-03-05T14:21:27+0000",
        "description": "A Russian court said James Scott Rhys Anderson, 22, has been jailed."
                       "nnInvestigators",
    },
]


def test_texturized_first_object() -> None:
    declared = normalize(cand(TEXTURIZED[0]), BASE)
    assert declared == Declared(
        name="Metro.co.uk",
        content_url="https://videos.metro.co.uk/video/met/2025/04/08/8350744987245984723/"
                    "480x270_MP4_8350744987245984723.mp4",
        embed_url=None,
        thumbnail_urls=("https://i.dailymail.co.uk/1s/2025/04/08/14/97042527-0-image-a-7_1744120683224.jpg",),
        duration_s=90.0, width=480, height=270, upload_date="2025-04-08T14:59:27+01:00",
    )


def test_texturized_second_and_partial_third() -> None:
    second = normalize(cand(TEXTURIZED[1]), None)
    assert (second.duration_s, second.width, second.height) == (32.0, 270, 480)
    assert second.upload_date == "2025-04-03T11:03:43+01:00"
    third = normalize(cand(TEXTURIZED[2], partial=True), None)
    assert third.duration_s == 46.0
    assert third.upload_date == "2025-03-05T14:21:27+00:00"
    assert third.content_url is None and third.width is None


# -- durations ----------------------------------------------------------------

@pytest.mark.parametrize(("value", "seconds"), [
    ("PT90S", 90), ("PT1M30.5S", 90.5), ("P0DT0H1M30S", 90), ("PT0H12M23S", 743),
    ("T1M30S", 90), ("t1m30s", 90), ("1:30", 90), ("01:02:03", 3723), ("90", 90), (90, 90),
    (90.25, 90.25), ("PT1M30S ", 90), ("  PT1M30S", 90), ("PT00H01M22S", 82), ("PT1M", 60),
    ("P0DT0H0M0S", 0), ("PT1M48.393S", 108.393), ("00:49", 49), ("P1DT0S", 86400),
    ("PT1M30S″", 90), ({"@value": "PT5S"}, 5), (["PT5S"], 5),
])
def test_duration_forms(value: Any, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [
    "PY0M0D0TH0M2S20", "PTH3M7S", "P1Y", "P1M", "P1YT1S", "-PT5S", -5, "PT", "P", "",
    "   ", None, True, False, "invalid", "x:y", "1:75", "P400D", 1e12, float("nan"),
    {"value": 3}, [1, 2], "PT1M30S" * 20,
])
def test_unreadable_durations_are_none(value: Any) -> None:
    assert parse_duration(value) is None


def _ytdlp_vectors(shared_dir: Path, name: str) -> list[dict[str, Any]]:
    path = shared_dir / "peer-cases" / "ytdlp" / "helper_vectors_test_utils.json"
    vectors: list[dict[str, Any]] = json.loads(path.read_text("utf-8"))["vectors"][name]
    return [v for v in vectors if "input" in v]


def test_ytdlp_parse_duration_vectors(shared_dir: Path) -> None:
    """yt-dlp's parse_duration vectors: all agree with ours."""
    vectors = _ytdlp_vectors(shared_dir, "test_parse_duration")
    assert len(vectors) > 30
    for vector in vectors:
        got = parse_duration(vector["input"])
        expected = vector["expected"]
        assert got == (None if expected is None else pytest.approx(expected)), vector


# -- dates --------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("2025-04-08T14:59:27+0100", "2025-04-08T14:59:27+01:00"),
    ("2025-04-08T14:59:27+0100″", "2025-04-08T14:59:27+01:00"),
    ("“2025-04-08T14:59:27+01:00”", "2025-04-08T14:59:27+01:00"),
    ("2025-04-08", "2025-04-08"),
    ("2022-07-26 10:51:36 -0400", "2022-07-26T10:51:36-04:00"),
    ("2018-07-02T14:30:41.987Z", "2018-07-02T14:30:41.987+00:00"),
    ("2016-11-29 23:07:00.000000", "2016-11-29T23:07:00"),
    ("2019-03-16T02:00:34", "2019-03-16T02:00:34"),       # naive stays naive
    ("2025-01-15GMT19:57+00:00", "2025-01-15T19:57:00+00:00"),
    ("Mon Sep 12 2016 16:44:06 GMT+0000 (UTC)", "2016-09-12T16:44:06+00:00"),
    ("Tue Apr 08 2025 14:59:27 GMT+0100 (British Summer Time)", "2025-04-08T14:59:27+01:00"),
    ("01/10/2017", "2017-01-10"),                         # '/' is read month-first (US)
    ("10/2/2014 7:31:18 PM", "2014-10-02T19:31:18"),
    ("28/01/2014 21:00:00 +0100", "2014-01-28T21:00:00+01:00"),
    ("27.02.2016 17:30", "2016-02-27T17:30:00"),          # '.' is read day-first
    ("03.04.2016", "2016-04-03"),
    ("Jun 16, 2023", "2023-06-16"),
    ("May 3, 2025, 1:50 p.m.", "2025-05-03T13:50:00"),
    ("2000/01/01", "2000-01-01"),
    ("11/26/2014 11:30:00 AM PST", "2014-11-26T11:30:00-08:00"),
    ("2025-04-08T14:59:27+01:00", "2025-04-08T14:59:27+01:00"),
    ({"@value": "2025-04-08"}, "2025-04-08"),
])
def test_date_forms(value: Any, expected: str) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", [
    "", "   ", "not set", "0000-00-00", "2025-13-01", "2025-02-30T10:00:00Z",
    "2015-09-29T08-27-31.727", "Jun 2023", "UNKNOWN DATE FORMAT", "12 Jan 2021 10:00 QQT",
    "2025-04-08T25:00:00Z", "2025-04-08T10:00:00+25:00", None, 20250408, ["a", "b"],
    "0001-01-01T00:00:00Z", "x" * 500,
])
def test_unreadable_dates_are_none(value: Any) -> None:
    assert parse_date(value) is None


def _timestamp(text: str) -> int:
    stamp = dt.datetime.fromisoformat(text)
    if stamp.tzinfo is None:  # yt-dlp reads a naive time as UTC
        stamp = stamp.replace(tzinfo=dt.UTC)
    return int(stamp.timestamp())


# Where yt-dlp and we read a value differently, on purpose.
YTDLP_DATE_DIVERGENCES = {
    "8/7/2009": "yt-dlp reads '/' day-first by default; US pages mean month-first",
    "2017-03-30T17:52:41Q": "a broken ISO 8601 value is refused, not guessed",
    "11/26/2014 11:30:00 AM PST": "yt-dlp drops the zone name; we read PST as -08:00",
    "wed, aug 16, 2008, 12:00pm": "yt-dlp reads 12:00pm as midnight; it is noon",
}


def test_ytdlp_date_vectors(shared_dir: Path) -> None:
    vectors = (_ytdlp_vectors(shared_dir, "test_parse_iso8601")
               + _ytdlp_vectors(shared_dir, "test_unified_timestamps"))
    checked = 0
    for vector in vectors:
        kwargs = vector.get("kwargs") or {}
        if vector["input"] in YTDLP_DATE_DIVERGENCES or kwargs.get("tz_offset", 0) not in (0, -5):
            continue
        got = parse_date(vector["input"])
        if vector["expected"] is None:
            assert got is None, vector
        else:
            assert got is not None and _timestamp(got) == vector["expected"], (vector, got)
        checked += 1
    assert checked >= 25


# -- dimensions ---------------------------------------------------------------

@pytest.mark.parametrize(("value", "pixels"), [
    (480, 480), ("480", 480), ("480px", 480), ("480 px", 480), (" 480PX ", 480),
    ({"value": 480}, 480), ({"@type": "QuantitativeValue", "value": "480"}, 480),
    ({"@type": "QuantitativeValue", "value": 480, "unitCode": "E37"}, 480),
    (480.6, 481), (479.5, 480), ("480.4", 480), ([720], 720),
])
def test_dimension_forms(value: Any, pixels: int) -> None:
    assert parse_dimension(value) == pixels


@pytest.mark.parametrize("value", [
    [{"@id": "#sso/qv-width-px-1280"}], {"@id": "#w"}, None, True, "", "auto", "100%",
    0, -480, "-480", float("inf"), 10**9, {"value": None}, [480, 720],
])
def test_unreadable_dimensions_are_none(value: Any) -> None:
    assert parse_dimension(value) is None


# -- URLs ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "base", "expected"), [
    ("https://cdn.example/v.mp4", None, "https://cdn.example/v.mp4"),
    ("//cdn.example/v.mp4", None, "https://cdn.example/v.mp4"),
    ("//cdn.example/v.mp4", "http://news.example/a", "http://cdn.example/v.mp4"),
    ("/v/1.mp4", BASE, "https://news.example/v/1.mp4"),
    ("1.mp4", BASE, "https://news.example/2025/1.mp4"),
    ("/v/1.mp4", None, None),                             # no base: a relative URL is dropped
    ("https://x.example/v?a=1&amp;b=2", None, "https://x.example/v?a=1&b=2"),
    ("https://x.example/v?a=1&amp;amp;b=2", None, "https://x.example/v?a=1&b=2"),
    ("https://x.example/v?a=1&copy=2", None, "https://x.example/v?a=1&copy=2"),
    ("  https://x.example/v.mp4\n", None, "https://x.example/v.mp4"),
    ("https://x.example/my video.mp4", None, "https://x.example/my%20video.mp4"),
    ("https://x.example/v.mp4″", None, "https://x.example/v.mp4"),
    ("HTTPS://x.example/v.mp4", None, "https://x.example/v.mp4"),
    ("javascript:alert(1)", BASE, None), ("data:video/mp4;base64,AAAA", BASE, None),
    ("ftp://x.example/v.mp4", None, None), ("mailto:a@x.example", BASE, None),
    ("", BASE, None), ("/", BASE, None), ("#", BASE, None), ("not set", BASE, None),
    ("http://[::1", None, None), ("https://", None, None),
])
def test_absolute_url(text: str, base: str | None, expected: str | None) -> None:
    assert absolute_url(text, base) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (["", "javascript:x", "https://a.example/v.mp4"], "https://a.example/v.mp4"),
    ({"@type": "MediaObject", "url": "https://a.example/v.mp4"}, "https://a.example/v.mp4"),
    ({"@id": "https://a.example/v.mp4"}, "https://a.example/v.mp4"),
    ({"@id": "#video"}, None), ({}, None), ([None], None), (42, None),
])
def test_content_url_shapes(value: Any, expected: str | None) -> None:
    assert normalize(cand({"contentUrl": value}), BASE).content_url == expected


def test_wrong_case_keys_are_fallbacks() -> None:
    data = {"contentURL": "https://a.example/v.mp4", "embedURL": "//a.example/e",
            "thumbnailURL": "https://a.example/t.jpg"}
    declared = normalize(cand(data), None)
    assert declared.content_url == "https://a.example/v.mp4"
    assert declared.embed_url == "https://a.example/e"
    assert declared.thumbnail_urls == ("https://a.example/t.jpg",)


def test_canonical_key_wins_over_wrong_case() -> None:
    data = {"contentUrl": "https://a.example/right.mp4", "contentURL": "https://a.example/wrong.mp4"}
    assert normalize(cand(data), None).content_url == "https://a.example/right.mp4"


def test_thumbnails_from_every_shape_deduped_in_order() -> None:
    data = {
        "thumbnailUrl": ["/t1.jpg", {"@type": "ImageObject", "url": "https://a.example/t2.jpg"},
                         {"contentUrl": "https://a.example/t3.jpg"}, "/t1.jpg", None, ""],
        "thumbnail": {"@type": "ImageObject", "url": "https://a.example/t2.jpg",
                      "@id": "#primaryimage"},
    }
    assert normalize(cand(data), BASE).thumbnail_urls == (
        "https://news.example/t1.jpg", "https://a.example/t2.jpg", "https://a.example/t3.jpg")
    single = normalize(cand({"thumbnailUrl": "t.jpg", "thumbnail": "//c.example/t4.jpg"}), BASE)
    assert single.thumbnail_urls == ("https://news.example/2025/t.jpg", "https://c.example/t4.jpg")


# -- names and robustness -----------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("  Tom &amp; Jerry ", "Tom & Jerry"), ("Caf&eacute;&nbsp;au lait", "Café au lait"),
    ("A &amp;amp; B", "A & B"), ("AT&T", "AT&T"), ("", None), ("   ", None), (None, None),
    (["", "Second"], "Second"), (42, None), ({"@value": "Named"}, "Named"),
    ("line\n  break", "line break"),
])
def test_name(value: Any, expected: str | None) -> None:
    assert normalize(cand({"name": value}), None).name == expected


@pytest.mark.parametrize("data", [
    [], "text", None, 42, {}, {1: 2, None: "x"}, {"thumbnailUrl": [[["deep"]]]},
    {"duration": {"nested": {"x": 1}}, "width": [[1]], "uploadDate": {"@value": 5}},
    {"thumbnailUrl": ["https://a.example/t.jpg"] * 100_000},
])
def test_never_raises(data: Any) -> None:
    declared = normalize(cand(data), BASE)
    assert isinstance(declared, Declared)


def test_non_http_base_is_ignored() -> None:
    declared = normalize(cand({"contentUrl": "v.mp4", "embedUrl": "//e.example/x"}),
                         "/home/user/page.html")
    assert declared.content_url is None
    assert declared.embed_url == "https://e.example/x"


_scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=60)
            | st.sampled_from(["PT1M", "T5S", "1:30", "2025-04-08", "//x.example/a", "480px",
                               "&amp;", "javascript:x", "P1Y2M", "Mon Sep 12 2016"]))
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["url", "@id", "@value", "value", "contentUrl"]), inner,
                      max_size=3),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(
    ["name", "contentUrl", "embedURL", "thumbnailUrl", "thumbnail", "duration", "width",
     "height", "uploadDate"]), _values, max_size=9), st.sampled_from([None, BASE]))
def test_any_value_normalizes_to_well_typed_fields(data: dict[str, Any], base: str | None) -> None:
    declared = normalize(cand(data), base)
    for url in (declared.content_url, declared.embed_url, *declared.thumbnail_urls):
        assert url is None or url.startswith(("http://", "https://"))
    assert declared.duration_s is None or 0 <= declared.duration_s <= 30 * 86400
    for size in (declared.width, declared.height):
        assert size is None or (isinstance(size, int) and size > 0)
    if declared.upload_date is not None:
        dt.datetime.fromisoformat(declared.upload_date)
    assert declared.name is None or declared.name == declared.name.strip() != ""


# Values as written on real pages of the shared page corpus, named after the page.
CORPUS_CASES = [
    ("gala-fr-bad-duration", {"duration": "T1M02S"}, "duration_s", 62.0),
    ("yahoo-gma-bad-duration", {"duration": "PY0M0D0TH0M2S20"}, "duration_s", None),
    ("recipe-comidinhas-bad-duration", {"duration": "PTH3M7S"}, "duration_s", None),
    ("ktla-p0d-duration", {"duration": "P0DT0H3M15S"}, "duration_s", 195.0),
    ("recipe-leckerschmecker-gmt-date", {"uploadDate": "2025-01-15GMT19:57+00:00"},
     "upload_date", "2025-01-15T19:57:00+00:00"),
    ("recipe-leckerschmecker-gmt-date", {"name": "10 Küchentricks &amp; Food Hacks"},
     "name", "10 Küchentricks & Food Hacks"),
    ("recipe-journaldesfemmes-entity", {"name": "Tarte &agrave; la rhubarbe&nbsp;: la recette"},
     "name", "Tarte à la rhubarbe : la recette"),
    ("nbcnews-kenosha", {"uploadDate": "Mon Aug 24 2020 22:37:29 GMT+0000 (UTC)"},
     "upload_date", "2020-08-24T22:37:29+00:00"),
    ("recipe-maangchi-id-dims", {"width": [{"@id": "#sso/qv-width-px-1280"}]}, "width", None),
    ("channel4-width-strings", {"width": "1280"}, "width", 1280),
    ("libero-lowercase-type", {"contentUrl": "//video.libero.example/v.mp4"}, "content_url",
     "https://video.libero.example/v.mp4"),
    ("mein-schoener-garten-empty-obj", {"contentUrl": {}}, "content_url", None),
    ("mein-schoener-garten-empty-obj", {"embedUrl": "//www.youtube.com/embed/x"}, "embed_url",
     "https://www.youtube.com/embed/x"),
    ("recipe-tasteofhome-empty-date", {"uploadDate": ""}, "upload_date", None),
    ("recipe-cookwell-null-thumb", {"thumbnailUrl": [None]}, "thumbnail_urls", ()),
    ("recipe-eattolerant-empty-thumb", {"thumbnailUrl": ""}, "thumbnail_urls", ()),
    ("recipe-bigoven-placeholder", {"contentUrl": "/"}, "content_url", None),
    ("recipe-bigoven-placeholder", {"uploadDate": "not set"}, "upload_date", None),
    ("cnn-royal-thumbnailURL", {"thumbnailURL": "https://cdn.cnn.example/t.jpg"},
     "thumbnail_urls", ("https://cdn.cnn.example/t.jpg",)),
    ("newsweek-amp-in-url", {"thumbnailUrl": "https://d.example/a.jpg?w=790&amp;f=x"},
     "thumbnail_urls", ("https://d.example/a.jpg?w=790&f=x",)),
    ("recipe-pickuplimes-date", {"uploadDate": "2016-11-29 23:07:00.000000"}, "upload_date",
     "2016-11-29T23:07:00"),
    ("bettycrocker-us-date", {"uploadDate": "01/10/2017"}, "upload_date", "2017-01-10"),
    ("usatoday-ebola-microdata", {"uploadDate": "10/2/2014 7:31:18 PM"}, "upload_date",
     "2014-10-02T19:31:18"),
    ("recipe-bongeats-text-date", {"uploadDate": "May 3, 2025, 1:50 p.m."}, "upload_date",
     "2025-05-03T13:50:00"),
]


@pytest.mark.parametrize(("page", "data", "field", "expected"), CORPUS_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CORPUS_CASES])
def test_corpus_cases(page: str, data: dict[str, Any], field: str, expected: Any) -> None:
    assert getattr(normalize(cand(data), BASE), field) == expected


@pytest.mark.parametrize("text", ["Jan 05 2021 21:36:30 +2500", "5 January 2021 10:00 GMT+2500"])
def test_a_zone_offset_of_a_day_or_more_is_unreadable_not_an_error(text: str) -> None:
    assert parse_date(text) is None


DATE_PIECES = ["2021", "1999", "0000", "05", "31", "99", "Jan", "May", "Tue", " ", ":", "-", "+",
               "/", ".", "T", "Z", "GMT", "UTC", "+2500", "-1200", "+0099", "pm", "(", ")", ","]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(DATE_PIECES), max_size=12).map("".join))
def test_date_parsing_never_raises(text: str) -> None:
    found = parse_date(text)
    assert found is None or found[:4].isdigit()


def test_plain_property_names_are_no_two_alike_once_folded() -> None:
    from harvester.extract.normalize import _PLAIN_KEYS

    folded = [key.lower().replace("_", "") for key in _PLAIN_KEYS]
    assert len(set(folded)) == len(folded)


URL_PIECES = ["http", "https", "HTTPS", "://", "//", "/", "example.org", "a-b.c", ":8080", ":",
              "?", "#", "?#", "&amp;", "&", "%20", " ", "\t", "\n", "“", "'", "\"", "@", "[", "]",
              "v.mp4", "é", "\u00a0", "=", "x"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(URL_PIECES), max_size=10).map("".join),
       st.sampled_from([None, "https://example.org/a/"]))
def test_a_url_read_without_parsing_reads_as_a_parse_would(text: str, base: str | None) -> None:
    from harvester.extract.normalize import _absolute_url

    assert absolute_url(text, base) == _absolute_url.__wrapped__(text, base)
    assert absolute_url("https://" + text, base) == _absolute_url.__wrapped__(
        "https://" + text, base)


_DATE_WORDS = st.sampled_from([
    "Mon", "Tue", "Jan", "June", "Sep", "2016", "1999", "12", "05", "3", "31", "16:44:06",
    "1:50", "pm", "PM", "a.m.", "GMT", "UTC", "CEST", "XYZT", "+0000", "-0530", "+2500",
    "T", "Z", ",", "/", "-", ".", "of", "the", "99999999999999999999", "24:00", "0",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_DATE_WORDS, min_size=1, max_size=7), st.sampled_from([" ", "", "/"]),
       st.booleans(), st.booleans())
def test_a_loose_date_is_read_once_as_parse_reads_it_twice(
        words: list[str], glue: str, dayfirst: bool, yearfirst: bool) -> None:
    from harvester.extract.dates import _parsed_twice, _readings

    text = glue.join(words)
    once, twice = _readings(text, dayfirst, yearfirst), _parsed_twice(text, dayfirst, yearfirst)
    assert once == twice
    # Equal datetimes may still differ in their zone: compare the zones too.
    assert [(r.replace(tzinfo=None), repr(r.tzinfo)) for r in once or ()] == [
        (r.replace(tzinfo=None), repr(r.tzinfo)) for r in twice or ()]


def test_a_changed_private_parse_step_falls_back_to_parse(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from harvester.extract import dates

    assert dates._READ_ONCE_WORKS  # the installed dateutil's steps answer as parse() does

    def changed(text: str, **kwargs: object) -> None:
        raise TypeError("a signature of another release")

    monkeypatch.setattr(dates, "_READ", changed)
    assert not dates._read_once_works()
    monkeypatch.setattr(dates, "_READ_ONCE_WORKS", False)
    assert dates.read_date.__wrapped__("March 5, 2024 10:30 PM") == "2024-03-05T22:30:00"


@pytest.mark.parametrize("text", ["1:509999999999999999999999999999",
                                  "1:50 99999999999999999999 99999999999999999999"])
def test_a_date_with_a_number_too_large_is_unreadable_not_an_error(text: str) -> None:
    # dateutil reads seconds as a Decimal: a huge one raised decimal.InvalidOperation,
    # which cost the whole page its records.
    from harvester.extract import extract
    from harvester.extract.dates import read_date

    assert read_date.__wrapped__(text) is None
    page = ('<script type="application/ld+json">{"@type": "VideoObject", "name": "x", '
            f'"uploadDate": "{text}"}}</script>')
    (video,) = extract(page, "https://example.org/a")
    assert video.declared.upload_date is None
    assert any("uploadDate" in f.pointer for f in video.validation.errors)
