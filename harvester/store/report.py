"""Render a manifest as one self-contained static HTML page a person can look at.

``render_report(manifest)`` returns the page; ``write_report(manifest, path)``
writes it atomically.  The page promises:

- a card per video, the ones with something wrong first: thumbnail (the
  downloaded file; a placeholder otherwise), name, page link, declared versus
  measured duration and size with mismatches highlighted, validation errors
  and warnings, repairs applied, download status;
- summary counts at the top, each a button that filters the gallery, and
  filters by status, syntax and finding (plain JS);
- it works from ``file://`` with no server; nothing leaves the reader's
  browser: no CDN, and no remote thumbnail unless ``remote_thumbnails`` (the
  page's thumbnail URLs would tell their hosts who reads the report);
- everything taken from pages is escaped: text with :func:`html.escape`, links
  only when they are http(s), the JSON data island with ``<``, ``>`` and ``&``
  written as ``\\u`` escapes so no ``</script>`` can close it.  A
  Content-Security-Policy that allows only this page's own style and script
  (by hash) backs that up: even markup that slipped through could not run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from harvester.files import write_atomic

__all__ = ["render_report", "video_facets", "write_report"]

_BAD_CHECKS = ("mismatch", "swapped")
_LOCAL_OK = ("downloaded", "cached")


def _asset(name: str) -> str:
    return files("harvester").joinpath("templates", name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _safe_url(url: object) -> str | None:
    """Only http(s) links from pages reach an href or src; ``javascript:`` never does."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def _local_path(result: object) -> str | None:
    """The relative path of a kept file; a path that could leave the download dir is ignored."""
    if not isinstance(result, Mapping) or result.get("status") not in _LOCAL_OK:
        return None
    path = result.get("path")
    if not isinstance(path, str) or not path:
        return None
    if Path(path).is_absolute() or ".." in Path(path).parts:
        return None
    return path


def _local_url(path: str, base_dir: Path | None) -> str:
    """A downloaded file's address as seen from the report (relative, or file:// if absolute)."""
    target = Path(base_dir, path) if base_dir is not None else Path(path)
    if target.is_absolute():
        return target.as_uri()
    return quote(target.as_posix())


def island_json(obj: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">``."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for char, code in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                       ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, code)
    return text


def _media(video: Mapping[str, Any]) -> Mapping[str, Any]:
    media = video.get("media")
    return media if isinstance(media, Mapping) else {}


def _status(video: Mapping[str, Any]) -> str:
    """Download status of the video file, or why there is none."""
    if "media" not in video:
        return "not downloaded"
    result = _media(video).get("video")
    return str(result.get("status")) if isinstance(result, Mapping) else "no media URL"


def video_facets(video: Mapping[str, Any]) -> dict[str, Any]:
    """What the filters select on: status, syntax and findings of one video."""
    validation = video.get("validation") or {}
    checks = _media(video).get("checks") or {}
    status = _status(video)
    findings = [name for name, present in (
        ("invalid", not validation.get("valid", True)),
        ("warnings", bool(validation.get("warnings"))),
        ("repaired", bool(video.get("repairs"))),
        ("partial", bool(video.get("partial"))),
        ("mismatch", any(v in _BAD_CHECKS for v in checks.values())),
        ("failed", status in ("failed", "blocked", "not_media")),
        ("duplicate", bool(video.get("duplicate_of"))),
    ) if present]
    if not set(findings) & {"invalid", "partial", "mismatch", "failed"}:
        findings.append("clean")
    declared = video.get("declared") or {}
    words = (declared.get("name"), video.get("page"), video.get("id"))
    search = " ".join(str(x) for x in words if x)
    return {"id": video.get("id"), "status": status, "syntax": str(video.get("syntax", "")),
            "findings": findings, "search": search.lower()}


def _fmt_seconds(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    if value < 60:
        return f"{value:.2f}".rstrip("0").rstrip(".") + " s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}:{seconds:02d} ({value:g} s)"


def _fmt_size(width: object, height: object) -> str:
    return f"{width}×{height}" if width is not None or height is not None else "—"


def _fmt_bytes(value: object) -> str:
    if not isinstance(value, int):
        return ""
    if value < 1000:
        return f"{value} B"
    size = float(value)
    for unit in ("KB", "MB", "GB"):
        size /= 1000
        if size < 1000 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


def _thumb(video: Mapping[str, Any], base_dir: Path | None, remote: bool) -> str:
    thumb = _media(video).get("thumbnail")
    name = _e((video.get("declared") or {}).get("name") or "")
    if local := _local_path(thumb):
        src = _local_url(local, base_dir)
        return f'<img src="{_e(src)}" alt="{name}" loading="lazy">'
    urls = (video.get("declared") or {}).get("thumbnail_urls") or ()
    for url in urls if remote else ():
        if safe := _safe_url(url):
            return (f'<img src="{_e(safe)}" alt="{name}" loading="lazy" '
                    'referrerpolicy="no-referrer">')
    return "thumbnail not downloaded" if urls else "no thumbnail"


def _link(url: object, text: object | None = None) -> str:
    label = _e(text if text is not None else url)
    safe = _safe_url(url)
    return f'<a href="{_e(safe)}" rel="noopener noreferrer">{label}</a>' if safe else label


def _compare(video: Mapping[str, Any]) -> str:
    declared = video.get("declared") or {}
    media = _media(video)
    probe = (media.get("video") or {}).get("probe") or {}
    checks = media.get("checks") or {}
    rows = [
        ("duration", _fmt_seconds(declared.get("duration_s")),
         _fmt_seconds(probe.get("duration_s")), checks.get("duration")),
        ("size", _fmt_size(declared.get("width"), declared.get("height")),
         _fmt_size(probe.get("width"), probe.get("height")), checks.get("dimensions")),
    ]
    body = "".join(
        f'<tr class="{_e(verdict or "")}"><th>{label}</th><td>{_e(d)}</td><td>{_e(m)}</td>'
        f"<td>{_e(verdict or '—')}</td></tr>"
        for label, d, m, verdict in rows)
    return ('<table class="compare"><tr><th></th><th>declared</th><th>measured</th>'
            f"<th>check</th></tr>{body}</table>")


def _findings(video: Mapping[str, Any]) -> str:
    validation = video.get("validation") or {}
    items = [(kind, f) for kind, key in (("error", "errors"), ("warning", "warnings"))
             for f in validation.get(key) or ()]
    if not items:
        return ""
    lis = "".join(f'<li class="{kind}"><code>{_e(f.get("pointer") or "/")}</code> '
                  f'{_e(f.get("message"))}</li>' for kind, f in items)
    return f'<h3>Validation</h3><ul class="findings">{lis}</ul>'


def _repairs(video: Mapping[str, Any]) -> str:
    repairs = video.get("repairs") or ()
    if not repairs:
        return ""
    chips = "".join(f"<code>{_e(r)}</code>" for r in repairs)
    return f'<h3>Repairs applied</h3><p class="repairs">{chips}</p>'


def _download_line(label: str, result: Mapping[str, Any], base_dir: Path | None) -> str:
    status = str(result.get("status"))
    parts = [f'{label}: <span class="badge {_status_class(status)}">{_e(status)}</span>']
    if result.get("stream"):
        parts[0] += f' <span class="badge">{_e(str(result["stream"]).upper())}</span>'
    if result.get("variants"):
        parts.append("renditions " + ", ".join(_variant(v) for v in result["variants"]
                                                if isinstance(v, Mapping)))
    if result.get("bytes") is not None:
        parts.append(_e(_fmt_bytes(result.get("bytes"))))
    if result.get("attempts"):
        parts.append(f"{_e(result['attempts'])} attempt(s)")
    error = result.get("error")
    if isinstance(error, Mapping):
        parts.append(f"<code>{_e(error.get('code'))}</code> {_e(error.get('message'))}")
    if local := _local_path(result):
        parts.append(f'<a href="{_e(_local_url(local, base_dir))}">file</a>')
    parts.append(_link(result.get("url"), "source"))
    return "<li>" + " · ".join(parts) + "</li>"


def _variant(variant: Mapping[str, Any]) -> str:
    """``640x360 @ 475 kb/s``: one rendition of a stream."""
    size = _fmt_size(variant.get("width"), variant.get("height"))
    rate = variant.get("bandwidth")
    speed = f" @ {rate // 1000} kb/s" if isinstance(rate, int) else ""
    return _e(size + speed)


def _downloads(video: Mapping[str, Any], base_dir: Path | None) -> str:
    if "media" not in video:
        return ""
    media = _media(video)
    lines = [_download_line(label, media[key], base_dir)
             for key, label in (("video", "video"), ("thumbnail", "thumbnail"))
             if isinstance(media.get(key), Mapping)]
    items = "".join(lines) or "<li>no media URL</li>"
    return f'<h3>Download</h3><ul class="downloads">{items}</ul>'


def _status_class(status: str) -> str:
    return {"downloaded": "ok", "cached": "ok", "failed": "bad", "blocked": "bad",
            "not_media": "bad", "deferred": "warn", "skipped": "warn", "measured": "ok",
            "protected": "warn", "live": "warn"}.get(status, "")


def _badges(video: Mapping[str, Any], facets: Mapping[str, Any]) -> str:
    out = [f'<span class="badge">{_e(facets["syntax"])}</span>',
           f'<span class="badge {_status_class(facets["status"])}">{_e(facets["status"])}</span>']
    labels = {"invalid": "bad", "mismatch": "bad", "partial": "warn", "warnings": "warn",
              "duplicate": "", "clean": "ok"}
    out += [f'<span class="badge {cls}">{name}</span>' for name, cls in labels.items()
            if name in facets["findings"]]
    return "".join(out)


def _card(index: int, video: Mapping[str, Any], base_dir: Path | None, remote: bool) -> str:
    facets = video_facets(video)
    declared = video.get("declared") or {}
    name = declared.get("name") or (video.get("data") or {}).get("name") or "(no name)"
    pointer = f' <code>{_e(video.get("pointer"))}</code>' if video.get("pointer") else ""
    dup = (f'<p class="meta">same video as <a href="#v-{_e(video["duplicate_of"])}">'
           f'{_e(video["duplicate_of"])}</a></p>' if video.get("duplicate_of") else "")
    return (
        f'<article class="card" id="v-{_e(video.get("id"))}" data-index="{index}">'
        f'<div class="thumb">{_thumb(video, base_dir, remote)}</div><div class="body">'
        f'<h2 class="name">{_e(name)}</h2>'
        f'<p class="meta">{_badges(video, facets)}</p>'
        f'<p class="meta">on {_link(video.get("page"))}{pointer}</p>{dup}'
        f"{_compare(video)}{_findings(video)}{_repairs(video)}{_downloads(video, base_dir)}"
        f'<details><summary>blob as found</summary><pre>{_e(video.get("raw"))}</pre></details>'
        "</div></article>"
    )


def _summary(manifest: Mapping[str, Any], facets: Sequence[Mapping[str, Any]]) -> str:
    counts = (manifest.get("run") or {}).get("counts") or {}
    media = counts.get("media") or {}
    mismatches = sum("mismatch" in f["findings"] for f in facets)
    # (label, count, class, the filter a click sets as "field=value", or "")
    stats: list[tuple[str, object, str, str]] = [
        ("pages", counts.get("pages", len(manifest.get("pages") or ())), "", ""),
        ("pages failed", counts.get("pages_failed", 0),
         "bad" if counts.get("pages_failed") else "", ""),
        ("videos", counts.get("videos", len(facets)), "", "reset"),
        ("distinct", counts.get("distinct_videos", "—"), "", ""),
        ("invalid", counts.get("invalid", 0), "bad" if counts.get("invalid") else "",
         "finding=invalid"),
        ("repaired", counts.get("repaired", 0), "", "finding=repaired"),
        ("partial", counts.get("partial", 0), "warn" if counts.get("partial") else "",
         "finding=partial"),
        ("declared ≠ measured", mismatches, "bad" if mismatches else "", "finding=mismatch"),
    ]
    stats += [(f"media {k}", v, "bad" if k in ("failed", "blocked", "not_media") else "",
               f"status={k}") for k, v in media.items() if v]
    boxes = "".join(_tile(*stat) for stat in stats)
    return f'<section class="summary" id="summary">{boxes}</section>{_failed_pages(manifest)}'


def _tile(label: str, count: object, cls: str, selects: str) -> str:
    """One count; a button that filters the gallery when it names a filter."""
    inner = f"<b>{_e(count)}</b><span>{_e(label)}</span>"
    if not selects:
        return f'<div class="stat {cls}">{inner}</div>'
    return (f'<button type="button" class="stat {cls}" data-select="{_e(selects)}" '
            f'title="show only these">{inner}</button>')


#: Cards are shown worst first: what needs a person's attention leads.
_ATTENTION = ("failed", "mismatch", "invalid", "partial")


def _attention(facets: Mapping[str, Any]) -> int:
    found = [i for i, name in enumerate(_ATTENTION) if name in facets["findings"]]
    return min(found) if found else len(_ATTENTION)


def _failed_pages(manifest: Mapping[str, Any]) -> str:
    failed = [p for p in manifest.get("pages") or () if p.get("status") == "failed"]
    if not failed:
        return ""
    items = "".join(f"<li>{_link(p.get('page'))}: <code>{_e((p.get('error') or {}).get('code'))}"
                    f"</code> {_e((p.get('error') or {}).get('message'))}</li>" for p in failed)
    return f'<section class="pages-failed"><b>Pages that failed</b><ul>{items}</ul></section>'


def _select(name: str, label: str, values: Iterable[str]) -> str:
    counted = Counter(values)
    options = "".join(f'<option value="{_e(v)}">{_e(v)} ({n})</option>'
                      for v, n in sorted(counted.items()))
    return (f'<label>{label}<select name="{name}" id="filter-{name}">'
            f'<option value="">all</option>{options}</select></label>')


def _filters(facets: Sequence[Mapping[str, Any]]) -> str:
    findings = [f for fac in facets for f in fac["findings"]]
    return (
        '<form class="filters" id="filters">'
        + _select("status", "Download status", (f["status"] for f in facets))
        + _select("syntax", "Syntax", (f["syntax"] for f in facets))
        + _select("finding", "Finding", findings)
        + '<label>Search<input type="search" name="q" id="filter-q" placeholder="name, page or id">'
        '</label><span id="shown"></span></form>'
    )


def render_report(manifest: Mapping[str, Any], *, base_dir: Path | None = None,
                  remote_thumbnails: bool = False) -> str:
    """The report page for ``manifest`` as one HTML string.

    ``base_dir`` is where downloaded files are, relative to the folder the
    report will be saved in (or absolute); ``None`` means that same folder.
    ``remote_thumbnails`` lets the page load thumbnails from their own hosts.
    """
    listed = [v for v in manifest.get("videos") or () if isinstance(v, Mapping)]
    videos = sorted(listed, key=lambda v: _attention(video_facets(v)))
    facets = [video_facets(v) for v in videos]
    css, js = _asset("report.css"), _asset("report.js")
    remote = " http: https:" if remote_thumbnails else ""
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           f"img-src file: data:{remote}; media-src file:{remote}; "
           "base-uri 'none'; form-action 'none'")
    run = manifest.get("run") or {}
    cards = "".join(_card(i, v, base_dir, remote_thumbnails) for i, v in enumerate(videos))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>harvester report — {len(videos)} videos</title><style>{css}</style></head><body>"
        f'<header class="top"><h1>Videos found: {len(videos)}</h1>'
        f'<p>{_e(manifest.get("generator"))}'
        f' · run started {_e(run.get("started"))} · finished {_e(run.get("finished"))}</p></header>'
        f"{_summary(manifest, facets)}{_filters(facets)}"
        f'<main class="cards" id="cards">{cards}</main>'
        '<p class="empty" id="empty" hidden>No video matches these filters.</p>'
        '<script type="application/json" id="report-data">'
        f'{island_json({"videos": facets})}</script>'
        f"<script>{js}</script></body></html>\n"
    )


def write_report(
    manifest: Mapping[str, Any], path: Path, *, download_dir: Path | None = None,
    remote_thumbnails: bool = False,
) -> None:
    """Write the report to ``path`` atomically; thumbnails point into ``download_dir``."""
    path = Path(path)
    base: Path | None = None
    if download_dir is not None:
        try:
            base = Path(os.path.relpath(download_dir, path.parent))
        except ValueError:  # another drive on Windows: no relative path exists
            base = Path(download_dir).absolute()
    write_atomic(path, render_report(manifest, base_dir=base,
                                     remote_thumbnails=remote_thumbnails))
