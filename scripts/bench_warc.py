"""Benchmark WARC harvesting: harvester against bare reading, then executors and extruct.

Builds (once, cached) a set of gzip WARC files, then:

* compares, side by side and taking turns (best of ``--repeat``): FastWARC's bare
  iteration (every response record's HTTP headers and body read), warcio's bare
  iteration, harvester's own reader with each library (pages only, no extraction),
  and harvester in one process: ``harvester harvest x.warc.gz -o m.json`` through
  the command line's own entry, in this process (no interpreter start), with the
  ratio of harvester to FastWARC;
* unless ``--compare-only``: the pipeline on a local process pool and on a Dask
  LocalCluster (``harvest_sharded``), and extruct over a sample of the pages.

Two page sets (``--mode``):

* ``web`` (the default): pages mixed like the web, 30-80 KB of HTML with scripts,
  navigation and footer, an ld+json block and Open Graph tags on every page, 95%
  without any video and 5% with a JSON-LD or microdata VideoObject;
* ``corpus``: corpus-like article pages of 50-100 KB, 0.5% describing a video
  (JSON-LD, microdata, Open Graph or texturized text).

Usage::

    python scripts/bench_warc.py                       # web, 20,000 pages, 2 workers
    python scripts/bench_warc.py --pages 5000 --compare-only
    python scripts/bench_warc.py --mode corpus --pages 2000 --extruct-pages 200
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester.cli import main as harvester_main  # noqa: E402
from harvester.config import Config  # noqa: E402
from harvester.inputs.warc import WarcReader  # noqa: E402
from harvester.scale.shards import harvest_sharded  # noqa: E402
from tests.support.warcgen import corpus_pages, web_pages, write_warc  # noqa: E402

PAGE_SETS = {"web": web_pages, "corpus": corpus_pages}


def build_set(directory: Path, pages: int, per_warc: int, mode: str = "corpus") -> list[str]:
    """The WARC files for ``pages`` pages of the ``mode`` set, generated unless there."""
    directory = directory / mode if mode != "corpus" else directory
    directory.mkdir(parents=True, exist_ok=True)
    stamp = directory / f"set-{pages}-{per_warc}.done"
    paths = [directory / f"bench-{n:04d}.warc.gz" for n in range((pages + per_warc - 1)
                                                                   // per_warc)]
    if not stamp.exists():
        generated = PAGE_SETS[mode](pages)
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
    """warcio's bare iteration: every response record's HTTP headers and body."""
    from warcio.archiveiterator import ArchiveIterator

    total = 0
    for path in paths:
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    record.http_headers.get_header("Content-Type")
                    record.content_stream().read()
                    total += 1
    return total


def read_harvester(paths: list[str], reader: str) -> int:
    """harvester's reader alone: the pages of every file, nothing extracted."""
    return sum(sum(1 for _ in WarcReader(path, reader=reader).pages()) for path in paths)


def harvest_one_process(paths: list[str], directory: Path) -> int:
    """``harvester harvest FILES -o m.json`` run in this process (no interpreter start):
    the command line's own entry, its progress callback and summary (stderr is not a
    terminal, as in a cron run: no bars).  The pages read, from its summary line."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            harvester_main(["harvest", *paths, "-o", str(directory / "m.json")])
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise RuntimeError(f"harvester exited {exc.code}: {stderr.getvalue()}") from None
    found = re.search(r"harvester: (\d+) pages", stderr.getvalue())
    if found is None:
        raise RuntimeError(f"no summary line from harvester: {stderr.getvalue()!r}")
    return int(found.group(1))


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


def rate(fn: Callable[[], int]) -> tuple[int, float, float]:
    """Pages, pages per second of wall time, and pages per second of this process's CPU
    time (steadier on a busy machine: other processes' turns are not counted)."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = fn()
    return (count, count / (time.perf_counter() - wall),
            count / max(time.process_time() - cpu, 1e-9))


def compare(paths: list[str], directory: Path, repeat: int) -> dict[str, float]:
    """Pages/s of bare reading and of harvester, best of ``repeat`` rounds in turn."""
    tools: dict[str, Callable[[], int]] = {
        "FastWARC, bare iteration": lambda: read_fastwarc(paths),
        "warcio, bare iteration": lambda: read_warcio(paths),
        "harvester reader only, FastWARC": lambda: read_harvester(paths, "fastwarc"),
        "harvester reader only, warcio": lambda: read_harvester(paths, "warcio"),
        "harvester, one process": lambda: harvest_one_process(paths, directory),
    }
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    counts: dict[str, int] = {}
    for _ in range(repeat):
        for label, fn in tools.items():
            counts[label], per_wall_s, per_cpu_s = rate(fn)
            wall[label] = max(wall.get(label, 0.0), per_wall_s)
            cpu[label] = max(cpu.get(label, 0.0), per_cpu_s)
    fast = "FastWARC, bare iteration"
    print(f"\n{'best of ' + str(repeat) + ', taking turns':<34} {'pages':>6} {'pages/s':>8} "
          f"{'ratio':>6} {'pages/cpu-s':>12} {'ratio':>6}")
    for label in tools:
        print(f"{label:<34} {counts[label]:>6} {wall[label]:>8.0f} {wall[label] / wall[fast]:>6.2f}"
              f" {cpu[label]:>12.0f} {cpu[label] / cpu[fast]:>6.2f}")
    print(f"(ratio: to FastWARC's bare iteration; load average {os.getloadavg()[0]:.1f})\n",
          flush=True)
    return wall


def sharded(paths: list[str], config: Config) -> int:
    return int(harvest_sharded(paths, config).counts()["pages"])


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
    parser.add_argument("--mode", choices=sorted(PAGE_SETS), default="web")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare-only", action="store_true",
                        help="only the side-by-side comparison of reading and harvesting")
    args = parser.parse_args()
    started = time.perf_counter()
    paths = build_set(args.dir, args.pages, args.per_warc, args.mode)
    size = sum(Path(p).stat().st_size for p in paths)
    print(f"{len(paths)} WARC files of {args.mode} pages, {size / 1e6:.0f} MB gzip, ready in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    compare(paths, args.dir, args.repeat)
    if args.compare_only:
        return
    base = Config(output=None, workers=args.workers)
    for name, executor in (("local pool", "local"), ("dask LocalCluster", "dask")):
        shard_dir = args.dir / f"shards-{executor}"
        shutil.rmtree(shard_dir, ignore_errors=True)
        config = replace(base, executor=executor, shard_dir=str(shard_dir))
        timed(f"harvester: {name} ({args.workers} workers)", lambda c=config: sharded(paths, c))
    resume = replace(base, executor="local", shard_dir=str(args.dir / "shards-local"))
    timed("harvester: re-run, all shards done", lambda: sharded(paths, resume))
    timed("extruct: single process", lambda: run_extruct(paths, args.extruct_pages))


if __name__ == "__main__":
    main()
