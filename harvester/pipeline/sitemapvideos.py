"""Video sitemap entries as video records, beside the page's own records.

Each ``<video:video>`` a sitemap lists under a page becomes a record with
``syntax: "sitemap"``: its fields are written as a VideoObject (``title`` →
``name``, ``content_loc`` → ``contentUrl``, ``player_loc`` → ``embedUrl``,
``thumbnail_loc`` → ``thumbnailUrl``, ``duration`` seconds → ``PT…S``,
``publication_date`` → ``uploadDate``) so that the same normalisation and
validation run on it as on markup found in pages (:func:`build_records`).

When the page has its own record of the same video (same content or embed
URL), the sitemap record is linked to it with ``duplicate_of`` and carries
``sitemap_vs_page``: the declared fields on which the two disagree (none:
they match); each disagreement is also a validation warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from harvester.extract import build_records
from harvester.records import (
    Blob,
    Candidate,
    Declared,
    Finding,
    PageResult,
    SitemapHint,
    SitemapVideo,
    Syntax,
    Video,
)

__all__ = ["COMPARED", "sitemap_records", "with_sitemap_videos"]

#: Declared fields compared between a sitemap record and the page's record.
COMPARED = ("name", "content_url", "embed_url", "duration_s", "upload_date")
#: Sitemap durations are whole seconds; page durations may carry fractions.
_DURATION_SLACK_S = 1.0
_FIELDS = {"title": "name", "description": "description", "content_loc": "contentUrl",
           "player_loc": "embedUrl", "thumbnail_loc": "thumbnailUrl",
           "publication_date": "uploadDate", "family_friendly": "isFamilyFriendly",
           "expiration_date": "expires"}
_POINTERS = {"name": "/name", "content_url": "/contentUrl", "embed_url": "/embedUrl",
             "duration_s": "/duration", "upload_date": "/uploadDate"}


def with_sitemap_videos(result: PageResult, hint: SitemapHint | None,
                        base_url: str | None) -> PageResult:
    """``result`` with its sitemap records (earlier ones replaced by the sitemap's
    current entries), each linked to the page's record of the same video."""
    if hint is None or result.error is not None:
        return result
    own = [v for v in result.videos if v.syntax is not Syntax.SITEMAP]
    listed = sitemap_records(hint.videos, base_url or result.ref, result.ref)
    if not listed and len(own) == len(result.videos):
        return result
    return replace(result, videos=(*own, *(_linked(v, own) for v in listed)))


def sitemap_records(videos: Sequence[SitemapVideo], base_url: str | None,
                    page_ref: str) -> list[Video]:
    """The records of a page's ``<video:video>`` entries, normalised and validated."""
    cands = []
    for offset, video in enumerate(videos):
        data = as_videoobject(video.fields)
        blob = Blob(page=page_ref, syntax=Syntax.SITEMAP, offset=offset, raw=video.raw,
                    data=data)
        cands.append(Candidate(blob=blob, data=data))
    return build_records(cands, base_url, page_ref)


def as_videoobject(fields: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A VideoObject dict from video sitemap fields; unknown fields are left out."""
    data: dict[str, Any] = {"@context": "https://schema.org", "@type": "VideoObject"}
    thumbnails: list[str] = []
    for name, text in fields:
        if name == "thumbnail_loc":
            thumbnails.append(text)
        elif name == "duration":
            data["duration"] = f"PT{text}S" if text.isdigit() else text
        elif name in _FIELDS:
            data.setdefault(_FIELDS[name], text)
    if thumbnails:
        data["thumbnailUrl"] = thumbnails[0] if len(thumbnails) == 1 else thumbnails
    return data


def _linked(video: Video, own: Sequence[Video]) -> Video:
    page_video = next((v for v in own if _same_video(v.declared, video.declared)), None)
    if page_video is None:
        return video
    differ = _differences(video.declared, page_video.declared)
    warnings = tuple(Finding(_POINTERS[f], f"sitemap_vs_page: {f} is {_show(video.declared, f)}"
                             f" in the sitemap but {_show(page_video.declared, f)} on the page")
                     for f in differ)
    validation = replace(video.validation, warnings=(*video.validation.warnings, *warnings))
    return replace(video, duplicate_of=page_video.duplicate_of or page_video.id,
                   sitemap_vs_page=differ, validation=validation)


def _same_video(a: Declared, b: Declared) -> bool:
    return bool((a.content_url and a.content_url == b.content_url)
                or (a.embed_url and a.embed_url == b.embed_url))


def _differences(sitemap: Declared, page: Declared) -> tuple[str, ...]:
    """The compared fields both declare and on which they disagree."""
    differ = []
    for name in COMPARED:
        mine, theirs = getattr(sitemap, name), getattr(page, name)
        if mine is None or theirs is None:
            continue
        if name == "duration_s":
            if abs(mine - theirs) > _DURATION_SLACK_S:
                differ.append(name)
        elif mine != theirs:
            differ.append(name)
    return tuple(differ)


def _show(declared: Declared, name: str) -> str:
    return repr(getattr(declared, name))
