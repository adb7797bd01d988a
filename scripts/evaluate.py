"""Score the extractors against the hand-labelled real-page corpus.

Usage::

    python scripts/evaluate.py [--labels FILE ...] [--pages DIR] [--json] [-v]

Defaults: ``<repo>/../shared/corpus/expected-dev.json`` plus
``tests/data/expected-test.json`` as labels, ``<corpus>/pages`` as pages.
For every labelled page it runs :func:`harvester.extract.extract`, then
matches found records to labelled ones per page and syntax (greedy, by the
number of agreeing fields).  It reports found/expected per syntax, field
agreement on matched pairs, extras (records on negative pages or beyond the
labels), misses, crashes, and overall recall and precision.

Values are compared as written (see the labels' ``conventions``): a key in
the wrong case (``thumbnailURL``) does not fill the canonical field.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
TEST_LABELS = REPO / "tests" / "data" / "expected-test.json"

FIELDS = ("name", "contentUrl", "embedUrl", "thumbnailUrl", "duration", "uploadDate",
          "width", "height")
SYNTAXES = ("json-ld", "microdata", "rdfa", "opengraph")
_LABEL_SYNTAX = {"jsonld": "json-ld"}

Finder = Callable[[str, str], Iterable[tuple[str, Mapping[str, Any]]]]


@dataclass
class SyntaxScore:
    expected: int = 0
    found: int = 0
    matched: int = 0
    fields_compared: int = 0
    fields_agreeing: int = 0


@dataclass
class Report:
    pages: int = 0
    by_syntax: dict[str, SyntaxScore] = field(default_factory=dict)
    field_agreement: dict[str, list[int]] = field(default_factory=dict)
    extras: list[dict[str, Any]] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    negative_records: int = 0
    crashes: list[dict[str, str]] = field(default_factory=list)

    def score(self, syntax: str) -> SyntaxScore:
        return self.by_syntax.setdefault(syntax, SyntaxScore())

    def totals(self) -> dict[str, float]:
        exp = sum(s.expected for s in self.by_syntax.values())
        found = sum(s.found for s in self.by_syntax.values())
        matched = sum(s.matched for s in self.by_syntax.values())
        cmp_ = sum(s.fields_compared for s in self.by_syntax.values())
        agree = sum(s.fields_agreeing for s in self.by_syntax.values())
        return {
            "expected": exp, "found": found, "matched": matched,
            "recall": matched / exp if exp else 1.0,
            "precision": matched / found if found else 1.0,
            "field_agreement": agree / cmp_ if cmp_ else 1.0,
        }


def load_labels(paths: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """Labelled pages by file name; a later file overrides an earlier one."""
    pages: dict[str, dict[str, Any]] = {}
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for page in doc["pages"]:
            pages[page["file"]] = page
    return pages


def decode(body: bytes) -> str:
    """Page bytes to text, with the project's decoder when it is available."""
    try:
        from harvester.extract.charset import decode_html
    except ImportError:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return body.decode("cp1252", "replace")
    text, _ = decode_html(body, None)
    return str(text)


def project_finder() -> Finder:
    """``(syntax, data)`` for each record :func:`harvester.extract.extract` returns."""
    from harvester.extract import extract

    def find(text: str, page: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
        return [(str(v.syntax), v.data) for v in extract(text, ref=page)]

    return find


def found_value(data: Mapping[str, Any], name: str, expected: Any) -> Any:
    """The field as written; the first element of a list unless a list is expected."""
    value = data.get(name)
    if isinstance(value, list) and not isinstance(expected, list):
        value = value[0] if value else None
    return value


def agreement(data: Mapping[str, Any], label: Mapping[str, Any]) -> dict[str, bool]:
    """Per field: does the found value equal the labelled one?"""
    out = {}
    for name in FIELDS:
        want = label.get(name)
        got = found_value(data, name, want)
        out[name] = _same(got, want)
    return out


def _same(got: Any, want: Any) -> bool:
    if got == want:
        return True
    # Numbers written as numbers may come back as the same number in another type.
    if isinstance(got, int | float) and isinstance(want, int | float):
        return float(got) == float(want)
    return False


def match(found: list[Mapping[str, Any]], labels: list[Mapping[str, Any]]
          ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Greedy best-first pairing by agreeing fields; ties keep document order."""
    scored = sorted(
        ((-sum(agreement(f, lab).values()), i, j)
         for i, f in enumerate(found) for j, lab in enumerate(labels)),
    )
    pairs: list[tuple[int, int]] = []
    used_f: set[int] = set()
    used_l: set[int] = set()
    for _, i, j in scored:
        if i not in used_f and j not in used_l:
            pairs.append((i, j))
            used_f.add(i)
            used_l.add(j)
    extra = [i for i in range(len(found)) if i not in used_f]
    missed = [j for j in range(len(labels)) if j not in used_l]
    return sorted(pairs), extra, missed


def evaluate_page(report: Report, file: str, label: Mapping[str, Any],
                  records: list[tuple[str, Mapping[str, Any]]]) -> None:
    """Add one page's comparison to the report."""
    if label.get("category") == "negative":
        report.negative_records += len(records)
    expected = [(_LABEL_SYNTAX.get(v["syntax"], v["syntax"]), v) for v in label["videos"]]
    for syntax in sorted({s for s, _ in records} | {s for s, _ in expected}):
        found = [d for s, d in records if s == syntax]
        labels = [v for s, v in expected if s == syntax]
        score = report.score(syntax)
        score.found += len(found)
        score.expected += len(labels)
        pairs, extra, missed = match(found, labels)
        score.matched += len(pairs)
        for i, j in pairs:
            _count_fields(report, score, file, syntax, found[i], labels[j])
        report.extras += [{"file": file, "syntax": syntax, "name": _short(found[i].get("name"))}
                          for i in extra]
        report.misses += [{"file": file, "syntax": syntax, "name": _short(labels[j].get("name"))}
                          for j in missed]


def _count_fields(report: Report, score: SyntaxScore, file: str, syntax: str,
                  data: Mapping[str, Any], label: Mapping[str, Any]) -> None:
    for name, ok in agreement(data, label).items():
        score.fields_compared += 1
        score.fields_agreeing += ok
        tally = report.field_agreement.setdefault(name, [0, 0])
        tally[0] += ok
        tally[1] += 1
        if not ok:
            report.mismatches.append({
                "file": file, "syntax": syntax, "field": name,
                "found": _short(found_value(data, name, label.get(name))),
                "expected": _short(label.get(name)),
            })


def _short(value: Any, limit: int = 90) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    return value


def run(labels: Mapping[str, Mapping[str, Any]], pages_dir: Path, finder: Finder) -> Report:
    """Evaluate every labelled page that exists in ``pages_dir``."""
    report = Report()
    for file, label in sorted(labels.items()):
        path = pages_dir / file
        if not path.is_file():
            continue
        report.pages += 1
        try:
            records = list(finder(decode(path.read_bytes()), str(path)))
        except Exception as exc:  # a crash is a finding of the evaluation, not its end
            report.crashes.append({"file": file, "error": repr(exc),
                                   "where": traceback.format_exc(limit=-3)})
            records = []
        evaluate_page(report, file, label, records)
    return report


def render(report: Report, verbose: bool) -> str:
    """A plain-text table of the report."""
    lines = [f"pages evaluated: {report.pages}", "",
             f"{'syntax':<10} {'expected':>8} {'found':>6} {'matched':>7} {'fields ok':>10}"]
    for syntax in (*SYNTAXES, *sorted(set(report.by_syntax) - set(SYNTAXES))):
        s = report.by_syntax.get(syntax, SyntaxScore())
        ratio = f"{s.fields_agreeing}/{s.fields_compared}"
        lines.append(f"{syntax:<10} {s.expected:>8} {s.found:>6} {s.matched:>7} {ratio:>10}")
    t = report.totals()
    lines += ["", "field agreement on matched records:"]
    lines += [f"  {name:<13} {ok}/{n}" for name, (ok, n) in report.field_agreement.items()]
    lines += ["", f"recall {t['recall']:.3f}  precision {t['precision']:.3f}  "
              f"field agreement {t['field_agreement']:.3f}",
              f"records on negative pages: {report.negative_records}",
              f"extra records: {len(report.extras)}  missed records: {len(report.misses)}  "
              f"crashes: {len(report.crashes)}"]
    if verbose:
        lines += ["", "extras:", *[f"  {e}" for e in report.extras],
                  "misses:", *[f"  {m}" for m in report.misses],
                  "field mismatches:", *[f"  {m}" for m in report.mismatches],
                  "crashes:", *[f"  {c['file']}: {c['error']}" for c in report.crashes]]
    return "\n".join(lines)


def to_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON data."""
    out = asdict(report)
    out["totals"] = report.totals()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, nargs="+",
                        help="label files (default: corpus dev labels + test labels)")
    parser.add_argument("--pages", type=Path, help="directory of pages (default: <corpus>/pages)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every difference")
    parser.add_argument("--tool", choices=["harvester", "yt-dlp", "extruct", "all"],
                        default="harvester",
                        help="score harvester (default), a peer, or all three side by side")
    args = parser.parse_args(argv)
    label_files = args.labels or [CORPUS / "expected-dev.json", TEST_LABELS]
    missing = [str(p) for p in label_files if not p.is_file()]
    pages_dir = args.pages or CORPUS / "pages"
    if missing or not pages_dir.is_dir():
        print(f"evaluate: corpus not found ({', '.join(missing) or pages_dir}); "
              f"put ../shared/corpus beside the project or pass --labels/--pages",
              file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    labels = load_labels(label_files)
    if args.tool == "all":
        reports = {name: run(labels, pages_dir, make()) for name, make in finders().items()}
        print(json.dumps({k: to_json(r) for k, r in reports.items()}, indent=1)
              if args.json else render_comparison(reports))
        return 0
    report = run(labels, pages_dir, finders()[args.tool]())
    print(json.dumps(to_json(report), indent=1, ensure_ascii=False) if args.json
          else render(report, args.verbose))
    return 0


def finders() -> dict[str, Callable[[], Finder]]:
    """The tools that can be scored, each as a factory of its finder."""
    sys.path.insert(0, str(REPO / "scripts"))
    from peers import extruct_finder, ytdlp_finder

    return {"harvester": project_finder, "yt-dlp": ytdlp_finder, "extruct": extruct_finder}


def render_comparison(reports: Mapping[str, Report]) -> str:
    """One line per tool: videos recovered per syntax, recall, precision, crashes."""
    head = f"{'tool':<10}" + "".join(f"{s:>11}" for s in SYNTAXES)
    lines = [head + f"{'recall':>8}{'precision':>10}{'negatives':>10}{'crashes':>8}"]
    for name, report in reports.items():
        cells = "".join(
            f"{report.score(s).matched:>5}/{report.score(s).expected:<5}" for s in SYNTAXES)
        t = report.totals()
        lines.append(f"{name:<10}{cells}{t['recall']:>8.3f}{t['precision']:>10.3f}"
                     f"{report.negative_records:>10}{len(report.crashes):>8}")
    fixture = REPO / "tests" / "samples" / "texturized-news-page.txt"
    if fixture.is_file():
        text = fixture.read_text("utf-8")
        counts = {name: len(list(make()(text, str(fixture)))) for name, make in finders().items()}
        lines += ["", "videos recovered from the WordPress-mangled fixture (3 on the page): "
                  + ", ".join(f"{k} {v}" for k, v in counts.items())]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
