"""Wall time of harvester's HLS download against yt-dlp on the same stream.

Usage::

    python scripts/bench_stream.py [--duration 60] [--runs 3] [--fragments 2]

Makes one HLS stream with ffmpeg (``--duration`` seconds of testsrc with AAC
audio, two renditions 640x360 and 320x180, 2 s segments, a master playlist),
serves it from a loopback HTTP server in a separate process, then downloads
the best rendition to one MP4 with:

- ``harvester``: :func:`harvester.stream.download_stream` (playlists,
  segments through the network layer, remux with ffmpeg, sha256, fsync);
- ``yt-dlp``: its generic extractor on the master URL (``--force-generic-extractor``),
  native HLS downloader with ``--fragments`` segments at a time (harvester's
  default is two per host), then its ffmpeg fixup to MP4.

The tools take turns (the order rotates each run), each writes into an empty
directory and keeps its best of ``--runs``; both outputs are checked with
ffprobe (duration within 0.1 s of the source).  harvester runs in this
process, yt-dlp as a command: its start-up (``yt-dlp --version``, best of
``--runs``) is printed beside it.  Loopback only.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harvester.config import Config  # noqa: E402
from harvester.measure.probe import probe  # noqa: E402
from harvester.net.client import open_session  # noqa: E402
from harvester.stream import StreamOptions, download_stream  # noqa: E402
from tests.support.streams import make_master  # noqa: E402


def serve(root: Path) -> tuple[subprocess.Popen[str], int]:
    """``python -m http.server`` on 127.0.0.1, port 0, in its own process."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind",
                             "127.0.0.1", "--directory", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    match = re.search(r"port (\d+)", proc.stdout.readline())
    if match is None:
        proc.kill()
        raise SystemExit("the loopback server did not start")
    return proc, int(match.group(1))


def run_harvester(url: str, out: Path) -> Path:
    cfg = Config(allow_hosts=("127.0.0.1",))
    with open_session(cfg) as session:
        result = download_stream(url, session, StreamOptions(choice="best"), dest_dir=out,
                                 max_bytes=cfg.max_bytes)
    assert result.path is not None, result.error
    return out / result.path


def run_ytdlp(url: str, out: Path, fragments: int) -> Path:
    ytdlp = Path(sys.executable).with_name("yt-dlp")
    command = [str(ytdlp)] if ytdlp.exists() else [sys.executable, "-m", "yt_dlp"]
    subprocess.run([*command, "--no-config", "--quiet", "--no-progress", "--no-cache-dir",
                    "--force-generic-extractor", "-N", str(fragments), "-o",
                    str(out / "out.%(ext)s"), url], check=True, timeout=600)
    return next(out.glob("out.*"))


def ytdlp_startup(runs: int) -> float:
    """Best wall time of ``yt-dlp --version``: the start-up inside its figure."""
    ytdlp = Path(sys.executable).with_name("yt-dlp")
    command = [str(ytdlp)] if ytdlp.exists() else [sys.executable, "-m", "yt_dlp"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*command, "--version"], check=True, capture_output=True, timeout=60)
        times.append(time.perf_counter() - start)
    return min(times)


def check(path: Path, duration: float) -> None:
    measured = probe(path)
    assert measured.duration_s is not None and abs(measured.duration_s - duration) <= 0.1, \
        f"{path}: {measured}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fragments", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        root = Path(tmp)
        make_master(root / "www", duration=args.duration)
        server, port = serve(root / "www")
        url = f"http://127.0.0.1:{port}/master.m3u8"
        tools = {"harvester": lambda out: run_harvester(url, out),
                 "yt-dlp": lambda out: run_ytdlp(url, out, args.fragments)}
        best: dict[str, float] = {}
        try:
            for run in range(args.runs):
                order = list(tools)[run % 2:] + list(tools)[:run % 2]
                for name in order:
                    out = root / f"{name}-{run}"
                    out.mkdir()
                    start = time.perf_counter()
                    path = tools[name](out)
                    elapsed = time.perf_counter() - start
                    check(path, args.duration)
                    best[name] = min(best.get(name, elapsed), elapsed)
                    shutil.rmtree(out)
        finally:
            server.kill()
            server.wait()
    ratio = best["harvester"] / best["yt-dlp"]
    startup = ytdlp_startup(args.runs)
    print(json.dumps({"duration_s": args.duration, "segments": args.duration // 2,
                      "runs": args.runs, "best_s": {k: round(v, 3) for k, v in best.items()},
                      "ytdlp_startup_s": round(startup, 3),
                      "harvester_over_ytdlp": round(ratio, 2)}))
    print(f"harvester {best['harvester']:.2f} s, yt-dlp {best['yt-dlp']:.2f} s "
          f"(best of {args.runs}; {startup:.2f} s of it is yt-dlp starting up); "
          f"harvester/yt-dlp = {ratio:.2f}")


if __name__ == "__main__":
    main()
