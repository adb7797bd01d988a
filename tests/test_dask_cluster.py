"""The whole cluster kept busy, a killed worker that costs nothing, and a bounded window.

Real clusters and real processes: a Dask ``LocalCluster`` of six single-thread
worker processes, the command line run as documented (``harvester harvest
... --executor dask --scheduler tcp://...``, or ``--executor local``) in its
own process, and pages served slowly by a loopback server so that shards are
still running when the test looks at the scheduler or kills a worker.  What is
in flight is counted by a plugin on the scheduler itself, not by the
coordinator; every sharded manifest is compared whole (pages, videos, counts)
with the serial run's.  The window (four shards per worker slot, never more
pending) is checked on the cluster, on a local pool, and on a cluster that
grows after the run started.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest

distributed = pytest.importorskip("distributed")

from distributed.diagnostics.plugin import SchedulerPlugin  # noqa: E402

from harvester.cli import main  # noqa: E402
from harvester.config import Config  # noqa: E402
from harvester.scale.executors import Window  # noqa: E402
from harvester.scale.runner import run_harvest  # noqa: E402
from harvester.scale.shards import harvest_sharded  # noqa: E402
from tests.support.faultserver import FaultServer, Reply  # noqa: E402
from tests.support.warcgen import corpus_pages  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 6
PAGES = 24        # one page a shard: four rounds of the six workers
PAGE_SECONDS = 0.4  # how long the server takes to send one page
RUN_TIMEOUT = 120


class InFlight(SchedulerPlugin):  # type: ignore[misc]  # distributed ships no type hints
    """On the scheduler: the most tasks processing at once, the most workers busy at
    once, the most tasks submitted and not yet finished, and tasks taken back from a
    worker that died while it held them."""

    name = "harvester-in-flight"

    def __init__(self) -> None:
        self.scheduler: Any = None
        self.processing: set[str] = set()
        self.unfinished: set[str] = set()
        self.most_processing = 0
        self.most_busy_workers = 0
        self.most_unfinished = 0
        self.taken_back = 0
        self.finished: set[str] = set()

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish == "processing":
            self.processing.add(key)
        else:
            self.processing.discard(key)
        if finish in ("waiting", "queued", "processing", "no-worker"):
            self.unfinished.add(key)
        else:  # memory, erred, released, forgotten
            self.unfinished.discard(key)
        if start == "processing" and finish in ("released", "waiting", "queued", "no-worker"):
            self.taken_back += 1
        if finish == "memory":
            self.finished.add(key)
        busy = sum(1 for ws in self.scheduler.workers.values() if ws.processing)
        self.most_processing = max(self.most_processing, len(self.processing))
        self.most_busy_workers = max(self.most_busy_workers, busy)
        self.most_unfinished = max(self.most_unfinished, len(self.unfinished))

    def figures(self) -> dict[str, int]:
        return {"processing": self.most_processing, "busy_workers": self.most_busy_workers,
                "unfinished": self.most_unfinished, "taken_back": self.taken_back,
                "finished": len(self.finished), "now_processing": len(self.processing)}


def _figures(dask_scheduler: Any) -> dict[str, int]:
    figures: dict[str, int] = dask_scheduler.plugins[InFlight.name].figures()
    return figures


def _executing(dask_worker: Any) -> int:
    """On a worker: how many tasks its threads are running now."""
    return len(dask_worker.state.executing)


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[FaultServer, list[str]]]:
    """Corpus-like pages, one in three with a video, each sent in about PAGE_SECONDS."""
    pages = list(corpus_pages(PAGES, video_every=3, min_size=3000, max_size=5000))
    with FaultServer() as srv:
        urls = [srv.script(f"/news/{n}.html",
                           Reply(body=page.body, content_type=page.content_type,
                                 trickle=(len(page.body) // 5 + 1, PAGE_SECONDS / 5)))
                for n, page in enumerate(pages)]
        yield srv, urls


@pytest.fixture(scope="module", autouse=True)
def _forkserver() -> Iterator[None]:
    """Worker processes (the Dask cluster's and the pools') start as forks of one server
    that imported Dask and harvester once: six workers on two cores start in about a
    second instead of importing everything six times.  Without effect, only slower,
    when an earlier test already started this process's fork server."""
    import dask
    from distributed.utils import get_mp_context

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        get_mp_context()  # Dask sets its preload list once, here, and not after ours
        multiprocessing.get_context("forkserver").set_forkserver_preload(
            ["__main__", "distributed", "harvester.scale.shards"])
        yield


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Six single-thread worker processes (more than this machine's cores: that is fine)."""
    with distributed.LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR,
                                  scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                  ) as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(WORKERS, timeout=60)
        yield client


@pytest.fixture
def in_flight(cluster: Any) -> Iterator[Callable[[], dict[str, int]]]:
    """A fresh counting plugin on the scheduler; call the result to read its figures."""
    cluster.wait_for_workers(WORKERS, timeout=60)  # a worker killed before is back
    cluster.register_plugin(InFlight())
    yield lambda: cluster.run_on_scheduler(_figures)  # type: ignore[no-any-return]
    cluster.unregister_scheduler_plugin(InFlight.name)


def _command(args: list[str], tmp_path: Path, name: str) -> tuple[list[str], Path]:
    """The command line a person types, as a process of its own; and its manifest path."""
    out = tmp_path / f"{name}.json"
    return ([sys.executable, "-c", "from harvester.cli import main; main()", "harvest",
             *args, "-o", str(out), "-q"], out)


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_command_left() -> Iterator[None]:
    """A test that fails half-way leaves no command running."""
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.poll() is None:
            process.kill()
        process.communicate()


def _start(args: list[str], tmp_path: Path, name: str) -> tuple[subprocess.Popen[str], Path]:
    command, out = _command(args, tmp_path, name)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _STARTED.append(process)
    return process, out


def _finish(process: subprocess.Popen[str], out: Path) -> dict[str, Any]:
    """Wait for the command; its manifest, without what differs from run to run."""
    output, _ = process.communicate(timeout=RUN_TIMEOUT)
    assert process.returncode == 0, output + _failures(out)
    return _document(out)


def _failures(out: Path) -> str:
    """The failed pages of the manifest at ``out``, to say why a run failed."""
    if not out.exists():
        return "no manifest"
    pages = json.loads(out.read_text("utf-8")).get("pages", [])
    return json.dumps([p for p in pages if p.get("error")])[:2000]


def _args(urls: list[str], tmp_path: Path, *extra: str) -> list[str]:
    """The page list and a config file: one page a shard, pages fetched in parallel, and
    every page listed in the manifest (not only those with videos)."""
    listing = tmp_path / "pages.txt"
    listing.write_text("\n".join(urls) + "\n", "utf-8")
    config = tmp_path / "harvester.toml"
    config.write_text("shard_size = 1\nper_host = 8\nconcurrency = 8\n", "utf-8")
    return ["-i", str(listing), "--config", str(config), "--ignore-robots", "--list-all-pages",
            *extra]


def _document(out: Path) -> dict[str, Any]:
    """A manifest without what differs from run to run: its times and its options."""
    document: dict[str, Any] = json.loads(out.read_text("utf-8"))
    del document["run"]["started"], document["run"]["finished"], document["run"]["options"]
    return document


@pytest.fixture(scope="module")
def serial(site: tuple[FaultServer, list[str]],
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The serial run's manifest (the same command without --executor): what every
    sharded run must give."""
    tmp_path = tmp_path_factory.mktemp("serial")
    out = tmp_path / "serial.json"
    with pytest.raises(SystemExit) as exit_code:
        main(["harvest", *_args(site[1], tmp_path), "-o", str(out), "-q"])
    assert exit_code.value.code == 0
    document = _document(out)
    assert [p["page"] for p in document["pages"]] == site[1]
    assert document["run"]["counts"]["pages"] == PAGES
    assert len(document["videos"]) == PAGES // 3
    return document


def _scheduler(client: Any) -> str:
    address: str = client.scheduler.address
    return address


def _wait_until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def pool_workers(parent: int) -> list[psutil.Process]:
    """The pool workers under process ``parent``: the children of its forkserver."""
    lines: dict[psutil.Process, tuple[int, str]] = {}
    for kid in psutil.Process(parent).children(recursive=True):
        try:
            lines[kid] = (kid.ppid(), " ".join(kid.cmdline()))
        except psutil.Error:  # gone, or a zombie: not a worker to kill
            continue
    servers = {p.pid for p, (ppid, line) in lines.items()
               if ppid == parent and "forkserver" in line}
    return [p for p, (ppid, line) in lines.items() if ppid in (servers or {parent})
            and "resource_tracker" not in line]


def test_a_killed_local_pool_worker_costs_nothing(
    site: tuple[FaultServer, list[str]], serial: dict[str, Any], tmp_path: Path,
) -> None:
    srv = site[0]
    before = len(srv.log)
    args = _args(site[1], tmp_path, "--executor", "local", "--workers", str(WORKERS))
    process, out = _start(args, tmp_path, "local")
    _wait_until(lambda: len(srv.log) - before >= 2 and bool(pool_workers(process.pid)),
                "the pool is at work")
    pool_workers(process.pid)[0].kill()
    document = _finish(process, out)
    assert len(srv.log) - before > PAGES  # the shards lost with the pool were fetched again
    assert document == serial


class CountingPool(ProcessPoolExecutor):
    """A real process pool (as ``--executor local`` makes one) that counts the tasks
    handed to it and not yet done: an upper bound of the results the driver holds."""

    def __init__(self, workers: int) -> None:
        super().__init__(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))
        self.lock = threading.Lock()
        self.outstanding = 0
        self.most = 0
        self.submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self.lock:
            self.submitted += 1
            self.outstanding += 1
            self.most = max(self.most, self.outstanding)
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Future[Any]) -> None:
        with self.lock:
            self.outstanding -= 1


def _page_files(tmp_path: Path, count: int) -> Path:
    """A folder of ``count`` small page files: with shard_size 1, as many quick shards."""
    folder = tmp_path / "pages"
    folder.mkdir()
    for page in corpus_pages(count, video_every=4, min_size=2000, max_size=3000):
        (folder / page.url.rsplit("/", 1)[1]).write_bytes(page.body)
    return folder


def test_the_window_on_a_local_pool_is_four_per_worker(tmp_path: Path) -> None:
    config = Config(output=None, executor="local", workers=2, shard_size=1,
                    list_all_pages=True, shard_dir=str(tmp_path / "shards"))
    with CountingPool(2) as pool:
        manifest = harvest_sharded([str(_page_files(tmp_path, 12))], config, executor=pool)
    assert len(manifest.pages) == 12 and pool.submitted == 12
    assert 2 < pool.most <= 4 * 2, pool.most


def test_the_documented_command_keeps_every_dask_worker_busy(
    cluster: Any, in_flight: Callable[[], dict[str, int]],
    site: tuple[FaultServer, list[str]], serial: dict[str, Any], tmp_path: Path,
) -> None:
    args = _args(site[1], tmp_path, "--executor", "dask", "--scheduler", _scheduler(cluster))
    document = _finish(*_start(args, tmp_path, "dask"))
    figures = in_flight()
    assert figures["finished"] == PAGES  # one task a shard
    assert figures["processing"] >= WORKERS, figures
    assert figures["busy_workers"] == WORKERS, figures
    assert document == serial


def test_a_killed_dask_worker_costs_nothing(
    cluster: Any, in_flight: Callable[[], dict[str, int]],
    site: tuple[FaultServer, list[str]], serial: dict[str, Any], tmp_path: Path,
) -> None:
    pids: dict[str, int] = cluster.run(os.getpid)
    args = _args(site[1], tmp_path, "--executor", "dask", "--scheduler", _scheduler(cluster))
    process, out = _start(args, tmp_path, "killed")
    # Once a shard is done, kill a worker that is running one (not just holding it).
    executing: dict[str, int] = {}

    def a_worker_is_at_work() -> bool:
        executing.update(cluster.run(_executing))
        return in_flight()["finished"] >= 1 and any(executing.values())

    _wait_until(a_worker_is_at_work, "the shards are running")
    os.kill(pids[next(a for a, n in executing.items() if n)], signal.SIGKILL)
    document = _finish(process, out)
    figures = in_flight()
    assert figures["taken_back"] >= 1, figures  # the kill cost a shard in flight ...
    # ... which ran again elsewhere (as did any whose result was held by the dead worker)
    assert figures["finished"] == PAGES, figures
    assert document == serial  # ... and the manifest is whole all the same


def test_the_window_on_a_dask_cluster_is_four_per_cluster_thread(
    cluster: Any, in_flight: Callable[[], dict[str, int]],
    site: tuple[FaultServer, list[str]], tmp_path: Path,
) -> None:
    srv = site[0]
    shards = 5 * WORKERS  # more than the window of 4 x 6, each a slow page
    body = b"<html><body>" + b" " * 2000 + b"</body></html>"
    urls = [srv.script(f"/window/{n}.html",
                       Reply(body=body, content_type="text/html",
                             trickle=(len(body) // 5 + 1, PAGE_SECONDS / 5)))
            for n in range(shards)]
    config = Config(output=None, executor="dask", scheduler=_scheduler(cluster), workers=1,
                    shard_size=1, ignore_robots=True, list_all_pages=True,
                    shard_dir=str(tmp_path / "shards"))
    # Every worker counts, past the first five (some releases list only five).
    assert Window(cluster.get_executor(pure=False), config).size() == 4 * WORKERS
    manifest = harvest_sharded(urls, config)
    figures = in_flight()
    assert len(manifest.pages) == shards and not manifest.failed
    assert figures["finished"] == shards
    # Never more than the window is handed to the scheduler; and the window comes from
    # the cluster's six threads, not from --workers 1 or this machine's two cores.
    assert 2 * WORKERS < figures["unfinished"] <= 4 * WORKERS, figures


def test_workers_that_join_mid_run_get_shards(
    site: tuple[FaultServer, list[str]], serial: dict[str, Any], tmp_path: Path,
) -> None:
    """A run started on a one-worker cluster keeps the six it grows to busy.

    Workers as threads of this process: they join in a moment, and how shards
    are handed out does not depend on where a worker runs."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None, silence_logs=logging.ERROR,
                                  scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                  ) as grown, distributed.Client(grown) as client:
        client.register_plugin(InFlight())
        config = Config(output=str(tmp_path / "grown.json"), executor="dask", shard_size=1,
                        scheduler=_scheduler(client), workers=1, per_host=8,
                        ignore_robots=True, list_all_pages=True,
                        shard_dir=str(tmp_path / "shards"))
        errors: list[BaseException] = []

        def run() -> None:
            try:
                run_harvest(site[1], config)
            except BaseException as exc:  # reported by the test, not lost with the thread
                errors.append(exc)

        runner = threading.Thread(target=run)
        runner.start()
        _wait_until(lambda: client.run_on_scheduler(_figures)["processing"] >= 1,
                    "the run has started")
        grown.scale(WORKERS)
        client.wait_for_workers(WORKERS, timeout=30)
        runner.join(RUN_TIMEOUT)
        assert not runner.is_alive() and not errors, errors
        figures = client.run_on_scheduler(_figures)
    # More in flight than the one worker's window of four: the joined workers got shards
    # (how many were busy at once depends on how soon they joined on a loaded machine).
    assert figures["processing"] > 4 and figures["busy_workers"] > 4, figures
    assert _document(tmp_path / "grown.json") == serial
