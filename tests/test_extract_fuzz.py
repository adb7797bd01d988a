"""Property tests: no page, however broken, makes extraction raise.

Random text and mutations of the golden samples (truncated, characters
deleted or inserted, quotes swapped for their typographic or entity forms)
go through ``harvester.extract.candidates`` and ``extract``, and random
blobs through ``repair``.  Runs are bounded (200 examples, no deadline).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester.extract import candidates, extract
from harvester.extract.nodes import video_nodes
from harvester.extract.repair import repair
from harvester.records import Blob, Syntax

SAMPLES = Path(__file__).parent / "samples"
PAGES = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.iterdir())
         if p.suffix in (".html", ".txt")]
QUOTES = ['"', "“", "”", "″", "'", "&quot;", "&#8220;", "&#8221;", "\\", "{", "}", "[", "]",
          ",", ":", "<br />", "</script>", "<!--", "-->", "\n", "\x00", "VideoObject"]
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated_page(draw: st.DrawFn) -> str:
    page = draw(st.sampled_from(PAGES))
    for _ in range(draw(st.integers(0, 6))):
        if not page:
            break
        at = draw(st.integers(0, len(page)))
        action = draw(st.sampled_from(["truncate", "delete", "insert", "swap"]))
        if action == "truncate":
            page = page[:at]
        elif action == "delete":
            page = page[:at] + page[at + draw(st.integers(1, 40)):]
        elif action == "insert":
            token = draw(st.one_of(st.sampled_from(QUOTES), st.text(max_size=8)))
            page = page[:at] + token + page[at:]
        else:
            old, new = draw(st.sampled_from(QUOTES)), draw(st.sampled_from(QUOTES))
            page = page.replace(old, new, draw(st.integers(1, 50)))
    return page


def _run(page: str) -> None:
    cands = list(candidates(page, "p"))
    for cand in cands:
        assert isinstance(cand.data, dict)
        assert cand.pointer == "" or cand.pointer.startswith("/")
    videos = extract(page, "https://example.org/a")
    assert len(videos) == len(cands)


@FUZZ
@given(mutated_page())
def test_mutated_samples_never_raise(page: str) -> None:
    _run(page)


@FUZZ
@given(st.lists(st.sampled_from(QUOTES + list("abc 09.@-/Tt")), max_size=200).map("".join))
def test_random_pages_never_raise(page: str) -> None:
    _run(page)


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(body: bytes) -> None:
    extract(body, None, content_type="text/html")


@FUZZ
@given(raw=st.lists(st.sampled_from(QUOTES + list("ab1 -.@")), max_size=150).map("".join),
       syntax=st.sampled_from([Syntax.JSON_LD, Syntax.TEXT]))
def test_random_blobs_repair_without_raising(raw: str, syntax: Syntax) -> None:
    parsed = repair(Blob(page="p", syntax=syntax, offset=0, raw=raw))
    assert (parsed.value is None) or parsed.error is None
    list(video_nodes(parsed))


MARKUP = ["<", ">", "</", "/>", "<div", "<script", "</script>", "<!--", "-->", " itemscope",
          ' itemtype="https://schema.org/VideoObject"', ' typeof="VideoObject"',
          ' itemprop="name"', ' property="name"', ' content="n"', "<meta", "<body",
          ' property="og:video"', "\x00", "\ud800", "ä", "{", "x"]


@FUZZ
@given(st.lists(st.sampled_from(MARKUP), max_size=60).map("".join))
def test_random_attribute_markup_never_raises(page: str) -> None:
    _run(page)


# Seconds extraction may take per megabyte of a mutated page (plus a fixed allowance):
# hostile or not, extraction is linear in the page's size.
SECONDS_PER_MB = 2.0
FIXED_ALLOWANCE = 0.25
BUNDLED = Path(__file__).parent.parent / "harvester" / "samples" / "pages"
BASES = PAGES + [p.read_text(encoding="utf-8", errors="replace")
                 for p in sorted(BUNDLED.glob("*.html"))]
HOSTILE = QUOTES + MARKUP + ["VideoObject ", "og:video ", "<script ", '<script type="application/'
                             'ld+json">', "{\"@type\":\"VideoObject\",", "[", "<div><span>"]


@st.composite
def grown_page(draw: st.DrawFn) -> str:
    """A corpus-like page with a hostile token or slice repeated many times in it."""
    page = draw(st.sampled_from(BASES))
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(page)))
        if draw(st.booleans()):
            unit = draw(st.sampled_from(HOSTILE))
        else:
            start = draw(st.integers(0, max(0, len(page) - 1)))
            unit = page[start:start + draw(st.integers(1, 200))]
        # Up to about 200 KB of the unit, most often near the top of the range.
        most = 200_000 // max(1, len(unit)) + 1
        times = draw(st.integers(most // 4, most))
        page = page[:at] + unit * times + page[at:]
    return page


@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # pages are large
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(grown_page())
def test_grown_hostile_pages_stay_within_a_time_budget_per_mb(page: str) -> None:
    body = page.encode("utf-8", "surrogatepass")
    budget = FIXED_ALLOWANCE + SECONDS_PER_MB * len(body) / 1e6
    took = _fastest_extract(body, budget)
    assert took <= budget, (len(body), took)


def _fastest_extract(body: bytes, budget: float, tries: int = 3) -> float:
    """The shortest of up to ``tries`` timings: a busy machine may pause one run, but a
    super-linear extraction is slow every time."""
    best = float("inf")
    for _ in range(tries):
        started = time.perf_counter()
        extract(body, "https://example.org/a", content_type="text/html; charset=utf-8")
        best = min(best, time.perf_counter() - started)
        if best <= budget:
            break
    return best
