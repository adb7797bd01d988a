"""Records to plain dicts and back: the one serialiser the manifest, state and shards share.

Each ``*_to_dict`` has its ``*_from_dict`` inverse, so a video written to the
manifest, stored as an extraction in the state, or carried in a shard part is
the same JSON everywhere and reads back as an equal record.  ``page_to_dict``
is the exception: it is the manifest's one-line summary of a page, not a
record that is read back (``page_result_to_dict`` is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from harvester.records import (
    Checks,
    Declared,
    ErrorInfo,
    Finding,
    Media,
    MediaResult,
    MediaStatus,
    PageResult,
    Probe,
    StreamKind,
    Syntax,
    Validation,
    Variant,
    Verdict,
    Video,
)


def _findings(items: Iterable[Finding]) -> list[dict[str, str]]:
    return [{"pointer": f.pointer, "message": f.message} for f in items]


def error_to_dict(error: ErrorInfo | None) -> dict[str, str] | None:
    """``{"code", "message"}``, or None for no error."""
    return None if error is None else {"code": error.code, "message": error.message}


def error_from_dict(d: Mapping[str, Any] | None) -> ErrorInfo | None:
    """Inverse of :func:`error_to_dict`."""
    return ErrorInfo(code=d["code"], message=d["message"]) if d else None


def video_to_dict(video: Video) -> dict[str, Any]:
    """The manifest form of one video record (without media or run facts)."""
    entry = _video_fields(video)
    if video.sitemap_vs_page is not None:
        entry["sitemap_vs_page"] = {
            "verdict": "mismatch" if video.sitemap_vs_page else "match",
            "fields": list(video.sitemap_vs_page)}
    return entry


def _video_fields(video: Video) -> dict[str, Any]:
    return {
        "id": video.id,
        "page": video.page,
        "syntax": video.syntax.value,
        "pointer": video.pointer,
        "offset": video.offset,
        "repairs": list(video.repairs),
        "partial": video.partial,
        "duplicate_of": video.duplicate_of,
        "raw": video.raw,
        "data": video.data,
        "declared": {**asdict(video.declared),
                     "thumbnail_urls": list(video.declared.thumbnail_urls)},
        "validation": {
            "valid": video.validation.valid,
            "errors": _findings(video.validation.errors),
            "warnings": _findings(video.validation.warnings),
        },
    }


def video_from_dict(d: Mapping[str, Any]) -> Video:
    """Inverse of :func:`video_to_dict`."""
    declared = dict(d["declared"])
    declared["thumbnail_urls"] = tuple(declared.get("thumbnail_urls") or ())
    val = d["validation"]
    return Video(
        id=d["id"],
        page=d["page"],
        syntax=Syntax(d["syntax"]),
        raw=d["raw"],
        data=d["data"],
        declared=Declared(**declared),
        validation=Validation(
            valid=val["valid"],
            errors=tuple(Finding(**f) for f in val["errors"]),
            warnings=tuple(Finding(**f) for f in val["warnings"]),
        ),
        repairs=tuple(d["repairs"]),
        partial=d["partial"],
        pointer=d.get("pointer", ""),
        offset=d.get("offset", 0),
        duplicate_of=d.get("duplicate_of"),
        sitemap_vs_page=_sitemap_vs_page(d.get("sitemap_vs_page")),
    )


def _sitemap_vs_page(d: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    return None if d is None else tuple(d.get("fields") or ())


def probe_to_dict(probe: Probe | None) -> dict[str, Any] | None:
    """Every measured field of a probe, or None."""
    return None if probe is None else asdict(probe)


def probe_from_dict(d: Mapping[str, Any] | None) -> Probe | None:
    """Inverse of :func:`probe_to_dict`."""
    return None if d is None else Probe(**d)


def media_result_to_dict(result: MediaResult | None) -> dict[str, Any] | None:
    """The manifest form of one download (validators are state, not manifest, facts)."""
    if result is None:
        return None
    return {
        "url": result.url,
        "status": result.status.value,
        "path": result.path,
        "bytes": result.bytes,
        "sha256": result.sha256,
        "attempts": result.attempts,
        "content_type": result.content_type,
        "error": error_to_dict(result.error),
        "probe": probe_to_dict(result.probe),
        "stream": result.stream.value if result.stream is not None else None,
        "variants": [asdict(v) for v in result.variants],
    }


def media_result_from_dict(d: Mapping[str, Any] | None) -> MediaResult | None:
    """Inverse of :func:`media_result_to_dict`."""
    if d is None:
        return None
    return MediaResult(
        url=d["url"], status=MediaStatus(d["status"]), path=d.get("path"), bytes=d.get("bytes"),
        sha256=d.get("sha256"), attempts=d.get("attempts", 0),
        error=error_from_dict(d.get("error")), content_type=d.get("content_type"),
        probe=probe_from_dict(d.get("probe")),
        stream=StreamKind(d["stream"]) if d.get("stream") else None,
        variants=tuple(Variant(**v) for v in d.get("variants") or ()),
    )


def media_to_dict(media: Media) -> dict[str, Any]:
    """The ``media`` object of a manifest video: both downloads and the checks."""
    return {
        "video": media_result_to_dict(media.video),
        "thumbnail": media_result_to_dict(media.thumbnail),
        "checks": {k: v.value for k, v in asdict(media.checks).items()},
    }


def media_from_dict(d: Mapping[str, Any]) -> Media:
    """Inverse of :func:`media_to_dict`."""
    checks = {k: Verdict(v) for k, v in d.get("checks", {}).items()}
    return Media(
        video=media_result_from_dict(d.get("video")),
        thumbnail=media_result_from_dict(d.get("thumbnail")),
        checks=Checks(**checks),
    )


def page_to_dict(result: PageResult) -> dict[str, Any]:
    """The manifest's summary of one page: its status, video count and error."""
    if result.error is not None:
        status = "failed"
    elif result.skipped:
        status = result.skipped
    else:
        status = "ok"
    entry = {"page": result.ref, "status": status, "videos": len(result.videos),
             "error": error_to_dict(result.error)}
    if result.sitemap is not None:
        entry["sitemap"] = dict(result.sitemap)
    return entry


def page_result_to_dict(result: PageResult) -> dict[str, Any]:
    """A whole page result, with everything a merge and the state need."""
    return {"ref": result.ref, "status": result.status, "etag": result.etag,
            "last_modified": result.last_modified, "content_sha256": result.content_sha256,
            "skipped": result.skipped, "error": error_to_dict(result.error),
            "videos": [video_to_dict(v) for v in result.videos],
            "sitemap": dict(result.sitemap) if result.sitemap is not None else None}


def page_result_from_dict(d: Mapping[str, Any]) -> PageResult:
    """Inverse of :func:`page_result_to_dict`."""
    return PageResult(
        ref=d["ref"], videos=tuple(video_from_dict(v) for v in d["videos"]),
        error=error_from_dict(d["error"]), status=d["status"], etag=d["etag"],
        last_modified=d["last_modified"], content_sha256=d["content_sha256"],
        skipped=d["skipped"],
        sitemap=tuple(d["sitemap"].items()) if d.get("sitemap") is not None else None)
