"""RDFa VideoObject finder: the schema.org subset."""

from __future__ import annotations

from harvester.extract.rdfa import find_blobs
from harvester.records import Syntax

PAGE = """<div vocab="https://schema.org/" typeof="WebPage">
  <span property="name">Lesson</span>
  <video rel="video" typeof="https://schema.org/VideoObject">
    <source property="url" src="http://example.org/movie.mp4" type="video/mp4" />
    <span property="schema:name">Video Title</span>
    <span property="uploadDate">2000-01-01</span>
    <img property="thumbnailUrl" src="http://example.org/thumb.jpg" alt="" />
    Duration: <span property="duration" content="PT3M12S">03:12</span>
    <div property="author" typeof="Person"><span property="name">Ann</span></div>
  </video>
</div>"""


def test_schema_org_rdfa_video() -> None:
    [blob] = find_blobs(PAGE, "p")
    assert blob.syntax is Syntax.RDFA
    assert blob.data == {
        "@type": "VideoObject", "url": "http://example.org/movie.mp4", "name": "Video Title",
        "uploadDate": "2000-01-01", "thumbnailUrl": "http://example.org/thumb.jpg",
        "duration": "PT3M12S", "author": {"@type": "Person", "name": "Ann"},
    }
    assert PAGE[blob.offset:].startswith("<video")


def test_pages_without_an_rdfa_video_yield_nothing() -> None:
    assert list(find_blobs('<div typeof="Person"><b property="name">x</b></div>', "p")) == []
    assert list(find_blobs("<script>if (typeof VideoObject) {}</script>", "p")) == []


def test_node_in_a_comment_is_not_read_and_a_nested_video_has_its_own_blob() -> None:
    node = '<div typeof="VideoObject"><span property="name">{}</span>{}</div>'
    page = ("<!-- " + node.format("hidden", "") + " -->"
            + node.format("outer", node.format("inner", "")))
    outer, inner = find_blobs(page, "p")
    assert outer.data["name"] == "outer"
    assert inner.data == {"@type": "VideoObject", "name": "inner"}


def test_nodes_nested_thousands_deep_stop_at_the_budget() -> None:
    depth = 3000
    page = '<div typeof="VideoObject"><span property="name">x</span>' * depth + "</div>" * depth
    found = list(find_blobs(page, "p"))
    assert 0 < len(found) < depth
    assert found[0].data["name"] == "x"
