"""What one page can make the manifest hold: records reference rather than copy, and
per-page caps end in named findings, so output stays a small multiple of the page."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.extract import budget, extract
from harvester.store.serial import video_to_dict

NESTED_MD = ('<div itemprop="hasPart" itemscope itemtype="http://schema.org/VideoObject">'
             '<meta itemprop="name" content="v">')


def nested_microdata(size: int) -> str:
    """Microdata videos each nested in the one before, as properties."""
    k = size // len(NESTED_MD)
    return ('<div itemscope itemtype="http://schema.org/VideoObject">' + NESTED_MD * k
            + "</div>" * (k + 1))


def nested_jsonld(size: int, depth: int = 90) -> str:
    """Chains of VideoObjects, each the ``video`` of the one before, in one script."""
    unit = '{"@type":"VideoObject","name":"v","video":'
    chain = unit * depth + "1" + "}" * depth
    return ('<script type="application/ld+json">['
            + ",".join([chain] * max(1, size // len(chain))) + "]</script>")


def manifest_bytes(page: str) -> int:
    videos = extract(page.encode(), "https://e.org/")
    return sum(len(json.dumps(video_to_dict(v))) for v in videos)


def test_a_nested_video_keeps_its_own_node_as_raw() -> None:
    items = ",".join(f'{{"@type": "ListItem", "item": {{"@type": "VideoObject", "name": "v{i}"}}}}'
                     for i in range(3))
    page = ('<script type="application/ld+json">{"@type": "ItemList", "itemListElement": ['
            + items + "]}</script>")
    videos = extract(page, "https://e.org/")
    assert [v.pointer for v in videos] == [f"/itemListElement/{i}/item" for i in range(3)]
    assert [json.loads(v.raw) for v in videos] == [dict(v.data) for v in videos]
    top = extract('<script type="application/ld+json"> {"@type": "VideoObject"} </script>', "e")
    assert top[0].raw == ' {"@type": "VideoObject"} '  # a top-level blob: as found


def test_a_microdata_video_nested_as_a_property_is_one_record() -> None:
    page = nested_microdata(len(NESTED_MD) * 3)
    videos = extract(page, "https://e.org/")
    assert len(videos) == 4
    assert videos[0].data["hasPart"]["@type"] == "VideoObject"  # still in its parent's data


def test_a_20_kb_page_of_nested_microdata_videos_stays_small() -> None:
    page = nested_microdata(20_000)
    assert manifest_bytes(page) <= 20 * len(page)


def test_nested_jsonld_chains_are_referenced_once_the_budget_is_spent() -> None:
    page = nested_jsonld(200_000)
    videos = extract(page, "https://e.org/")
    # 42 characters a video: more videos than the page may have records.
    assert len(videos) == len(page) // budget.CHARS_PER_VIDEO < page.count("VideoObject")
    assert videos[-1].validation.warnings[-1].message.startswith("too_many_videos:")
    cut = [v for v in videos if any(w.message.startswith("raw_truncated:")
                                    for w in v.validation.warnings)]
    assert cut and cut[0].data["video"] == {"@type": "VideoObject", "@ref": "/video"}
    assert all(len(v.raw) < 200 for v in cut)


def test_a_page_has_at_most_its_cap_of_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "MAX_VIDEOS", 40)
    page = "".join(f'<script type="application/ld+json">{{"@type": "VideoObject", "name": "{i}"}}'
                   "</script>" for i in range(100))
    videos = extract(page, "https://e.org/")
    assert len(videos) == 40
    assert videos[-1].validation.warnings[-1].message.startswith("too_many_videos:")


CHILD = textwrap.dedent("""
    import json, resource, sys
    from harvester.extract import extract
    from harvester.store.serial import video_to_dict
    from tests.test_output_bounds import nested_jsonld, nested_microdata
    page = (nested_jsonld if sys.argv[1] == "jsonld" else nested_microdata)(int(sys.argv[2]))
    body = page.encode()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    videos = extract(body, "https://e.org/")
    size = sum(len(json.dumps(video_to_dict(v))) for v in videos)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"page": len(body), "manifest": size, "rss_kb": after - before}))
""")


@pytest.mark.parametrize(("shape", "size"), [("microdata", 20_000), ("jsonld", 2_000_000)])
def test_manifest_and_memory_of_hostile_nesting(shape: str, size: int) -> None:
    out = subprocess.run([sys.executable, "-c", CHILD, shape, str(size)], capture_output=True,
                         text=True, timeout=120, check=True)
    got = json.loads(out.stdout)
    assert got["manifest"] <= 20 * got["page"], got
    assert got["rss_kb"] <= 100 * 1024, got


WRAPPER = textwrap.dedent("""
    import resource, subprocess, sys
    subprocess.run([sys.executable, "-m", "harvester", "harvest", sys.argv[1], "-o", sys.argv[2],
                    "-q"], check=True)
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
""")


def _harvest_peak_kb(page: Path, out: Path) -> int:
    proc = subprocess.run([sys.executable, "-c", WRAPPER, str(page), str(out)],
                          capture_output=True, text=True, timeout=120, check=True)
    return int(proc.stdout.strip())


def test_a_run_over_a_2_mb_nested_page_writes_a_small_manifest_in_little_memory(
        tmp_path: Path) -> None:
    tiny, page = tmp_path / "tiny.html", tmp_path / "nested.html"
    tiny.write_text("<p>nothing here</p>")
    page.write_text(nested_jsonld(2_000_000))
    baseline = _harvest_peak_kb(tiny, tmp_path / "tiny.json")
    peak = _harvest_peak_kb(page, tmp_path / "nested.json")
    assert (tmp_path / "nested.json").stat().st_size <= 20 * page.stat().st_size
    assert peak - baseline <= 100 * 1024, (baseline, peak)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.none() | st.booleans() | st.integers()
                       | st.floats(allow_nan=False) | st.text(max_size=20), max_size=8),
       st.integers(min_value=0, max_value=400))
def test_a_flat_node_is_sized_as_the_general_walk_sizes_it(node: dict[str, Any],
                                                           limit: int) -> None:
    from harvester.extract.budget import _nested_size, written_size

    # Past the limit the walk stops early: only "more than the limit" must agree.
    full = written_size(node, limit)
    walked = _nested_size(node, limit)
    assert full == walked or (full > limit and walked > limit)
    assert written_size(node, 10**9) == _nested_size(node, 10**9)


def _walked_size(value: Any, limit: int) -> int:
    """The size as a plain walk counts it, one node at a time off a stack."""
    total = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack and total <= limit:
        node, depth = stack.pop()
        if isinstance(node, dict):
            total += 2 + len(node) * (2 * depth + 4)
            for key, item in node.items():
                total += len(str(key))
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            total += 2 + len(node) * (2 * depth + 2)
            stack.extend((item, depth + 1) for item in node)
        else:
            total += len(node) + 2 if isinstance(node, str) else 8
    return total


_NESTED = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_NESTED, st.integers(min_value=0, max_value=600))
def test_a_nested_node_is_sized_as_a_walk_of_every_node_sizes_it(node: Any, limit: int) -> None:
    from harvester.extract.budget import written_size

    # Past the limit either walk may stop early: only "more than the limit" must agree.
    sized, walked = written_size(node, limit), _walked_size(node, limit)
    assert sized == walked or (sized > limit and walked > limit)
    assert written_size(node, 10**9) == _walked_size(node, 10**9)
