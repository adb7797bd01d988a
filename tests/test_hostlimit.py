"""HostLimiter: per-host slots, a limit lowered at run time, and cool-downs."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from harvester.net.limiter import HostLimiter

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
