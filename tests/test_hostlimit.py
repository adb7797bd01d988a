"""HostLimiter: per-host slots, a limit lowered at run time, and cool-downs."""

from __future__ import annotations

import pickle
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import pytest

from harvester.config import Config
from harvester.download import download
from harvester.net.client import Session
from harvester.net.limiter import HostLimiter, host_key
from harvester.net.policy import NetPolicy
from harvester.records import MediaStatus
from tests.support.faultserver import FaultServer, Reply, mp4_body

pytestmark = pytest.mark.timeout(10)


def test_reduce_halves_down_to_one_per_host() -> None:
    limiter = HostLimiter(5)
    assert [limiter.reduce("A.example.") for _ in range(4)] == [2, 1, 1, 1]
    assert limiter.limit("a.example") == 1 and limiter.limit("b.example") == 5


def test_a_lowered_limit_makes_new_holders_wait() -> None:
    limiter = HostLimiter(2)
    peak = 0
    lock = threading.Lock()

    def hold() -> None:
        nonlocal peak
        with limiter.slot("h"):
            with lock:
                peak = max(peak, limiter.active("h"))
            time.sleep(0.05)

    limiter.reduce("h")
    threads = [threading.Thread(target=hold) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 1 and limiter.active("h") == 0


def test_holders_beyond_a_lowered_limit_finish_then_the_limit_holds() -> None:
    limiter = HostLimiter(2)
    with limiter.slot("h"), limiter.slot("h"):
        assert limiter.reduce("h") == 1
        assert limiter.active("h") == 2  # held slots are not taken back
    got = threading.Event()

    def take() -> None:
        with limiter.slot("h"):
            got.set()

    with limiter.slot("h"):
        waiter = threading.Thread(target=take)
        waiter.start()
        assert not got.wait(0.1)  # one slot, held here
    waiter.join(2)
    assert got.is_set()


def test_cooling_reports_seconds_left_and_expires() -> None:
    limiter = HostLimiter(1)
    assert limiter.cooling("h") is None
    limiter.cool_down("H", time.monotonic() + 60)
    limiter.cool_down("h", time.monotonic() + 1)  # an earlier end never shortens it
    left = limiter.cooling("h.")
    assert left is not None and 59 < left <= 60
    limiter.cool_down("g", time.monotonic() - 1)
    assert limiter.cooling("g") is None


def test_pickles_as_its_settings_only() -> None:
    limiter = HostLimiter(3)
    limiter.reduce("h")
    limiter.cool_down("h", time.monotonic() + 60)
    fresh = pickle.loads(pickle.dumps(limiter))
    assert fresh.per_host == 3 and fresh.limit("h") == 3 and fresh.cooling("h") is None


SPELLINGS = ["127.0.0.1", "127.1", "2130706433", "0x7f000001", "0x7f.1", "127.0.1",
             "[::ffff:127.0.0.1]", "localhost", "LOCALHOST", "[0:0:0:0:0:FFFF:7F00:1]"]


def test_spellings_of_one_address_share_one_key() -> None:
    spelled = [h for h in SPELLINGS if "localhost" not in h.lower()] + ["127.0.0.1.", "[::1]"]
    assert {host_key(h) for h in spelled} == {"127.0.0.1", "::1"}
    assert host_key("Example.ORG.") == host_key("example.org")


def test_a_name_counts_against_the_addresses_it_resolves_to() -> None:
    limiter = HostLimiter(1, lookup=lambda host: ["127.0.0.1"] if host == "localhost" else [])
    with limiter.slot("127.0.0.1"):
        got = threading.Event()
        waiter = threading.Thread(target=lambda: (limiter.slot("LocalHost.").__enter__() and None)
                                  or got.set())
        waiter.start()
        assert not got.wait(0.1)  # localhost is 127.0.0.1: its one slot is held
    waiter.join(2)
    assert got.is_set()


def test_ten_spellings_of_loopback_never_exceed_the_cap_at_the_server(tmp_path: Path) -> None:
    with FaultServer() as srv:
        paths = [f"/s{i}.mp4" for i in range(20)]
        for i, path in enumerate(paths):
            srv.script(path, Reply(body=mp4_body(6000, seed=i), trickle=(2000, 0.03)))
        urls = [f"http://{SPELLINGS[i % len(SPELLINGS)]}:{srv.port}{p}"
                for i, p in enumerate(paths)]
        cfg = Config(allow_private_hosts=True, concurrency=10, per_host=2, retries=0,
                     timeout=5.0, min_speed=0)
        with Session(NetPolicy.from_config(cfg)) as session, \
                ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(lambda u: download(u, session, max_bytes=cfg.max_bytes,
                                                       dest_dir=tmp_path), urls))
    assert [r.status for r in results] == [MediaStatus.DOWNLOADED] * len(urls)
    assert srv.peak <= 2 and len(srv.log) == len(urls)


def test_a_request_that_wakes_late_pushes_the_next_turn_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The next turn is taken when a sleeper wakes: one that wakes late (a busy machine,
    # played here by a sleep 0.25 s too long) must not leave the request after it to
    # start right behind it.
    from harvester.net import limiter as limiter_module

    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        real_sleep(seconds + (0.25 if threading.current_thread().name == "late" else 0.0))

    monkeypatch.setattr(limiter_module.time, "sleep", sleep)
    limiter = HostLimiter(4, rate=5.0)
    starts: list[float] = []

    def request() -> None:
        with limiter.slot("a.example"):
            starts.append(time.monotonic())

    request()  # the first turn: at once
    late = threading.Thread(target=request, name="late")
    late.start()
    real_sleep(0.05)
    on_time = threading.Thread(target=request, name="on-time")
    on_time.start()
    late.join()
    on_time.join()
    starts.sort()
    assert len(starts) == 3
    assert min(b - a for a, b in pairwise(starts)) >= 0.19
