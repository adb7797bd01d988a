#!/usr/bin/env python3
"""Measure what a scheduled re-run costs: a first run, then an unchanged second run.

A loopback news site serves ``--pages`` articles carrying ``--videos`` videos
(each with a thumbnail), answering conditional and range requests.  The
harvester runs twice as cron would run it (``python -m harvester harvest
--config ...`` in a subprocess, with ``--download`` and a state file), and the
script prints both wall times and their ratio.  It also checks that the
second run sent only conditional page requests and no media request.

    python scripts/bench_rerun.py                  # 200 pages, 300 videos, with ffprobe
    python scripts/bench_rerun.py --no-probe       # downloads only
    python scripts/bench_rerun.py --large-mb 1536 --reruns 3

With ``--large-mb`` the same site is measured twice, once with its small media
and once with every video padded so that the media on disk add up to that
many MB; the unchanged re-runs (best of ``--reruns``) of both are printed with
their difference: what the bytes on disk cost a re-run (files whose size and
modification time are unchanged are not read again, so it should be nothing;
``--max-extra`` is the limit, 0.1 s).

Exit status 0 when the second run took under ``--max-ratio`` (10%) of the first
(and, with ``--large-mb``, the large media added under ``--max-extra``).
Needs ffmpeg (to make the media) and loopback networking only.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.server import LoopbackServer  # noqa: E402
from tests.support.site import Site  # noqa: E402


def build_site(site: Site, pages: int, videos: int, pad: int = 0) -> None:
    """Spread ``videos`` over ``pages`` articles as evenly as possible (each video
    padded by ``pad`` bytes)."""
    keys = [f"v{i:04d}" for i in range(videos)]
    for key in keys:
        site.add_media(key, pad=pad)
    for n in range(pages):
        site.set_page(f"/news/{n:04d}.html", keys[n::pages])


def write_config(work: Path, site: Site, probe: bool) -> Path:
    (work / "pages.txt").write_text("\n".join(site.page_urls()) + "\n", "utf-8")
    lines = [f'inputs = ["{work / "pages.txt"}"]', f'output = "{work / "manifest.json"}"',
             f'state = "{work / "state.sqlite"}"', f'dir = "{work / "media"}"',
             f'log_file = "{work / "harvester.jsonl"}"', "download = true",
             f"probe = {'true' if probe else 'false'}", "allow_private_hosts = true",
             "ignore_robots = true", "verbosity = -1"]
    path = work / "harvester.toml"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def timed_run(config: Path) -> tuple[float, float]:
    """Wall seconds of one run, and the CPU seconds of harvester and its ffprobes (which
    a busy machine inflates far less than the wall time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harvester", "harvest", "--config", str(config)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"harvester exited {done.returncode}: {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def second_run_problems(server: LoopbackServer) -> list[str]:
    problems = []
    media = [r.path for r in server.log if r.path.startswith("/media/")]
    if media:
        problems.append(f"{len(media)} media requests in the second run, e.g. {media[0]}")
    plain = [r.path for r in server.log if "If-None-Match" not in r.headers]
    if plain:
        problems.append(f"{len(plain)} unconditional requests, e.g. {plain[0]}")
    return problems


def media_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


@dataclass
class Setup:
    """One site, its config, and the timings of its runs."""

    work: Path
    server: LoopbackServer
    config: Path
    first: float = 0.0
    first_cpu: float = 0.0
    first_requests: int = 0
    seconds: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def rerun(self) -> None:
        self.server.log.clear()
        self.seconds.append(timed_run(self.config)[0])
        self.problems += second_run_problems(self.server)

    def report(self, args: argparse.Namespace) -> bool:
        second = min(self.seconds)
        ratio = second / self.first
        size = media_bytes(self.work / "media")
        print(f"pages={args.pages} videos={args.videos} probe={not args.no_probe} "
              f"media on disk={size / 1e6:.1f} MB")
        print(f"first run:  {self.first:7.2f} s  ({self.first_requests} requests; "
              f"{self.first_cpu:.1f} CPU-s in harvester and its ffprobes)")
        print(f"second run: {second:7.2f} s  ({len(self.server.log)} requests; best of "
              f"{len(self.seconds)}: {', '.join(f'{s:.2f}' for s in self.seconds)})")
        print(f"ratio:      {ratio:7.1%}  (limit {args.max_ratio:.0%})")
        for problem in self.problems:
            print(f"problem: {problem}")
        return ratio < args.max_ratio and not self.problems


def set_up(stack: ExitStack, args: argparse.Namespace, pad: int) -> Setup:
    """A site with videos padded by ``pad`` bytes, after its first run."""
    work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-rerun-")))
    server = stack.enter_context(LoopbackServer())
    site = Site(server, media_dir=work)
    build_site(site, args.pages, args.videos, pad)
    setup = Setup(work, server, write_config(work, site, probe=not args.no_probe))
    setup.first, setup.first_cpu = timed_run(setup.config)
    setup.first_requests = len(server.log)
    return setup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--videos", type=int, default=300)
    parser.add_argument("--no-probe", action="store_true", help="do not run ffprobe")
    parser.add_argument("--max-ratio", type=float, default=0.10)
    parser.add_argument("--reruns", type=int, default=1,
                        help="unchanged re-runs to time; the best counts")
    parser.add_argument("--large-mb", type=float, default=0,
                        help="also measure with the videos padded to this many MB in all")
    parser.add_argument("--max-extra", type=float, default=0.10,
                        help="seconds the large media may add to the unchanged re-run")
    args = parser.parse_args()
    with ExitStack() as stack:
        setups = [set_up(stack, args, 0)]
        if args.large_mb:
            setups.append(set_up(stack, args, int(args.large_mb * 1e6 / args.videos)))
        for _ in range(args.reruns):  # in turns, so both see the same machine
            for setup in setups:
                setup.rerun()
        ok = all([setup.report(args) for setup in setups])
        if not args.large_mb:
            return 0 if ok else 1
        small, large = (min(setup.seconds) for setup in setups)
        extra = large - small
        print(f"unchanged re-run: {small:.2f} s with small media, {large:.2f} s with "
              f"{args.large_mb:g} MB: {extra:+.2f} s (limit {args.max_extra:+.2f} s)")
        return 0 if ok and extra < args.max_extra else 1


if __name__ == "__main__":
    raise SystemExit(main())
