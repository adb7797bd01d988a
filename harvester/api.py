"""Small library entry points that sit beside ``extract`` and ``harvest``.

``validate_file`` reads a page or a bare JSON blob and returns its videos with
their findings; ``videoobject_schema`` returns the shipped schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harvester.charset import decode_html
from harvester.errors import ConfigError
from harvester.extract import extract, records_from_blob
from harvester.records import Blob, Syntax, Video


def validate_file(path: Path, *, max_bytes: int = 50 * 1024**2) -> list[Video]:
    """The videos of one file: a page, or a JSON/JSON-LD blob on its own."""
    try:
        with path.open("rb") as fh:
            body = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(body) > max_bytes:
        raise ConfigError(f"{path} is larger than {max_bytes} bytes")
    text, _ = decode_html(body, None)
    if text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
        blob = Blob(page=str(path), syntax=Syntax.JSON_LD, offset=0, raw=text)
        return records_from_blob(blob, None)
    return extract(text, None, ref=str(path))


def videoobject_schema() -> dict[str, Any]:
    """The VideoObject JSON Schema shipped with harvester."""
    from harvester.validate import videoobject_schema as schema

    return schema()
