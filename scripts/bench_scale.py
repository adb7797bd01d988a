"""Benchmark the coordinating process's memory as a WARC harvest grows 10x.

Generates (once, cached under ``--work``) gzip WARC files of small web-like
pages: 2-5 KB article pages, 95% without a video and 5% carrying one JSON-LD
VideoObject. Every file holds the same number of pages (``--per-warc``, 2,000),
so a larger run is more files of the same size, as a larger crawl is: each
shard does the same work and returns a result of the same size at every scale,
and only the number of shards and pages grows. The smaller set is the first
files of the larger one.

For each size and executor it runs the real CLI
(``python -m harvester harvest WARC... -o OUT/manifest.json``) as a subprocess
and measures, for the coordinating (driver) process only, not its pool or
cluster workers:

* the peak RSS: psutil's ``memory_info().rss`` polled every 20 ms, and the
  kernel's high-water mark ``VmHWM`` from ``/proc/PID/status`` (the true peak,
  read on every poll; the last reading before exit is kept);
* the wall time;
* whether the manifest is complete: the run's page / video / failed counts equal
  the generated totals, and every generated video (by page URL or contentUrl)
  appears exactly once. The manifest may list every page or only some, may be
  JSON or JSON lines, and may be a small summary whose ``parts`` name JSONL(.gz)
  files holding the records: all of these are read.

Usage::

    python scripts/bench_scale.py                          # 20k and 200k, 3 executors
    python scripts/bench_scale.py --sizes 2000,20000 --executors serial,local
    python scripts/bench_scale.py --format jsonl --repeat 3 --keep
    python scripts/bench_scale.py --dask-cluster external  # dask scheduler + 2 workers here

The target is a peak driver RSS at 200k pages within 1.3x of the one at 20k.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.warcgen import GenPage, page_html, write_warc  # noqa: E402

# Bumped whenever the generated pages change, so a stale cache is not reused.
GENERATOR_VERSION = 1
VIDEO_EVERY = 20  # 5% of pages carry one video
HOST = "https://news.example"
MEDIA = "https://media.example"
POLL_SECONDS = 0.02
TARGET_RATIO = 1.3
MIB = 1024 * 1024


# --------------------------------------------------------------------------- corpus

def page_url(file_index: int, n: int) -> str:
    """The URL of global page ``n``, which lives in WARC file ``file_index``."""
    return f"{HOST}/w{file_index:05d}/article-{n}.html"


def has_video(n: int) -> bool:
    """Whether global page ``n`` carries a video (one page in ``VIDEO_EVERY``)."""
    return n % VIDEO_EVERY == VIDEO_EVERY // 2


def content_url(n: int) -> str:
    """The contentUrl of the video on page ``n`` (as warcgen writes it)."""
    return f"{MEDIA}/media/clip-{n}.mp4"


def file_pages(file_index: int, per_warc: int) -> Iterator[GenPage]:
    """The pages of one WARC file: deterministic for the file, whatever else is built."""
    rng = random.Random(1_000_003 * GENERATOR_VERSION + file_index)
    for n in range(file_index * per_warc, (file_index + 1) * per_warc):
        url = page_url(file_index, n)
        video = ("json-ld", n) if has_video(n) else None
        html = page_html(rng, url, rng.randint(2000, 5000), video, base=MEDIA)
        yield GenPage(url=url, body=html.encode("utf-8"), videos=1 if video else 0)


def warc_path(directory: Path, file_index: int) -> Path:
    return directory / f"scale-{file_index:05d}.warc.gz"


def build_file(directory: str, file_index: int, per_warc: int) -> str:
    """Write one WARC file atomically (a partial file is never taken for a cached one)."""
    path = warc_path(Path(directory), file_index)
    partial = path.with_name(path.name + ".partial")
    write_warc(partial, file_pages(file_index, per_warc))
    partial.replace(path)
    return str(path)


def corpus_dir(work: Path, per_warc: int) -> Path:
    return work / f"warcs-v{GENERATOR_VERSION}-{per_warc}"


def build_corpus(work: Path, files: int, per_warc: int, jobs: int) -> list[str]:
    """The first ``files`` WARC files, generating only those not already cached."""
    directory = corpus_dir(work, per_warc)
    directory.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(files) if not warc_path(directory, i).exists()]
    if missing:
        started = time.perf_counter()
        print(f"generating {len(missing)} WARC files of {per_warc:,} pages in {directory} ...",
              flush=True)
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(build_file, [str(directory)] * len(missing), missing,
                          [per_warc] * len(missing)))
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    return [str(warc_path(directory, i)) for i in range(files)]


@dataclass(frozen=True, slots=True)
class Expected:
    """What a complete manifest of the first ``files`` files must say."""

    pages: int
    video_pages: dict[str, str]  # page URL -> contentUrl

    @classmethod
    def of(cls, files: int, per_warc: int) -> Expected:
        videos = {page_url(n // per_warc, n): content_url(n)
                  for n in range(files * per_warc) if has_video(n)}
        return cls(pages=files * per_warc, video_pages=videos)


# --------------------------------------------------------------------------- manifest check

def _open_text(path: Path) -> Any:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _jsonl_records(path: Path) -> Iterator[dict[str, Any]]:
    with _open_text(path) as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _part_paths(record: dict[str, Any], base: Path) -> list[Path]:
    """The files a summary's ``parts`` names, relative to the manifest's directory."""
    paths = []
    for part in record.get("parts") or []:
        name = part.get("path") if isinstance(part, dict) else part
        if isinstance(name, str):
            paths.append(base / name)
    return paths


def manifest_records(path: Path, fmt: str) -> Iterator[dict[str, Any]]:
    """Every record of a manifest, typed like JSONL lines ("run", "page", "video", "end").

    A JSON manifest is unfolded into such records; a summary (JSON or JSONL) that
    lists ``parts`` has the records of those parts read in its place, and a
    summary's own ``videos`` are then ignored, so no video is counted twice.
    """
    base = path.parent
    if fmt == "jsonl":
        for record in _jsonl_records(path):
            yield record
            for part in _part_paths(record, base):
                yield from _jsonl_records(part)
        return
    with path.open(encoding="utf-8") as handle:
        top = json.load(handle)
    run = dict(top.get("run") or {})
    if "counts" in top and "counts" not in run:
        run["counts"] = top["counts"]
    yield {"type": "run", **run}
    parts = _part_paths(top, base)
    if parts:
        for part in parts:
            yield from _jsonl_records(part)
        return
    for page in top.get("pages") or []:
        yield {"type": "page", **page}
    for video in top.get("videos") or []:
        yield {"type": "video", **video}


def video_content_url(video: dict[str, Any]) -> str | None:
    declared = video.get("declared") or {}
    data = video.get("data") or {}
    url = declared.get("content_url") or data.get("contentUrl") or video.get("contentUrl")
    return url if isinstance(url, str) else None


@dataclass(slots=True)
class Check:
    """The verdict on one manifest: complete, or the reasons it is not."""

    counts: dict[str, Any] = field(default_factory=dict)
    video_entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems


def check_manifest(path: Path, fmt: str, expected: Expected) -> Check:
    """Compare a manifest with what the generator put in the WARC files."""
    check = Check()
    if not path.exists():
        check.problems.append(f"no manifest at {path}")
        return check
    by_url = {url: page for page, url in expected.video_pages.items()}
    found: dict[str, int] = {}
    unknown = 0
    for record in manifest_records(path, fmt):
        if isinstance(record.get("counts"), dict):
            check.counts = record["counts"]  # the last one wins: "end" after "run"
        if record.get("type") != "video":
            continue
        check.video_entries += 1
        page = record.get("page")
        if page not in expected.video_pages:
            page = by_url.get(video_content_url(record) or "")
        if page is None:
            unknown += 1
        else:
            found[page] = found.get(page, 0) + 1
    missing = len(expected.video_pages) - len(found)
    twice = sum(1 for n in found.values() if n > 1)
    want = {"pages": expected.pages, "videos": len(expected.video_pages), "pages_failed": 0}
    for key, value in want.items():
        if check.counts.get(key) != value:
            check.problems.append(f"counts.{key}={check.counts.get(key)} (want {value})")
    if missing:
        check.problems.append(f"{missing} expected videos missing")
    if twice:
        check.problems.append(f"{twice} videos listed more than once")
    if unknown:
        check.problems.append(f"{unknown} videos not generated")
    return check


# --------------------------------------------------------------------------- measuring

def read_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (bytes) of ``pid``; empty once it has exited (a zombie has none)."""
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    key, value = line.split(":", 1)
                    values[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return values


@dataclass(slots=True)
class Measured:
    """One driver run: peak memory, wall time, exit code and the manifest's verdict."""

    executor: str
    pages: int
    polled_peak: int = 0  # bytes, psutil rss polled every 20 ms
    hwm: int = 0  # bytes, last VmHWM read before exit (0 where /proc has none)
    seconds: float = 0.0
    returncode: int | None = None
    check: Check | None = None

    @property
    def peak(self) -> int:
        return max(self.polled_peak, self.hwm)

    @property
    def complete(self) -> bool:
        return self.returncode == 0 and self.check is not None and self.check.complete


def watch(process: subprocess.Popen[bytes], measured: Measured, timeout: float) -> None:
    """Poll the driver's memory until it exits (killing it after ``timeout`` seconds)."""
    started = time.perf_counter()
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        with contextlib.suppress(psutil.Error):  # exited between poll() and the read
            measured.polled_peak = max(measured.polled_peak, watched.memory_info().rss)
        hwm = read_status(process.pid).get("VmHWM")
        if hwm:
            # Monotonic while the process lives: the last reading is the peak but for
            # the final 20 ms, when the process is writing out and freeing.
            measured.hwm = hwm
        if time.perf_counter() - started > timeout:
            process.kill()
            process.wait()
            break
        time.sleep(POLL_SECONDS)
    measured.seconds = time.perf_counter() - started
    measured.returncode = process.returncode


def child_env() -> dict[str, str]:
    """The environment for the CLI: this checkout's harvester first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def executor_args(executor: str, workers: int, scheduler: str | None) -> list[str]:
    if executor == "serial":
        return []
    args = ["--executor", executor, "--workers", str(workers)]
    if executor == "dask" and scheduler:
        args += ["--scheduler", scheduler]
    return args


def run_once(warcs: Sequence[str], executor: str, out: Path, args: argparse.Namespace,
             expected: Expected, scheduler: str | None) -> Measured:
    """One CLI run into a fresh ``out`` directory, measured and checked."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    manifest = out / ("manifest.jsonl" if args.format == "jsonl" else "manifest.json")
    command = [sys.executable, "-m", "harvester", "harvest", *warcs, "-o", str(manifest), "-q",
               *executor_args(executor, args.workers, scheduler)]
    if args.format == "jsonl":
        command.append("--jsonl")
    measured = Measured(executor=executor, pages=expected.pages)
    with (out / "stdout.log").open("wb") as stdout, (out / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=out,
                                   env=child_env())
        watch(process, measured, args.timeout)
    measured.check = check_manifest(manifest, args.format, expected)
    if measured.returncode != 0:
        tail = (out / "stderr.log").read_text(errors="replace").strip().splitlines()[-3:]
        measured.check.problems.append(f"exit code {measured.returncode}: {' | '.join(tail)}")
    return measured


def best_of(runs: list[Measured]) -> Measured:
    """The lowest peak and the shortest time of the repeats; complete only if all were."""
    best = Measured(executor=runs[0].executor, pages=runs[0].pages)
    best.polled_peak = min(r.polled_peak for r in runs)
    best.hwm = min(r.hwm for r in runs)
    best.seconds = min(r.seconds for r in runs)
    failed = [r for r in runs if not r.complete]
    best.returncode = failed[0].returncode if failed else 0
    best.check = failed[0].check if failed else runs[0].check
    return best


# --------------------------------------------------------------------------- dask cluster

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class ExternalCluster:
    """A ``dask scheduler`` and worker processes on 127.0.0.1, stopped by their pids."""

    workers: int
    logs: Path
    address: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> str:
        dask = str(Path(sys.executable).with_name("dask"))
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.logs.mkdir(parents=True, exist_ok=True)
        self._spawn([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                     "--no-dashboard"], "scheduler")
        for n in range(self.workers):
            self._spawn([dask, "worker", self.address, "--nworkers", "1", "--nthreads", "1",
                         "--host", "127.0.0.1", "--no-dashboard"], f"worker-{n}")
        self._wait_for_workers()
        return self.address

    def _spawn(self, command: list[str], name: str) -> None:
        with (self.logs / f"{name}.log").open("wb") as log:
            self.processes.append(subprocess.Popen(command, stdout=log, stderr=log,
                                                   env=child_env()))

    def _wait_for_workers(self) -> None:
        from distributed import Client

        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(self.address, timeout=5) as client:
                    client.wait_for_workers(self.workers, timeout=60)
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        # Workers first, so none tries to reconnect to a scheduler already gone.
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()


# --------------------------------------------------------------------------- report

def mib(value: int) -> str:
    return f"{value / MIB:.0f}" if value else "-"


def short(pages: int) -> str:
    """20000 -> '20k', 2500 -> '2.5k', 800 -> '800'."""
    return f"{pages / 1000:g}k" if pages >= 1000 else str(pages)


def verdict(run: Measured | None) -> str:
    if run is None:
        return "-"
    if run.complete:
        return "yes"
    return "NO (" + "; ".join(run.check.problems if run.check else ["not checked"]) + ")"


def print_table(results: dict[tuple[str, int], Measured], executors: Sequence[str],
                sizes: Sequence[int]) -> None:
    """Per executor: peak driver RSS at each size, the largest/smallest ratio, times."""
    small, large = min(sizes), max(sizes)
    header = ["executor"] + [f"peak RSS {s:,} (MiB)" for s in sizes]
    header += [f"ratio {short(large)}/{short(small)}"] + [f"wall {s:,} (s)" for s in sizes]
    header += ["complete"]
    rows = []
    for executor in executors:
        runs = [results.get((executor, s)) for s in sizes]
        low, high = results.get((executor, small)), results.get((executor, large))
        ratio = f"{high.peak / low.peak:.2f}" if low and high and low.peak else "-"
        if ratio != "-":
            ratio += " ok" if float(ratio) <= TARGET_RATIO else " over"
        row = [executor] + [mib(r.peak) if r else "-" for r in runs] + [ratio]
        row += [f"{r.seconds:.1f}" if r else "-" for r in runs]
        row += [", ".join(f"{short(s)} {verdict(r)}" for s, r in zip(sizes, runs, strict=True))]
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)), flush=True)
    print(f"(peak = max of VmHWM and psutil rss polled every {POLL_SECONDS * 1000:.0f} ms, "
          f"driver process only; target ratio <= {TARGET_RATIO})")


def describe_setup(sizes: Sequence[int], per_warc: int, args: argparse.Namespace) -> None:
    shapes = ", ".join(f"{s:,} pages = {s // per_warc} files x {per_warc:,}" for s in sizes)
    print(f"sets: {shapes} (same file size at every scale, so each shard's work and result\n"
          f"      are the same size; only the number of shards and pages grows)")
    print(f"pages: about 2-5 KB of HTML (3.6 KB on average), 1 in {VIDEO_EVERY} with one "
          f"JSON-LD VideoObject; manifest format {args.format}; workers {args.workers}; "
          f"best of {args.repeat}")
    probe = subprocess.run([sys.executable, "-c", "import harvester; print(harvester.__file__)"],
                           capture_output=True, text=True, env=child_env(), cwd="/")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True)
    print(f"code: {probe.stdout.strip()} (commit {commit.stdout.strip() or '?'}); "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)


# --------------------------------------------------------------------------- main

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="20000,200000",
                        help="page counts, comma-separated (multiples of --per-warc)")
    parser.add_argument("--executors", default="serial,local,dask",
                        help="any of serial, local, dask, comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="runs per cell; best of N")
    parser.add_argument("--keep", action="store_true", help="keep manifests and shard dirs")
    parser.add_argument("--format", choices=("json", "jsonl"), default="json",
                        help="manifest format (jsonl passes --jsonl)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-scale"),
                        help="cache of generated WARC files, and run outputs")
    parser.add_argument("--per-warc", type=int, default=2000, help="pages per WARC file")
    parser.add_argument("--workers", type=int, default=2,
                        help="--workers for local and dask (and dask workers started here)")
    parser.add_argument("--dask-cluster", choices=("local", "external"), default="local",
                        help="local: the CLI starts its LocalCluster (in the driver's "
                             "process, so the scheduler's memory counts); external: start "
                             "'dask scheduler' and --workers 'dask worker's on 127.0.0.1 "
                             "here and pass --scheduler")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds before one CLI run is killed")
    parser.add_argument("--jobs", type=int, default=2, help="processes generating WARCs")
    args = parser.parse_args(argv)
    args.size_list = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    args.executor_list = [e.strip() for e in args.executors.split(",") if e.strip()]
    for size in args.size_list:
        if size <= 0 or size % args.per_warc:
            parser.error(f"size {size} is not a positive multiple of --per-warc {args.per_warc}")
    for executor in args.executor_list:
        if executor not in ("serial", "local", "dask"):
            parser.error(f"unknown executor {executor!r}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes, executors = args.size_list, args.executor_list
    warcs = build_corpus(args.work, max(sizes) // args.per_warc, args.per_warc, args.jobs)
    describe_setup(sizes, args.per_warc, args)
    cluster = None
    scheduler = None
    if "dask" in executors and args.dask_cluster == "external":
        cluster = ExternalCluster(workers=args.workers, logs=args.work / "dask-logs")
        scheduler = cluster.start()
        print(f"dask: scheduler {scheduler}, {args.workers} workers "
              f"(pids {[p.pid for p in cluster.processes]})", flush=True)
    results: dict[tuple[str, int], Measured] = {}
    try:
        # Executors take turns within each size and repeat, so a busy spell on the
        # shared machine lands on all of them rather than on one.
        for size in sizes:
            files = size // args.per_warc
            expected = Expected.of(files, args.per_warc)
            runs: dict[str, list[Measured]] = {e: [] for e in executors}
            for attempt in range(args.repeat):
                for executor in executors:
                    out = args.work / "runs" / f"{executor}-{size}-{args.format}-{attempt}"
                    run = run_once(warcs[:files], executor, out, args, expected, scheduler)
                    runs[executor].append(run)
                    print(f"  {executor:<6} {size:>7,} pages: peak {mib(run.peak)} MiB "
                          f"(polled {mib(run.polled_peak)}, VmHWM {mib(run.hwm)}), "
                          f"{run.seconds:.1f} s, complete: {verdict(run)}", flush=True)
                    if not args.keep:
                        shutil.rmtree(out, ignore_errors=True)
            for executor in executors:
                results[(executor, size)] = best_of(runs[executor])
    finally:
        if cluster:
            cluster.stop()
    print()
    print_table(results, executors, sizes)
    return 0 if all(r.complete for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
