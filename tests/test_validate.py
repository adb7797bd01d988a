"""validate(): errors and warnings with JSON pointers and plain messages."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from harvester.records import Blob, Candidate, Syntax, Validation
from harvester.validate import validate, videoobject_schema

GOOD = {
    "@context": "https://schema.org", "@type": "VideoObject", "name": "A video",
    "description": "What happens in it.", "thumbnailUrl": "https://a.example/t.jpg",
    "uploadDate": "2025-04-08T14:59:27+01:00", "duration": "PT1M30S",
    "contentUrl": "https://a.example/v.mp4", "embedUrl": "https://a.example/embed/1",
    "width": 480, "height": 270,
}


def check(data: Any, partial: bool = False) -> Validation:
    blob = Blob(page="https://a.example/", syntax=Syntax.JSON_LD, offset=0, raw="")
    return validate(Candidate(blob=blob, data=data, partial=partial))


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(videoobject_schema())


def test_good_markup_is_valid_without_findings() -> None:
    result = check(GOOD)
    assert result == Validation(valid=True, errors=(), warnings=())


def test_missing_p_in_duration_is_an_error_that_says_so() -> None:
    result = check({**GOOD, "duration": "T1M30S"})
    assert not result.valid
    assert [f.pointer for f in result.errors] == ["/duration"]
    assert result.errors[0].message == (
        "duration 'T1M30S' is not an ISO 8601 duration "
        "(it lacks the leading 'P'; did you mean 'PT1M30S'?)")
