"""The corpus evaluation: matching logic, and the thresholds the extractors reach."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import evaluate  # noqa: E402


def test_match_pairs_best_agreeing_records_and_reports_the_rest() -> None:
    labels = [{"name": "a", "contentUrl": "u1"}, {"name": "b", "contentUrl": "u2"}]
    found = [{"name": "b", "contentUrl": "u2"}, {"name": "zzz"}, {"name": "a", "contentUrl": "u1"}]
    pairs, extra, missed = evaluate.match(found, labels)
    assert pairs == [(0, 1), (2, 0)]
    assert extra == [1]
    assert missed == []


def test_wrong_case_keys_do_not_fill_canonical_fields() -> None:
    label = {"thumbnailUrl": None, "name": "x"}
    ok = evaluate.agreement({"thumbnailURL": "t.jpg", "name": "x"}, label)
    assert ok["thumbnailUrl"] and ok["name"]
    ok = evaluate.agreement({"thumbnailUrl": ["t.jpg", "u.jpg"]}, {"thumbnailUrl": "t.jpg"})
    assert ok["thumbnailUrl"]


def test_records_on_negative_pages_and_crashes_are_counted(tmp_path: Path) -> None:
    (tmp_path / "neg.html").write_text("x")
    (tmp_path / "bad.html").write_text("x")
    labels = {
        "neg.html": {"file": "neg.html", "category": "negative", "videos": []},
        "bad.html": {"file": "bad.html", "category": "positive",
                     "videos": [{"syntax": "jsonld", "name": "v"}]},
    }

    def finder(text: str, page: str) -> list[tuple[str, dict[str, str]]]:
        if page.endswith("bad.html"):
            raise ValueError("boom")
        return [("opengraph", {"name": "stray"})]

    report = evaluate.run(labels, tmp_path, finder)
    assert report.negative_records == 1
    assert [c["file"] for c in report.crashes] == ["bad.html"]
    assert report.totals()["recall"] == 0.0
    assert "records on negative pages: 1" in evaluate.render(report, verbose=True)


def test_missing_corpus_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    assert evaluate.main(["--labels", str(tmp_path / "none.json")]) == 2
    assert "corpus not found" in capsys.readouterr().err


def test_corpus_thresholds(shared_dir: Path) -> None:
    labels = evaluate.load_labels([shared_dir / "corpus" / "expected-dev.json",
                                   evaluate.TEST_LABELS])
    report = evaluate.run(labels, shared_dir / "corpus" / "pages", evaluate.project_finder())
    assert report.crashes == []
    assert report.negative_records == 0
    for syntax in ("microdata", "rdfa", "opengraph"):
        score = report.by_syntax[syntax]
        assert score.matched == score.expected == score.found, syntax
        assert score.fields_agreeing == score.fields_compared, syntax
    totals = report.totals()
    assert totals["recall"] >= 0.95
    assert totals["precision"] >= 0.95
