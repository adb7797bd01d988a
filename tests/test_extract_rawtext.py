"""Where page text is not visible markup: looked up backwards from one offset."""

from __future__ import annotations

import pytest

from harvester.extract import rawtext
from harvester.extract.rawtext import hidden_end, raw_text_end

PAGE = (
    "<p>a</p><script>var s = '<b>X1</b>'; if (a<b) {}</script><p>X2</p>"
    "<!-- <div>X3</div> --><STYLE>.X4{}</STYLE><Script type=x>X5"
    "</SCRIPT><textarea>X6</textarea><span title='X7'>X8</span><script>X9"
)


def _at(marker: str) -> int:
    return PAGE.index(marker)


@pytest.mark.parametrize(("marker", "closer"), [
    ("X1", "</script>"), ("X3", "-->"), ("X4", "</STYLE>"), ("X5", "</SCRIPT>"),
    ("X6", "</textarea>"),
])
def test_inside_raw_text_ends_at_its_closer(marker: str, closer: str) -> None:
    end = raw_text_end(PAGE, _at(marker))
    assert end is not None and PAGE[:end].endswith(closer)


@pytest.mark.parametrize("marker", ["X2", "X7", "X8"])
def test_visible_text_and_attributes_are_not_raw_text(marker: str) -> None:
    assert raw_text_end(PAGE, _at(marker)) is None


def test_an_unclosed_script_runs_to_the_end_of_the_page() -> None:
    assert raw_text_end(PAGE, _at("X9")) == len(PAGE)


def test_hidden_end_also_covers_the_inside_of_a_tag() -> None:
    end = hidden_end(PAGE, _at("X7"))
    assert end is not None and PAGE[end - 1] == ">" and PAGE[end:].startswith("X8")
    assert hidden_end(PAGE, _at("X8")) is None


def test_far_from_any_deciding_tag_the_answer_is_the_same(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    body = "<div><span>t</span></div>" * 50
    page = f"<script>x</script>{body}<p>HERE</p><SCRIPT>{body}THERE</SCRIPT>"
    near = raw_text_end(page, page.index("HERE")), raw_text_end(page, page.index("THERE"))
    monkeypatch.setattr(rawtext, "MAX_STEPS_BACK", 3)  # forces the reverse-search fallback
    far = raw_text_end(page, page.index("HERE")), raw_text_end(page, page.index("THERE"))
    assert near == far == (None, len(page))


def test_many_offsets_at_once_agree_with_one_at_a_time() -> None:
    import random

    from harvester.extract.rawtext import outside_raw_text

    parts = ["<script>", "</script>", "<!--", "-->", "<style>", "</STYLE>", "<p>", "x",
             "<textarea>", "</textarea>", "<SCRIPT type=a>", "a<b", "<!---->", "<div>"]
    rng = random.Random(3)
    for _ in range(300):
        page = "".join(rng.choice(parts) for _ in range(rng.randint(0, 40)))
        offsets = list(range(0, len(page) + 1, 2))
        assert outside_raw_text(page, offsets) == [
            at for at in offsets if raw_text_end(page, at) is None]


def test_thousands_of_items_are_looked_back_on_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from harvester.extract.rawtext import outside_raw_text

    item = '<div itemscope itemtype="x"><span>a</span></div>'
    page = "<script>s</script>" + item * 3000
    offsets = [i for i in range(len(page)) if page.startswith("<div", i)]
    # Each look back may pass only the few tags since the previous item: no fallback.
    monkeypatch.setattr(rawtext, "MAX_STEPS_BACK", 10)
    monkeypatch.setattr(rawtext, "_raw_text_end_by_search", lambda *_: pytest.fail("too far"))
    assert outside_raw_text(page, offsets) == offsets
