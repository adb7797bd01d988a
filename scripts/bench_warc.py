"""Benchmark WARC harvesting: reader libraries, then pages/s per executor, and extruct.

Builds (once, cached) a set of gzip WARC files of corpus-like article pages of
50-100 KB, 0.5% of them describing a video, then measures:

* reading only: warcio and FastWARC over every record (the reader choice);
* the whole extraction pipeline in one process (``process_shard`` in a loop),
  on a local process pool, and on a Dask LocalCluster (``harvest_sharded``);
* extruct over a sample of the same pages in one process, for comparison.

Usage::

    python scripts/bench_warc.py                       # 20,000 pages, 2 workers
    python scripts/bench_warc.py --pages 2000 --extruct-pages 200
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester.config import Config  # noqa: E402
from harvester.inputs.sources import iter_sources  # noqa: E402
from harvester.inputs.warc import WarcReader  # noqa: E402
from harvester.scale.shards import harvest_sharded, plan_shards, process_shard  # noqa: E402
from tests.support.warcgen import corpus_pages, write_warc  # noqa: E402


def build_set(directory: Path, pages: int, per_warc: int) -> list[str]:
    """The WARC files for ``pages`` pages, generated unless already there."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = directory / f"set-{pages}-{per_warc}.done"
    paths = [directory / f"bench-{n:04d}.warc.gz" for n in range((pages + per_warc - 1)
                                                                   // per_warc)]
    if not stamp.exists():
        generated = corpus_pages(pages)
        for path in paths:
            write_warc(path, (next(generated) for _ in range(per_warc)))
        stamp.write_text("ok")
    return [str(p) for p in paths]


def timed(label: str, fn: Callable[[], int], unit: str = "pages") -> float:
    started = time.perf_counter()
    count = fn()
    seconds = time.perf_counter() - started
    rate = count / seconds if seconds else 0.0
    # Other processes on the machine skew parallel figures: show the load beside them.
    load = os.getloadavg()[0]
    print(f"{label:<42} {count:>6} {unit} in {seconds:6.2f} s = {rate:7.0f} {unit}/s"
          f"  (load {load:.1f})", flush=True)
    return rate


def read_warcio(paths: list[str]) -> int:
    total = 0
    for path in paths:
        total += sum(1 for _ in WarcReader(path).pages())
    return total


def read_fastwarc(paths: list[str]) -> int:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    total = 0
    for path in paths:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream, record_types=WarcRecordType.response,
                                          parse_http=True):
                record.http_headers.get("Content-Type")
                record.reader.read()
                total += 1
    return total


def single_process(paths: list[str], config: Config) -> int:
    shards = list(plan_shards(iter_sources(paths), config))
    return sum(process_shard(shard, config).pages for shard in shards)


def sharded(paths: list[str], config: Config) -> int:
    return len(harvest_sharded(paths, config).pages)


def extruct_pages(paths: list[str], limit: int) -> Iterator[tuple[str, bytes]]:
    count = 0
    for path in paths:
        for page in WarcReader(path).pages():
            if count >= limit:
                return
            count += 1
            yield page.url or "", page.body


def run_extruct(paths: list[str], limit: int) -> int:
    import extruct

    count = 0
    for url, body in extruct_pages(paths, limit):
        extruct.extract(body, base_url=url, syntaxes=["json-ld", "microdata", "opengraph",
                                                       "rdfa"], errors="ignore")
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--per-warc", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--extruct-pages", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/harvester-bench"))
    args = parser.parse_args()
    started = time.perf_counter()
    paths = build_set(args.dir, args.pages, args.per_warc)
    size = sum(Path(p).stat().st_size for p in paths)
    print(f"{len(paths)} WARC files, {size / 1e6:.0f} MB gzip, ready in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    timed("read: warcio", lambda: read_warcio(paths), "records")
    timed("read: FastWARC", lambda: read_fastwarc(paths), "records")
    base = Config(output=None, workers=args.workers)
    for name, executor in (("single process", None), ("local pool", "local"),
                           ("dask LocalCluster", "dask")):
        shard_dir = args.dir / f"shards-{executor or 'single'}"
        shutil.rmtree(shard_dir, ignore_errors=True)
        config = replace(base, executor=executor or "local", shard_dir=str(shard_dir))
        if executor is None:
            timed(f"harvester: {name}", lambda c=config: single_process(paths, c))
        else:
            timed(f"harvester: {name} ({args.workers} workers)",
                  lambda c=config: sharded(paths, c))
    resume = replace(base, executor="local", shard_dir=str(args.dir / "shards-local"))
    timed("harvester: re-run, all shards done", lambda: sharded(paths, resume))
    timed("extruct: single process", lambda: run_extruct(paths, args.extruct_pages))


if __name__ == "__main__":
    main()
