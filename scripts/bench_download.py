"""Wall time and peak memory of harvester's downloader against aria2c and curl.

Usage::

    python scripts/bench_download.py [--files 16] [--size-mb 64] [--concurrency 8] [--runs 3]
    python scripts/bench_download.py --small      # 1,000 files of 200 KB: the per-file cost

Generates ``--files`` random files of ``--size-mb`` MB (with an MP4 ``ftyp``
header, so they sniff as media) in a temporary directory, serves them from a
loopback server in a separate process (``socket.sendfile``, so the server is
not the bottleneck), then downloads all of them with:

- ``harvester``: :func:`harvester.download.download` on a ThreadPoolExecutor of
  ``--concurrency`` workers, the names made durable by one directory fsync per
  directory at the end (:class:`harvester.download.DirSync`, as a run does), in
  a child process that reports its own peak RSS (``resource.getrusage``);
  streaming must keep it under 150 MB whatever the file size (exit status 1
  otherwise);
- ``aria2c -j N -x 1`` (one connection per file, N files at a time);
- ``curl`` under ``xargs -P N`` (N at a time).

Each contender writes into an empty directory; the order of the tools rotates
from run to run and each keeps its best of ``--runs``.  harvester also hashes
(sha256) and fsyncs every file, which the peers do not: a second column adds
to each peer the time to fsync its files after it exits, a third then the time
to hash them (``sha256sum``, one process per core), so that the last column
compares the same work.  Each row also gives the wall time per file (``ms/file``),
the figure that matters with ``--small``, where the fixed cost of each file
(request, create, hash, fsync, rename) outweighs its bytes.  Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RSS_LIMIT_MB = 150
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


def make_files(root: Path, count: int, size: int) -> list[Path]:
    """``count`` files of ``size`` random bytes behind an MP4 header."""
    files = []
    for i in range(count):
        path = root / f"f{i:04d}.mp4"
        with open(path, "wb") as fh:
            fh.write(MP4_HEAD)
            left = size - len(MP4_HEAD)
            while left > 0:
                block = os.urandom(min(left, 4 * 1024 * 1024))
                fh.write(block)
                left -= len(block)
        files.append(path)
    return files


class _Sendfile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = Path(".")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        path = self.root / Path(self.path).name
        if not path.is_file():
            self.send_error(404)
            return
        size = path.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(size))
        self.send_header("ETag", f'"{size}-{path.stat().st_mtime_ns}"')
        self.end_headers()
        self.wfile.flush()
        with open(path, "rb") as fh:
            self.connection.sendfile(fh)


def serve(root: str) -> None:
    """Child process: serve ``root`` on 127.0.0.1, print the port, run until killed."""
    _Sendfile.root = Path(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sendfile)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


def harvest(url_file: str, dest: str, concurrency: int) -> None:
    """Child process: download every URL with harvester; print timings and peak RSS."""
    from concurrent.futures import ThreadPoolExecutor

    sys.path.insert(0, str(REPO))
    from harvester.config import Config
    from harvester.download import DirSync, download
    from harvester.net.client import open_session

    urls = Path(url_file).read_text().split()
    cfg = Config(allow_private_hosts=True, concurrency=concurrency, per_host=concurrency,
                 retries=0, max_bytes=1 << 40)
    dirsync = DirSync()  # as a run does: one directory fsync per directory, then record
    started = time.perf_counter()
    with open_session(cfg) as client, ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda u: download(u, client, max_bytes=cfg.max_bytes,
                                                   dest_dir=Path(dest), dirsync=dirsync),
                                urls))
    dirsync.flush()
    wall = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": wall, "rss_mb": peak_kb / 1024,
                      "bytes": sum(r.bytes or 0 for r in results),
                      "sha256": sorted(r.sha256 or "" for r in results)}))


def _run(cmd: list[str], **kwargs: Any) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, **kwargs)
    return time.perf_counter() - started


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def run_harvester(urls: Path, out: Path, n: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--harvest", str(urls), str(_fresh(out)),
                           str(n)], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run_aria2(urls: Path, out: Path, n: int) -> float:
    return _run(["aria2c", "-j", str(n), "-x", "1", "-i", str(urls), "-d", str(_fresh(out)),
                 "--file-allocation=none", "--console-log-level=error", "--summary-interval=0",
                 "--quiet=true", "--allow-overwrite=true"])


def run_curl(urls: Path, out: Path, n: int) -> float:
    with open(urls) as fh:
        return _run(["xargs", "-P", str(n), "-n", "1", "curl", "-sS", "-f", "-O"], stdin=fh,
                    cwd=_fresh(out))


def _expected_hashes(files: list[Path]) -> list[str]:
    import hashlib

    out = []
    for path in files:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
        out.append(digest.hexdigest())
    return sorted(out)


def _start_server(root: Path) -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(root)],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, int(server.stdout.readline())


def bench(args: argparse.Namespace) -> int:
    size = int(args.size_mb * 1024 * 1024)
    total_mb = size * args.files / 1e6
    with tempfile.TemporaryDirectory(prefix="harvester-bench-") as tmp:
        root = Path(tmp)
        files = make_files(_fresh(root / "src"), args.files, size)
        server, port = _start_server(root / "src")
        try:
            urls = root / "urls.txt"
            urls.write_text("".join(f"http://127.0.0.1:{port}/{p.name}\n" for p in files))
            tools = ["harvester", "curl"] + (["aria2c"] if shutil.which("aria2c") else [])
            best: dict[str, tuple[float, ...]] = {}
            rss = 0.0
            for run in range(args.runs):
                # Rotate the order so no tool always runs first (or last) on a warm disk.
                for tool in tools[run % len(tools):] + tools[:run % len(tools)]:
                    out = root / f"out-{tool}"
                    if tool == "harvester":
                        mine = run_harvester(urls, out, args.concurrency)
                        if mine["sha256"] != _expected_hashes(files):
                            print("harvester stored different bytes than were served",
                                  file=sys.stderr)
                            return 1
                        rss = max(rss, mine["rss_mb"])
                        # It fsyncs and hashes every file itself.
                        timing = (mine["wall"], mine["wall"], mine["wall"])
                    else:
                        wall = (run_aria2 if tool == "aria2c" else run_curl)(
                            urls, out, args.concurrency)
                        synced = wall + _fsync_all(out)
                        timing = (wall, synced, synced + _hash_all(out))
                    old = best.get(tool)
                    best[tool] = timing if old is None else tuple(
                        min(a, b) for a, b in zip(old, timing, strict=True))
        finally:
            server.kill()
            server.wait()
    return report(best, rss, total_mb, args)


def _fsync_all(out: Path) -> float:
    """Seconds to make a peer's files durable, as harvester's are when it returns."""
    started = time.perf_counter()
    for path in out.iterdir():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return time.perf_counter() - started


def _hash_all(out: Path) -> float:
    """Seconds to sha256 a peer's files (two sha256sum processes, one per core)."""
    names = "\n".join(str(p) for p in out.iterdir()) + "\n"
    started = time.perf_counter()
    subprocess.run(["xargs", "-P", "2", "-n", "8", "sha256sum"], input=names, text=True,
                   check=True, capture_output=True)
    return time.perf_counter() - started


def report(best: dict[str, tuple[float, ...]], rss: float, total_mb: float,
           args: argparse.Namespace) -> int:
    peer_best = [min(v[i] for k, v in best.items() if k != "harvester") for i in range(3)]
    print(f"{args.files} files x {args.size_mb:g} MB, {args.concurrency} at a time, "
          f"loopback, best of {args.runs} (order rotated each run)")
    print(f"{'tool':<12}{'wall s':>9}{'MB/s':>9}{'ms/file':>9}{'vs best':>9}{'+fsync s':>10}"
          f"{'ms/file':>9}{'vs best':>9}{'+sha256 s':>11}{'ms/file':>9}{'vs best':>9}")
    per_file = 1000 / args.files
    for tool, (wall, synced, hashed) in sorted(best.items(), key=lambda kv: kv[1][0]):
        print(f"{tool:<12}{wall:>9.2f}{total_mb / wall:>9.0f}{wall * per_file:>9.2f}"
              f"{wall / peer_best[0]:>8.2f}x{synced:>10.2f}{synced * per_file:>9.2f}"
              f"{synced / peer_best[1]:>8.2f}x{hashed:>11.2f}{hashed * per_file:>9.2f}"
              f"{hashed / peer_best[2]:>8.2f}x")
    print(f"harvester peak RSS: {rss:.0f} MB (limit {RSS_LIMIT_MB} MB).  harvester hashes "
          "(sha256) and fsyncs every file before returning; for the peers, '+fsync' adds "
          "the time to fsync their files after they exit and '+sha256' then the time to "
          "hash them (sha256sum, one per core): the same work harvester does")
    return 0 if rss < RSS_LIMIT_MB else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--size-mb", type=float, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--small", action="store_true",
                        help="1,000 files of 200 KB (sets --files and --size-mb)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--harvest", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.harvest:
        harvest(args.harvest[0], args.harvest[1], int(args.harvest[2]))
        return 0
    if args.small:
        args.files, args.size_mb = 1000, 200 / 1024
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
