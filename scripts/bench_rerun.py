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

Exit status 0 when the second run took under ``--max-ratio`` (10%) of the first.
Needs ffmpeg (to make the media) and loopback networking only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.server import LoopbackServer  # noqa: E402
from tests.support.site import Site  # noqa: E402


def build_site(site: Site, pages: int, videos: int) -> None:
    """Spread ``videos`` over ``pages`` articles as evenly as possible."""
    keys = [f"v{i:04d}" for i in range(videos)]
    for key in keys:
        site.add_media(key)
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


def timed_run(config: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harvester", "harvest", "--config", str(config)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"harvester exited {done.returncode}: {done.stderr.strip()}")
    return elapsed


def second_run_problems(server: LoopbackServer) -> list[str]:
    problems = []
    media = [r.path for r in server.log if r.path.startswith("/media/")]
    if media:
        problems.append(f"{len(media)} media requests in the second run, e.g. {media[0]}")
    plain = [r.path for r in server.log if "If-None-Match" not in r.headers]
    if plain:
        problems.append(f"{len(plain)} unconditional requests, e.g. {plain[0]}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--videos", type=int, default=300)
    parser.add_argument("--no-probe", action="store_true", help="do not run ffprobe")
    parser.add_argument("--max-ratio", type=float, default=0.10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rerun-") as tmp, LoopbackServer() as server:
        work = Path(tmp)
        site = Site(server, media_dir=work)
        build_site(site, args.pages, args.videos)
        config = write_config(work, site, probe=not args.no_probe)
        first = timed_run(config)
        first_requests = len(server.log)
        server.log.clear()
        second = timed_run(config)
        problems = second_run_problems(server)
        ratio = second / first
        print(f"pages={args.pages} videos={args.videos} probe={not args.no_probe}")
        print(f"first run:  {first:7.2f} s  ({first_requests} requests)")
        print(f"second run: {second:7.2f} s  ({len(server.log)} requests)")
        print(f"ratio:      {ratio:7.1%}  (limit {args.max_ratio:.0%})")
        for problem in problems:
            print(f"problem: {problem}")
        return 0 if ratio < args.max_ratio and not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
