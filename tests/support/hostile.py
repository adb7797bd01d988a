"""Adversarial page shapes, each made to any size, for the complexity tests and
``scripts/bench_hostile.py``.

Each shape repeats or stretches one hostile construct until the page reaches
the size asked for: unclosed tags, long attributes, repeated markers, deep
nesting, nested items, many ``og:video`` tags, long JSON strings.  Extraction
time must grow linearly with the size (doubling the page at most about
doubles the time).
"""

from __future__ import annotations

from collections.abc import Callable

VIDEO = "http://schema.org/VideoObject"


def _repeat(unit: str, size: int, head: str = "", tail: str = "") -> str:
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def _nested(opening: str, closing: str, size: int, head: str = "", tail: str = "") -> str:
    count = max(1, (size - len(head) - len(tail)) // (len(opening) + len(closing)))
    return head + opening * count + closing * count + tail


SHAPES: dict[str, Callable[[int], str]] = {
    # unclosed tags
    "unclosed_script_tags": lambda n: _repeat("<script VideoObject ", n),
    "unclosed_ld_json_scripts": lambda n: _repeat(
        '<script type="application/ld+json">{"@type":"VideoObject","name":"a"} ', n),
    "unclosed_plain_script": lambda n: _repeat("VideoObject ", n, head="<script>"),
    "unclosed_comment": lambda n: _repeat("VideoObject ", n, head="<!--"),
    "unclosed_item_tags": lambda n: _repeat(f'<div itemscope itemtype="{VIDEO}" ', n),
    # long attributes
    "long_og_video_content": lambda n: '<meta property="og:video" content="' + "A" * n + '">',
    "long_attribute_of_markers": lambda n: _repeat("VideoObject og:video ", n,
                                                   head='<div title="', tail='">'),
    "long_unclosed_attribute": lambda n: _repeat('og:video "', n, head="<meta content="),
    # repeated markers
    "repeated_markers": lambda n: _repeat("VideoObject ", n),
    "repeated_text_blob_starts": lambda n: _repeat(
        "<p>{“@type”:“VideoObject”,“name”:“x ", n),
    "repeated_item_types": lambda n: _repeat(f'<span itemtype="{VIDEO}">', n),
    # deep nesting
    "deep_json": lambda n: _nested('{"@type":"VideoObject","a":', "}", n,
                                   head='<script type="application/ld+json">',
                                   tail="</script>"),
    "deep_json_lists": lambda n: _nested("[", "]", n,
                                         head='<script type="application/ld+json">'
                                              '{"@type":"VideoObject","a":',
                                         tail="}</script>"),
    "deep_html_in_item": lambda n: _nested("<div><span>", "</span></div>", n,
                                           head=f'<div itemscope itemtype="{VIDEO}">',
                                           tail="</div>"),
    # nested items
    "nested_microdata_videos": lambda n: _nested(
        f'<div itemprop="hasPart" itemscope itemtype="{VIDEO}"><meta itemprop="name" '
        'content="v">', "</div>", n, head=f'<div itemscope itemtype="{VIDEO}">',
        tail="</div>"),
    "nested_rdfa_videos": lambda n: _nested(
        '<div property="hasPart" typeof="VideoObject"><span property="name">v</span>',
        "</div>", n, head='<div vocab="http://schema.org/" typeof="VideoObject">',
        tail="</div>"),
    "nested_jsonld_videos": lambda n: _nested('{"@type":"VideoObject","name":"v","video":', "}",
                                              n, head='<script type="application/ld+json">',
                                              tail="</script>"),
    # many og:videos
    "many_og_videos": lambda n: _repeat(
        '<meta property="og:video" content="https://e.org/v.mp4">'
        '<meta property="og:video:width" content="640">', n),
    # long JSON strings
    "long_json_string": lambda n: ('<script type="application/ld+json">{"@type":"VideoObject",'
                                   '"name":"' + "a" * n + '"}</script>'),
    "long_escaped_json_string": lambda n: _repeat(
        "\\\\\\\"", n, head='<script type="application/ld+json">{"@type":"VideoObject",'
                            '"name":"', tail='"}</script>'),
    "long_text_blob_string": lambda n: '<p>{"@type":"VideoObject","name":"' + "a" * n + '"}</p>',
    "long_unterminated_json_string": lambda n: (
        '<script type="application/ld+json">{"@type":"VideoObject","name":"' + "a" * n),
    # quotes inside strings, told apart by structure; damage skipped by salvage
    "inner_quotes_in_script": lambda n: _repeat(
        'say "hi", "no": ', n, head='<script type="application/ld+json">{"@type":"VideoObject",'
                                    '"description":"', tail='"}</script>'),
    "inner_quotes_texturized": lambda n: _repeat(
        "“a”, “b”:   ", n, head="<p>{“@type”:”VideoObject”,”description”:”", tail="”}</p>"),
    "inner_quotes_unclosed": lambda n: _repeat(
        '"  ,  "', n, head='<p>{"@type":"VideoObject","description":"'),
    "salvage_repeated_damage": lambda n: _repeat(
        '"a":[1},', n, head='<script type="application/ld+json">{"@type":"VideoObject",',
        tail='"contentUrl":"https://e.org/v.mp4"}</script>'),
    "long_gap_in_text_blob": lambda n: _repeat(
        "\n", n, head='<p>{"@type":"VideoObject","name":"v",', tail='"width":1}</p>'),
    "long_paragraph_gap_in_text_blob": lambda n: _repeat(
        "</p><p>", n, head='<p>{"@type":"VideoObject","name":"v",', tail='"width":1}</p>'),
    "salvage_nested_damage": lambda n: _nested(
        '{"@type":"VideoObject","x":[1},"v":', "}", n,
        head='<script type="application/ld+json">', tail="</script>"),
}
