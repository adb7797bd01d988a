"""Cross-check what a page declares about a video against what ffprobe measured.

Promise: :func:`check` is a pure function; each verdict is ``unknown`` unless
both the declared and the measured value exist, so a missing probe never
reads as a mismatch.

* duration: ``match`` when ``|declared - measured| <= max(1 s, 2 % of declared)``,
  else ``mismatch``;
* dimensions: ``match`` when width and height are equal, ``swapped`` when the
  declared width and height are the measured height and width (and the frame
  is not square), else ``mismatch``.  Both width and height must be declared;
  measured sizes are display sizes (rotation applied, see :mod:`harvester.measure.probe`);
* thumbnail: with a declared size (an ``ImageObject``'s width and height, passed
  as ``thumbnail_size``) the same rule as dimensions; without one, ``match``
  means the thumbnail was measured as a real image and ``unknown`` that it
  was not (not downloaded, not an image, or not probed).
"""

from __future__ import annotations

from harvester.records import Checks, Declared, Probe, Verdict

__all__ = ["DURATION_ABS_TOLERANCE_S", "DURATION_REL_TOLERANCE", "check"]

DURATION_ABS_TOLERANCE_S = 1.0
DURATION_REL_TOLERANCE = 0.02


def check(
    declared: Declared,
    video: Probe | None,
    thumbnail: Probe | None,
    *,
    thumbnail_size: tuple[int, int] | None = None,
) -> Checks:
    """All three verdicts for one video.

    >>> check(Declared(duration_s=90, width=640, height=360),
    ...       Probe(duration_s=90.4, width=360, height=640), None).dimensions
    <Verdict.SWAPPED: 'swapped'>
    """
    measured = video if video is not None and video.error is None else None
    return Checks(
        duration=check_duration(declared.duration_s, measured.duration_s if measured else None),
        dimensions=check_size(
            _pair(declared.width, declared.height),
            _pair(measured.width, measured.height) if measured else None,
        ),
        thumbnail=_check_thumbnail(thumbnail, thumbnail_size),
    )


def check_duration(declared: float | None, measured: float | None) -> Verdict:
    """``match`` within ``max(1 s, 2 % of declared)``; ``unknown`` if either is missing."""
    if declared is None or measured is None:
        return Verdict.UNKNOWN
    tolerance = max(DURATION_ABS_TOLERANCE_S, DURATION_REL_TOLERANCE * declared)
    return Verdict.MATCH if abs(declared - measured) <= tolerance else Verdict.MISMATCH


def check_size(declared: tuple[int, int] | None, measured: tuple[int, int] | None) -> Verdict:
    """Compare ``(width, height)`` pairs: ``match``, ``swapped`` or ``mismatch``."""
    if declared is None or measured is None:
        return Verdict.UNKNOWN
    if declared == measured:
        return Verdict.MATCH
    width, height = declared
    if width != height and (height, width) == measured:
        return Verdict.SWAPPED
    return Verdict.MISMATCH


def _check_thumbnail(thumbnail: Probe | None, declared: tuple[int, int] | None) -> Verdict:
    measured = _pair(thumbnail.width, thumbnail.height) if thumbnail is not None else None
    if thumbnail is None or thumbnail.error is not None or measured is None:
        return Verdict.UNKNOWN
    if declared is None:
        return Verdict.MATCH
    return check_size(declared, measured)


def _pair(width: int | None, height: int | None) -> tuple[int, int] | None:
    return (width, height) if width is not None and height is not None else None
