"""The quick record maker builds exactly what the record classes' own __init__ builds."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from harvester.extract.frozen import maker
from harvester.records import Blob, Candidate, Declared, Finding, Syntax, Validation, Video


def _values(cls: type) -> list[object]:
    """A distinct value per field (a text naming it, or the field's default when it
    must keep its type)."""
    return [f"{f.name}-value" for f in dataclasses.fields(cls)]


@pytest.mark.parametrize("cls", [Video, Declared, Candidate, Validation, Finding])
def test_made_record_equals_the_class_own(cls: type) -> None:
    values = _values(cls)
    made = maker(cls)(*values)
    own = cls(**{f.name: v for f, v in zip(dataclasses.fields(cls), values, strict=True)})
    assert type(made) is cls
    assert made == own
    assert hash(made) == hash(own)
    assert pickle.loads(pickle.dumps(made)) == own
    # Frozen as the class's own are (which refuse with the same error).
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(Exception) as refused_own:
        setattr(own, first, "other")
    with pytest.raises(type(refused_own.value)):
        setattr(made, first, "other")
    assert getattr(made, first) == values[0]


def test_every_field_is_stored_in_order() -> None:
    blob = Blob("p", Syntax.JSON_LD, 3, "{}")
    made = maker(Candidate)(blob, {"a": 1}, ("r",), True, "/x", ("n",))
    assert made == Candidate(blob=blob, data={"a": 1}, repairs=("r",), partial=True,
                             pointer="/x", notes=("n",))


def test_refuses_a_class_whose_init_does_more() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            raise ValueError

    @dataclasses.dataclass
    class Loose:
        a: int

    for cls in (Checked, Loose):
        with pytest.raises(TypeError):
            maker(cls)
