"""Open Graph finder: og:video groups mapped to VideoObject fields."""

from __future__ import annotations

from harvester.extract.opengraph import find_blobs
from harvester.records import Syntax


def _page(*tags: str, body: str = "") -> str:
    return "<html><head>" + "\n".join(tags) + "</head><body>" + body + "</body></html>"


TITLE = '<meta property="og:title" content="Clip &amp;amp; more">'
IMAGE = '<meta property="og:image" content="https://x/t.jpg">'


def test_group_maps_to_videoobject_fields() -> None:
    page = _page(
        TITLE, IMAGE, '<meta property="og:image" content="https://x/second.jpg">',
        '<meta property="og:video" content="https://x/v.mp4">',
        '<meta property="og:video:width" content="640">',
        '<meta property="og:video:height" content="360">',
        '<meta property="og:video:type" content="video/mp4">',
        '<meta property="video:duration" content="88">',
        '<meta property="video:release_date" content="2020-01-02">',
    )
    [blob] = find_blobs(page, "p")
    assert blob.syntax is Syntax.OPENGRAPH
    assert blob.data == {
        "@type": "VideoObject", "name": "Clip &amp; more", "contentUrl": "https://x/v.mp4",
        "thumbnailUrl": "https://x/t.jpg", "duration": "88", "uploadDate": "2020-01-02",
        "width": "640", "height": "360", "encodingFormat": "video/mp4",
    }
    assert page[blob.offset:].startswith('<meta property="og:video"')
    assert "og:video:width" in blob.raw


def test_structured_properties_before_the_root_and_repeated_roots() -> None:
    page = _page(
        '<meta property="og:video:width" content="1280">',
        '<meta property="og:video:url" content="https://x/embed/1">',
        '<meta property="og:video" content="https://x/embed/1">',
        '<meta property="og:video:secure_url" content="https://x/embed/1">',
        '<meta property="og:video" content="https://x/watch/1">',
        '<meta property="og:video:height" content="720">',
    )
    first, second = find_blobs(page, "p")
    assert first.data["contentUrl"] == "https://x/embed/1"
    assert first.data["width"] == "1280"
    assert "height" not in first.data
    assert second.data["contentUrl"] == "https://x/watch/1"
    assert second.data["height"] == "720"


def test_name_value_form_and_tags_in_body() -> None:
    page = _page(TITLE, body='<meta name="og:video" value="https://x/v.m3u8">')
    [blob] = find_blobs(page, "p")
    assert blob.data["contentUrl"] == "https://x/v.m3u8"


def test_secure_url_only_when_no_other_root() -> None:
    page = _page('<meta property="og:video:secure_url" content="https://x/p.mp4">')
    [blob] = find_blobs(page, "p")
    assert blob.data["contentUrl"] == "https://x/p.mp4"


def test_empty_og_video_and_pages_without_one_yield_nothing() -> None:
    empty = _page('<meta property="og:video" content="">', '<meta property="og:video:url">',
                  '<meta property="og:video:type" content="video/mp4">')
    assert list(find_blobs(empty, "p")) == []
    assert list(find_blobs(_page(TITLE, IMAGE), "p")) == []
    assert list(find_blobs("", "p")) == []


def test_a_group_in_the_body_is_read_from_its_run_of_meta_tags() -> None:
    page = ('<html><head><meta property="og:title" content="T"></head><body>'
            + "<p>text</p>" * 3000
            + '<div><meta property="og:video" content="https://x.org/v.mp4">\n'
              '<meta property="og:video:width" content="640">'
              '<meta property="og:video:height" content="360"></div>'
            + "<p>more</p>" * 7000  # past HEAD_READ_PAST
            + '<meta property="og:image" content="https://x.org/far.jpg">'
              '<p>x</p><meta property="og:video:type" content="video/mp4"></body></html>')
    [blob] = find_blobs(page, "p")
    assert blob.data == {
        "@type": "VideoObject", "name": "T", "contentUrl": "https://x.org/v.mp4",
        "width": "640", "height": "360", "encodingFormat": "video/mp4",
    }  # og:video tags count anywhere; a page-level tag far from them in the body does not


def test_a_page_without_a_body_tag_is_read_whole() -> None:
    page = ('<meta property="og:title" content="T"><p>x</p>'
            '<meta property="og:video" content="https://x.org/v.mp4">')
    [blob] = find_blobs(page, "p")
    assert blob.data["name"] == "T"


def test_a_head_that_runs_on_is_read_only_near_its_og_tags() -> None:
    from harvester.extract.opengraph import HEAD_READ_PAST

    page = ('<html><head><meta property="og:video" content="https://x.org/v.mp4">'
            '<meta property="og:title" content="near">'
            + "<script>var x = 1;</script>" * (HEAD_READ_PAST // 20)
            + '<meta property="og:image" content="https://x.org/far.jpg"></head><body></body>')
    [blob] = find_blobs(page, "p")
    assert blob.data["name"] == "near" and "thumbnailUrl" not in blob.data


def test_a_meta_run_is_found_from_a_tag_in_its_middle_and_text_is_no_run() -> None:
    from harvester.extract.opengraph import _meta_run_around

    run = ('<meta property="og:video:width" content="1">\n  <meta property="og:video" '
           'content="v">  <meta property="og:video:height" content="2">')
    page = "<p>og:video in text</p><div>" + run + "</div>"
    at = page.index('og:video" ')
    start, end = _meta_run_around(page, at, 0) or (0, 0)
    assert page[start:end].strip() == run
    assert _meta_run_around(page, page.index("og:video in"), 0) is None
