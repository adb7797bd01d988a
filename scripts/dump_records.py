"""Dump every video record harvester extracts from a set of pages, as JSON.

Usage::

    python scripts/dump_records.py OUT.json [DIR ...]

With no DIR: the shared corpora beside the project and the test pages.  Each
page's bytes go through :func:`harvester.extract` (the page's path, relative
to its directory, names it); the output maps page names to their records as
the manifest writes them.  Two dumps taken before and after a change to the
extraction code are compared with ``diff`` (or ``--compare A B``, which
prints the pages whose records differ and ignores ``raw`` where asked).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DEFAULT_DIRS = [SHARED / "corpus" / "pages", SHARED / "corpus2" / "pages",
                REPO / "tests" / "samples", REPO / "harvester" / "samples"]
PAGE_SUFFIXES = {".html", ".htm", ".txt", ".xhtml", ""}


def dump(dirs: list[Path]) -> dict[str, Any]:
    """``{page name: [record, ...]}`` for every page under ``dirs``."""
    sys.path.insert(0, str(REPO))
    from harvester.extract import extract
    from harvester.store.serial import video_to_dict

    out: dict[str, Any] = {}
    for root in dirs:
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.suffix.lower() not in PAGE_SUFFIXES and not path.name.endswith(".html.gz"):
                continue
            body = path.read_bytes()
            name = f"{root.name}/{path.relative_to(root)}"
            videos = extract(body, f"https://example.org/{path.name}", ref=name)
            out[name] = [video_to_dict(v) for v in videos]
    return out


def compare(a: dict[str, Any], b: dict[str, Any], ignore: set[str],
            nested_raw: bool = False) -> int:
    """Print each page whose records differ (outside the ``ignore`` keys); their count.

    ``nested_raw``: a nested JSON video's ``raw`` (its record has a pointer) may
    differ, since it became the JSON of its own node.
    """
    differing = 0
    for name in sorted(set(a) | set(b)):
        left = [_kept(r, ignore, nested_raw) for r in a.get(name, [])]
        right = [_kept(r, ignore, nested_raw) for r in b.get(name, [])]
        if left != right:
            differing += 1
            print(f"{name}: {len(left)} -> {len(right)} records differ")
    return differing


def _kept(record: dict[str, Any], ignore: set[str], nested_raw: bool) -> dict[str, Any]:
    skip = set(ignore)
    if nested_raw and record.get("pointer") and record.get("syntax") in ("json-ld", "text"):
        skip.add("raw")
    return {k: v for k, v in record.items() if k not in skip}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", type=Path)
    ap.add_argument("dirs", nargs="*", type=Path)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    ap.add_argument("--ignore", action="append", default=[], help="a record key to leave out")
    ap.add_argument("--nested-raw", action="store_true",
                    help="let a nested JSON video's raw differ (it is its own node now)")
    args = ap.parse_args()
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        n = compare(before, after, set(args.ignore), args.nested_raw)
        print(f"{n} pages differ of {len(set(before) | set(after))}")
        return 1 if n else 0
    if args.out is None:
        ap.error("OUT is required without --compare")
    records = dump(args.dirs or DEFAULT_DIRS)
    args.out.write_text(json.dumps(records, sort_keys=True, indent=1, ensure_ascii=False))
    print(f"{sum(map(len, records.values()))} records from {len(records)} pages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
