"""Sharded runs: same manifest on every executor, resumable, failures redone."""

from __future__ import annotations

import json
import pickle
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harvester.config import Config
from harvester.inputs.sources import iter_sources
from harvester.inputs.warc import READER_ENV, READERS
from harvester.pipeline.run import Event, harvest
from harvester.scale.shards import harvest_sharded, plan_shards, process_shard
from harvester.scale.shardstore import ShardStore
from harvester.store.manifest import Manifest, manifest_problems
from tests.support.warcgen import corpus_pages, warc_bytes

PAGES_PER_WARC = 30


class CountingExecutor(Executor):
    """A thread pool that counts the tasks it was given."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return self.pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@pytest.fixture(scope="module")
def warcs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Three WARC files of corpus-like pages, one in five with a video in some syntax."""
    root = tmp_path_factory.mktemp("warcs")
    pages = list(corpus_pages(3 * PAGES_PER_WARC, video_every=5, min_size=8000,
                              max_size=16000))
    paths = []
    for n in range(3):
        path = root / f"crawl-{n}.warc.gz"
        path.write_bytes(warc_bytes(pages[n * PAGES_PER_WARC:(n + 1) * PAGES_PER_WARC]))
        paths.append(str(path))
    # The same capture again in a fourth file: its videos must not be counted twice.
    (root / "recrawl.warc.gz").write_bytes(warc_bytes(pages[:5]))
    return [*paths, str(root / "recrawl.warc.gz")]


def _document(manifest: Manifest) -> dict[str, Any]:
    document = manifest.to_dict()
    del document["run"]["started"], document["run"]["finished"]
    return document


def _config(tmp_path: Path, executor: str = "local", **extra: Any) -> Config:
    return Config(output=None, executor=executor, workers=2,
                  shard_dir=str(tmp_path / f"shards-{executor}"), **extra)


def test_plan_is_stable_and_records_pickle(warcs: list[str], tmp_path: Path) -> None:
    config = _config(tmp_path, shard_size=2)
    sources = list(iter_sources([*warcs, *warcs[:1]]))
    first, second = list(plan_shards(sources, config)), list(plan_shards(sources, config))
    assert [s.id for s in first] == [s.id for s in second]
    assert [s.kind for s in first] == ["warc"] * 4  # the repeated file is one source
    assert pickle.loads(pickle.dumps((first[0], config))) == (first[0], config)
    result = process_shard(first[0], config)
    assert pickle.loads(pickle.dumps(result)) == result
    assert result.pages == PAGES_PER_WARC and result.videos == PAGES_PER_WARC // 5


def test_local_pool_dask_and_serial_give_the_same_manifest(
    warcs: list[str], tmp_path: Path,
) -> None:
    local = harvest_sharded(warcs, _config(tmp_path, "local"))
    dask = harvest_sharded(warcs, _config(tmp_path, "dask"))
    serial = harvest(warcs[:3], Config(output=None))
    assert _document(local) == _document(dask)
    assert manifest_problems(local.to_dict()) == []
    # The recrawl repeats five pages: each page and video is reported once.
    ids = [v.id for v in local.videos]
    assert len(ids) == len(set(ids)) == 3 * PAGES_PER_WARC // 5
    assert [p.ref for p in local.pages] == [p.ref for p in serial.pages]
    assert _document(local)["videos"] == _document(serial)["videos"]


def test_second_run_processes_nothing(warcs: list[str], tmp_path: Path) -> None:
    config = _config(tmp_path)
    events: list[Event] = []
    with CountingExecutor() as pool:
        first = harvest_sharded(warcs, config, executor=pool)
        assert pool.submitted == 4
    store = ShardStore(str(config.shard_dir))
    stamps = {p: p.stat().st_mtime_ns for p in Path(str(config.shard_dir)).iterdir()}
    with CountingExecutor() as pool:
        again = harvest_sharded(warcs, config, executor=pool, progress=events.append)
        assert pool.submitted == 0  # no shard, hence no page, was processed again
    assert {p: p.stat().st_mtime_ns for p in Path(str(config.shard_dir)).iterdir()} == stamps
    assert _document(again) == _document(first)
    events = [e for e in events if e.kind != "run"]  # the run's start is announced too
    assert [e.kind for e in events] == ["shard"] * 4
    assert sum(e.amount for e in events) == 3 * PAGES_PER_WARC + 5
    assert len(store.completed()) == 4


def test_a_failed_shard_is_redone_on_resume(warcs: list[str], tmp_path: Path) -> None:
    config = _config(tmp_path)
    shards = list(plan_shards(iter_sources(warcs), config))
    blocked = Path(str(config.shard_dir)) / f"{shards[1].id}.part.json.gz"
    blocked.mkdir(parents=True)  # the part cannot be written: the shard fails
    with CountingExecutor() as pool:
        broken = harvest_sharded(warcs, config, executor=pool)
        assert pool.submitted == len(shards) + 1  # the failed shard was tried twice
    failed = [p for p in broken.pages if p.error is not None]
    assert [p.error.code for p in failed if p.error] == ["shard_failed"]
    assert broken.failed
    assert shards[1].id not in ShardStore(str(config.shard_dir)).completed()
    blocked.rmdir()
    with CountingExecutor() as pool:
        resumed = harvest_sharded(warcs, config, executor=pool)
        assert pool.submitted == 1  # only the failed shard
    assert not resumed.failed
    fresh = replace(config, shard_dir=str(tmp_path / "fresh"))
    assert _document(resumed) == _document(harvest_sharded(warcs, fresh))


class LosesFirstTries(CountingExecutor):
    """A pool whose first task for each shard is lost, as when a Dask worker holding
    the result dies: the future fails without the shard having run."""

    def __init__(self) -> None:
        super().__init__()
        self.lost: set[str] = set()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        shard = args[0]
        if shard.id in self.lost:
            return super().submit(fn, *args, **kwargs)
        self.lost.add(shard.id)
        self.submitted += 1
        future: Future[Any] = Future()
        future.set_exception(OSError("the worker holding this result was lost"))
        return future


def test_a_shard_lost_with_its_worker_is_run_again(warcs: list[str], tmp_path: Path) -> None:
    config = _config(tmp_path)
    with LosesFirstTries() as pool:
        manifest = harvest_sharded(warcs, config, executor=pool)
        assert pool.submitted == 2 * len(pool.lost) == 8
    assert not manifest.failed
    fresh = replace(config, shard_dir=str(tmp_path / "fresh"))
    assert _document(manifest) == _document(harvest_sharded(warcs, fresh))


@pytest.mark.parametrize("reader", READERS)
def test_a_corrupt_record_is_counted_not_fatal(tmp_path: Path, reader: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(READER_ENV, reader)
    pages = list(corpus_pages(6, video_every=2, min_size=4000, max_size=6000))
    members = [warc_bytes([p]) for p in pages]
    members[2] = members[2][:30] + b"\x00" * 100 + members[2][130:]
    path = tmp_path / "damaged.warc.gz"
    path.write_bytes(b"".join(members))
    with CountingExecutor() as pool:
        manifest = harvest_sharded([str(path)], _config(tmp_path), executor=pool)
    errors = [p.error for p in manifest.pages if p.error is not None]
    assert [e.code for e in errors] == ["warc_corrupt"]
    assert "1 WARC record(s)" in errors[0].message
    assert manifest.counts()["pages"] == 6  # five pages read, plus the report of the lost one
    assert len(manifest.videos) == 3  # pages 1, 3 and 5; page 2 was lost
    assert "article-2.html" not in " ".join(p.ref for p in manifest.pages)


def test_page_files_are_chunked_by_shard_size(tmp_path: Path) -> None:
    pages_dir = tmp_path / "pages"
    pages_dir.mkdir()
    for page in corpus_pages(7, video_every=2, min_size=2000, max_size=3000):
        (pages_dir / page.url.rsplit("/", 1)[1]).write_bytes(page.body)
    config = _config(tmp_path, shard_size=3)
    assert [len(s.sources) for s in plan_shards(iter_sources([str(pages_dir)]), config)] \
        == [3, 3, 1]
    with CountingExecutor() as pool:
        manifest = harvest_sharded([str(pages_dir)], config, executor=pool)
    serial = harvest([str(pages_dir)], Config(output=None))
    assert _document(manifest)["videos"] == _document(serial)["videos"]
    assert manifest.counts()["pages"] == 7


def test_unknown_fsspec_protocol_is_a_clear_error(tmp_path: Path) -> None:
    from harvester.errors import ConfigError

    with pytest.raises(ConfigError, match="shard directory"):
        ShardStore("nosuchproto://bucket/run")


def test_cli_runs_sharded(warcs: list[str], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from harvester.cli import cli

    out = tmp_path / "manifest.json"
    args = ["harvest", *warcs[:2], "--executor", "local", "--workers", "2", "-o", str(out), "-q"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text("utf-8"))
    assert document["run"]["counts"]["pages"] == 2 * PAGES_PER_WARC
    assert len(list((tmp_path / "manifest.json.shards").glob("*.done"))) == 2


@pytest.mark.parametrize("reader", READERS)
def test_fsspec_urls_for_input_and_shards(warcs: list[str], reader: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import fsspec

    monkeypatch.setenv(READER_ENV, reader)
    memory = fsspec.filesystem("memory")
    memory.pipe_file("/crawl/a.warc.gz", Path(warcs[0]).read_bytes())
    config = Config(output=None, executor="local", shard_dir=f"memory://run-{reader}/shards")
    with CountingExecutor() as pool:
        manifest = harvest_sharded(["memory://crawl/a.warc.gz"], config, executor=pool)
    assert manifest.counts()["pages"] == PAGES_PER_WARC and not manifest.failed
    assert len(manifest.videos) == PAGES_PER_WARC // 5
    assert len(memory.glob(f"/run-{reader}/shards/*.done")) == 1
    with CountingExecutor() as pool:
        again = harvest_sharded(["memory://crawl/a.warc.gz"], config, executor=pool)
        assert pool.submitted == 0
    assert _document(again) == _document(manifest)


def test_downloads_run_inside_the_shard_and_resume_from_its_part(tmp_path: Path) -> None:
    from harvester.store.state import State
    from tests.support.server import LoopbackServer
    from tests.support.warcgen import GenPage

    media = Path(__file__).resolve().parent.parent / "harvester" / "samples" / "media"
    with LoopbackServer() as one, LoopbackServer("127.0.0.2") as two:
        pages = []
        for n, (server, clip) in enumerate([(one, "night-tram"), (one, "river-ferry"),
                                            (two, "city-lights"), (one, "night-tram")]):
            server.route(f"/{clip}.mp4", body=(media / f"{clip}.mp4").read_bytes(),
                         content_type="video/mp4")
            server.route(f"/{clip}.jpg", body=(media / f"{clip}.jpg").read_bytes(),
                         content_type="image/jpeg")
            blob = json.dumps({"@context": "https://schema.org", "@type": "VideoObject",
                               "name": clip, "contentUrl": server.url(f"/{clip}.mp4"),
                               "thumbnailUrl": server.url(f"/{clip}.jpg")})
            body = f'<script type="application/ld+json">{blob}</script>'.encode()
            pages.append(GenPage(url=f"https://news.example/{n}.html", body=body))
        warc = tmp_path / "media.warc.gz"
        warc.write_bytes(warc_bytes(pages))
        config = _config(tmp_path, download=True, allow_private_hosts=True, probe=False,
                         dir=str(tmp_path / "downloads"))
        with CountingExecutor() as pool, State.open(tmp_path / "state.db") as state:
            first = harvest_sharded([str(warc)], config, executor=pool, state=state)
            assert pool.submitted == 1  # the shard downloads its own media
            kept = {url: state.media(url) for url in (one.url("/night-tram.mp4"),
                                                      two.url("/city-lights.jpg"))}
            again = harvest_sharded([str(warc)], config, executor=pool, state=state)
            assert pool.submitted == 1  # resumed: the part holds the media too
        assert len(one.requests_to("/night-tram.mp4")) == 1  # two pages, one download
    statuses = [first.media[v.id].video.status.value for v in first.videos]  # type: ignore[union-attr]
    assert statuses == ["downloaded"] * 4
    assert all(r is not None and r.status.value == "cached" for r in kept.values())
    assert again.media == first.media
    assert len(list((tmp_path / "downloads").rglob("*.mp4"))) == 3
    assert list((tmp_path / "downloads" / ".locks").iterdir()) == []


def test_a_killed_pool_worker_costs_its_shards_not_the_run(tmp_path: Path) -> None:
    import multiprocessing
    import os
    import signal
    import threading
    from concurrent.futures import ProcessPoolExecutor

    from tests.support.faultserver import FaultServer, Reply

    with FaultServer() as srv:
        urls = [srv.script(f"/p{i}.html", Reply(body=b"<html>" + b" " * 4000 + b"</html>",
                                                content_type="text/html",
                                                trickle=(500, 0.2)))
                for i in range(10)]
        # One worker's window (4 in flight): shards are still waiting when one dies.
        config = Config(output=str(tmp_path / "m.json"), shard_dir=str(tmp_path / "shards"),
                        shard_size=1, ignore_robots=True, retries=0, executor="local",
                        workers=1)
        pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
        result: list[Manifest] = []
        runner = threading.Thread(target=lambda: result.append(
            harvest_sharded(urls, config, executor=pool)))
        runner.start()
        while not srv.log:  # a worker is busy with a page
            runner.join(0.05)
        os.kill(next(iter(pool._processes)), signal.SIGKILL)
        runner.join(60)
        pool.shutdown(wait=False, cancel_futures=True)
    assert result, "the run ended without a manifest"
    pages = result[0].pages
    assert any(p.error is not None and p.error.code == "shard_failed" for p in pages)
    assert manifest_problems(result[0].to_dict()) == []


def test_the_window_is_sized_by_the_cluster_not_this_machine() -> None:
    import logging

    from distributed import Client, LocalCluster

    from harvester.scale.executors import executor_slots

    with LocalCluster(n_workers=5, threads_per_worker=1, processes=False,
                      dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        assert executor_slots(client.get_executor(pure=False), Config(workers=1)) == 5
    assert executor_slots(ThreadPoolExecutor(2), Config(workers=3)) == 3


def test_shards_lost_with_a_killed_worker_run_again_on_a_fresh_pool(tmp_path: Path) -> None:
    import threading
    import time

    import psutil

    from tests.support.faultserver import FaultServer, Reply

    def pool_workers() -> list[psutil.Process]:
        """This process's pool workers: the children of its forkserver (or its own)."""
        me = psutil.Process()
        kids = me.children(recursive=True)
        servers = {p.pid for p in kids if p.ppid() == me.pid
                   and "forkserver" in " ".join(p.cmdline())}
        return [p for p in kids if p.ppid() in (servers or {me.pid})
                and "resource_tracker" not in " ".join(p.cmdline())]

    with FaultServer() as srv:
        body = b"<html>" + b" " * 4000 + b"</html>"
        urls = [srv.script(f"/p{i}.html", Reply(body=body, content_type="text/html",
                                                trickle=(500, 0.2))) for i in range(10)]
        config = Config(output=str(tmp_path / "m.json"), shard_dir=str(tmp_path / "shards"),
                        shard_size=1, ignore_robots=True, retries=0, executor="local",
                        workers=2, list_all_pages=True)
        result: list[Manifest] = []
        runner = threading.Thread(target=lambda: result.append(harvest_sharded(urls, config)))
        runner.start()
        deadline = time.monotonic() + 30
        while not (srv.log and pool_workers()) and time.monotonic() < deadline:
            time.sleep(0.05)
        pool_workers()[0].kill()
        runner.join(90)
    assert result, "the run ended without a manifest"
    pages = result[0].pages
    assert sorted(p.ref for p in pages) == sorted(urls)  # every page, once
    assert all(p.error is None for p in pages)  # the lost shards ran again


def test_a_rerun_with_every_shard_done_starts_no_pool(
        warcs: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harvester.scale.shards as shards_module

    config = _config(tmp_path)
    with CountingExecutor() as pool:
        first = harvest_sharded(warcs, config, executor=pool)

    def no_pool(config: Config) -> Any:
        raise AssertionError("a pool was started with nothing to run")

    monkeypatch.setattr(shards_module, "open_executor", no_pool)
    again = harvest_sharded(warcs, config)  # the configured executor: never opened
    assert _document(again) == _document(first)
