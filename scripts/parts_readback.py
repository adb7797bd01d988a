"""Read a manifest in parts back with DuckDB and compare it with the single manifest.

Runs ``harvester harvest INPUT... -o single.json`` and ``harvester harvest INPUT...
--output-format parts --parquet -o run.json`` (any extra options are passed to both),
then reads the parts with DuckDB (the Parquet files, and the JSONL.gz files as
text lines) and checks that they hold the same video ids, with the same ``data``,
``declared`` and ``validation``, as the single manifest.

    python scripts/parts_readback.py crawl/*.warc.gz --executor local
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FIELDS = ("data", "declared", "validation")


def harvest(inputs: list[str], out: Path, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harvester", "harvest", *inputs, "-o", str(out), "-q",
                    *extra], check=False)
    return time.perf_counter() - started


def from_single(path: Path) -> dict[str, dict[str, Any]]:
    document = json.loads(path.read_text("utf-8"))
    return {v["id"]: {k: v[k] for k in FIELDS} for v in document["videos"]}


def from_parquet(con: Any, parts: Path) -> dict[str, dict[str, Any]]:
    rows = con.sql(f"SELECT id, {', '.join(FIELDS)} FROM "
                   f"read_parquet('{parts}/videos-*.parquet') ORDER BY id").fetchall()
    return {row[0]: {k: json.loads(v) for k, v in zip(FIELDS, row[1:], strict=True)}
            for row in rows}


def from_jsonl(con: Any, parts: Path) -> dict[str, dict[str, Any]]:
    # Read as lines of text, so that DuckDB does not fit one struct type over all rows.
    rows = con.sql(f"SELECT line FROM read_csv('{parts}/videos-*.jsonl.gz', columns="
                   "{'line': 'VARCHAR'}, delim='\\x01', quote='', escape='', header=false)"
                   ).fetchall()
    entries = [json.loads(line) for line, in rows]
    return {v["id"]: {k: v[k] for k in FIELDS} for v in entries}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", help="pages, WARC files, lists (as for harvest)")
    args, extra = parser.parse_known_args()
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        single_s = harvest(args.inputs, work / "single.json", *extra)
        parts_s = harvest(args.inputs, work / "run.json", "--output-format", "parts",
                          "--parquet", *extra)
        single = from_single(work / "single.json")
        con = duckdb.connect()
        parquet = from_parquet(con, work / "run.parts")
        jsonl = from_jsonl(con, work / "run.parts")
        summary = json.loads((work / "run.json").read_text("utf-8"))
    same = parquet == single and jsonl == single
    print(f"single manifest: {len(single)} videos in {single_s:.1f} s; parts: "
          f"{len(summary['parts'])} parts in {parts_s:.1f} s")
    print(f"DuckDB over Parquet: {len(parquet)} videos, same as the single manifest: "
          f"{parquet == single}")
    print(f"DuckDB over JSONL.gz: {len(jsonl)} videos, same as the single manifest: "
          f"{jsonl == single}")
    print(f"counts equal: {summary['run']['counts']['videos'] == len(single)}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
