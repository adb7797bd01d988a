"""Small library entry points that sit beside ``extract`` and ``harvest``.

``validate_file`` reads a page or a bare JSON blob and returns its videos with
their findings (``check_file`` also says which blobs could not be read at
all); ``videoobject_schema`` returns the shipped schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harvester.errors import ConfigError, FetchError
from harvester.extract import find_all_blobs, read_blobs
from harvester.extract.charset import decode_html
from harvester.inputs.fetch import read_page_bytes
from harvester.records import Blob, Syntax, Video


def validate_file(path: Path, *, max_bytes: int = 50 * 1024**2) -> list[Video]:
    """The videos of one file: a page, or a JSON/JSON-LD blob on its own."""
    return check_file(path, max_bytes=max_bytes)[0]


def check_file(path: Path, *, max_bytes: int = 50 * 1024**2) -> tuple[list[Video], list[str]]:
    """:func:`validate_file`'s videos, and a line for each blob that may describe a
    video but could not be read at all (too large, nested too deeply, not JSON).
    A gzipped file is read decompressed."""
    try:
        body = read_page_bytes(str(path), max_bytes)
    except FetchError as exc:
        raise ConfigError(exc.message) from None
    text, _ = decode_html(body, None)
    ref = str(path)
    if text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
        return read_blobs([Blob(page=ref, syntax=Syntax.JSON_LD, offset=0, raw=text)], None, ref)
    return read_blobs(find_all_blobs(text, ref), None, ref)


def videoobject_schema() -> dict[str, Any]:
    """The VideoObject JSON Schema shipped with harvester."""
    from harvester.extract.validate import videoobject_schema as schema

    return schema()
