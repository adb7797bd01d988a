"""Extraction stays linear on hostile pages: for each adversarial shape, doubling the
page from 100 KB to 200 KB at most about doubles the time (ratio <= 2.5, not an
absolute figure), and 200 KB takes under a second."""

from __future__ import annotations

import time

import pytest

from harvester.extract import extract
from tests.support.hostile import SHAPES

pytestmark = pytest.mark.timeout(120)

MAX_RATIO = 2.5
# Times this short are ruled by caches and clocks, not by the algorithm: a shape that
# takes less than this at 100 KB is compared against this instead.
NOISE_FLOOR = 0.002
# Below this a single call is too short to time: calls are repeated to reach it.
MIN_SAMPLE = 0.03


def _sample(page: bytes) -> float:
    """The time one extraction takes, from enough calls to be timed."""
    calls, started = 0, time.perf_counter()
    while True:
        extract(page, "https://e.org/")
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= MIN_SAMPLE:
            return elapsed / calls


def timings(small: bytes, large: bytes, rounds: int = 5) -> tuple[float, float]:
    """Best per-call times of both pages, their samples taken in turns, so that a
    machine busy for a moment weighs on both alike."""
    best_small = best_large = float("inf")
    for _ in range(rounds):
        best_small = min(best_small, _sample(small))
        best_large = min(best_large, _sample(large))
    return best_small, best_large


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_doubling_a_hostile_page_at_most_doubles_the_time(shape: str) -> None:
    small = SHAPES[shape](100_000).encode()
    large = SHAPES[shape](200_000).encode()
    for _ in range(2):  # a second look before a busy machine is called a failure
        t_small, t_large = timings(small, large)
        ratio = t_large / max(t_small, NOISE_FLOOR)
        if ratio <= MAX_RATIO and t_large < 1.0:
            break
    assert t_large < 1.0, f"{shape}: {t_large:.3f} s at 200 KB"
    assert ratio <= MAX_RATIO, f"{shape}: {t_small * 1000:.2f} ms -> {t_large * 1000:.2f} ms"
