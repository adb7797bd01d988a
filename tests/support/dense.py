"""Pages dense with videos, for the extraction benchmarks and tests: many ld+json
scripts, one ItemList of many videos, many microdata items.  Every video carries
the fields a real one does (name, description, content and thumbnail URLs, date,
duration), so each is valid and distinct."""

from __future__ import annotations

from collections.abc import Callable


def video_json(i: int) -> str:
    """One VideoObject as JSON, distinct by ``i``."""
    return (f'{{"@type":"VideoObject","name":"Video {i}","description":"Clip number {i} of '
            f'the day","contentUrl":"https://example.org/v/{i}.mp4","thumbnailUrl":'
            f'"https://example.org/t/{i}.jpg","uploadDate":"2024-05-01T10:00:00+00:00",'
            f'"duration":"PT1M{i % 60}S"}}')


def ld_json_scripts(count: int) -> str:
    """``count`` ld+json scripts, one video each."""
    return ("<html><body>" + "".join(
        f'<script type="application/ld+json">{video_json(i)}</script>' for i in range(count))
        + "</body></html>")


def item_list(count: int) -> str:
    """One ld+json ItemList of ``count`` videos."""
    items = ",".join(f'{{"@type":"ListItem","position":{i + 1},"item":{video_json(i)}}}'
                     for i in range(count))
    return ('<html><body><script type="application/ld+json">{"@context":"https://schema.org",'
            f'"@type":"ItemList","itemListElement":[{items}]}}</script></body></html>')


def microdata_items(count: int) -> str:
    """``count`` microdata VideoObject items."""
    return "<html><body>" + "".join(
        '<div itemscope itemtype="https://schema.org/VideoObject"><span itemprop="name">Video '
        f'{i}</span><meta itemprop="description" content="Clip number {i} of the day">'
        f'<link itemprop="contentUrl" href="https://example.org/v/{i}.mp4">'
        f'<link itemprop="thumbnailUrl" href="https://example.org/t/{i}.jpg">'
        '<meta itemprop="uploadDate" content="2024-05-01T10:00:00+00:00">'
        f'<meta itemprop="duration" content="PT1M{i % 60}S"></div>' for i in range(count)) + (
        "</body></html>")


DENSE: dict[str, Callable[[int], str]] = {
    "ld+json scripts": ld_json_scripts,
    "ItemList": item_list,
    "microdata items": microdata_items,
}
