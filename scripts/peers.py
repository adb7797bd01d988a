"""yt-dlp and extruct as finders for the evaluation, in the evaluation's terms.

Each finder returns ``(syntax, data)`` pairs shaped like a VideoObject so that
``scripts/evaluate.py --tool`` scores the peers exactly as it scores
harvester.  The peers are used as a downstream user would use them:

- yt-dlp: ``InfoExtractor._search_json_ld(html, None, fatal=False)``, which
  returns at most one video per page; its normalised fields are mapped back
  (title → name, url → contentUrl, first thumbnail → thumbnailUrl).
- extruct: ``extruct.extract(html, syntaxes=[json-ld, microdata, opengraph,
  rdfa], errors="ignore")``; VideoObject nodes are collected from every JSON-LD
  object (nested ones too), from microdata items, from og:video values and
  from RDFa nodes typed VideoObject.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

Found = list[tuple[str, Mapping[str, Any]]]


def ytdlp_finder() -> Any:
    from yt_dlp import YoutubeDL  # type: ignore[import-untyped]
    from yt_dlp.extractor.common import InfoExtractor  # type: ignore[import-untyped]

    class EvalIE(InfoExtractor):  # type: ignore[misc]
        _VALID_URL = r"https?://eval\.invalid/.*"

    ie = EvalIE(YoutubeDL({"quiet": True, "no_warnings": True}))

    def find(text: str, page: str) -> Found:
        info = ie._search_json_ld(text, None, fatal=False, default={}) or {}
        if not info or not (info.get("title") or info.get("url")):
            return []
        thumbs = info.get("thumbnails") or []
        data = {"name": info.get("title"), "contentUrl": info.get("url"),
                "thumbnailUrl": thumbs[0].get("url") if thumbs else info.get("thumbnail"),
                "duration": info.get("duration"), "uploadDate": info.get("upload_date")}
        return [("json-ld", data)]

    return find


def _is_video(types: Any) -> bool:
    values = types if isinstance(types, list) else [types]
    return any(isinstance(t, str) and t.rsplit("/", 1)[-1] == "VideoObject" for t in values)


def _jsonld_nodes(value: Any, depth: int = 0) -> Iterator[Mapping[str, Any]]:
    if depth > 50:
        return
    if isinstance(value, list):
        for item in value:
            yield from _jsonld_nodes(item, depth + 1)
    elif isinstance(value, dict):
        if _is_video(value.get("@type")):
            yield value
        for child in value.values():
            yield from _jsonld_nodes(child, depth + 1)


def _microdata_items(items: Iterable[Any], depth: int = 0) -> Iterator[Mapping[str, Any]]:
    for item in items:
        if not isinstance(item, dict) or depth > 50:
            continue
        props = item.get("properties") or {}
        if _is_video(item.get("type")):
            yield {k: (v[0] if isinstance(v, list) and v else v) for k, v in props.items()}
        for value in props.values():
            nested = value if isinstance(value, list) else [value]
            yield from _microdata_items(nested, depth + 1)


def _og_records(blocks: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    for block in blocks:
        props = block.get("properties", []) if isinstance(block, dict) else []
        first = {k: v for k, v in reversed(props)}
        for key, value in props:
            if key in ("og:video", "og:video:url") and value:
                yield {"name": first.get("og:title"), "contentUrl": value,
                       "thumbnailUrl": first.get("og:image")}


def extruct_finder() -> Any:
    import extruct  # type: ignore[import-untyped]

    def find(text: str, page: str) -> Found:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = extruct.extract(text, syntaxes=["json-ld", "microdata", "opengraph", "rdfa"],
                                   uniform=False, errors="ignore")
        found: Found = [("json-ld", n) for n in _jsonld_nodes(data.get("json-ld", []))]
        found += [("microdata", n) for n in _microdata_items(data.get("microdata", []))]
        found += [("rdfa", n) for n in _jsonld_nodes(data.get("rdfa", []))]
        seen: set[str] = set()
        for record in _og_records(data.get("opengraph", [])):
            if record["contentUrl"] not in seen:
                seen.add(record["contentUrl"])
                found.append(("opengraph", record))
        return found

    return find
