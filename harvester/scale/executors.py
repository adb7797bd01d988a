"""Where sharded work runs: a local process pool or a Dask cluster, behind one interface.

``open_executor(config)`` yields a standard :class:`concurrent.futures.Executor`:

* ``executor = "local"``: a :class:`~concurrent.futures.ProcessPoolExecutor` of
  ``config.workers`` processes (default: every core);
* ``executor = "dask"``: ``Client.get_executor()`` of a Dask client connected to
  ``config.scheduler`` (``tcp://host:8786``), or to a LocalCluster of
  ``config.workers`` single-threaded worker processes when no address is given.

The code that submits work is the same either way.  Dask is an optional extra
(``pip install 'harvester[dask]'``); asking for it without it is a ConfigError.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from harvester.config import Config
from harvester.errors import ConfigError

#: Seconds to wait for a remote scheduler before giving up with a clear message.
CONNECT_TIMEOUT = 20.0

#: The module of the function pool workers run (imported once by the fork server).
WORKER_MODULE = "harvester.scale.shards"

#: Seconds between two questions to a cluster about its size during a run (one round
#: trip to the scheduler: cheap next to a shard, and new workers get work soon).
RESIZE_EVERY = 0.5


def executor_slots(executor: Executor, config: Config) -> int:
    """How many tasks ``executor`` runs at once: a Dask cluster's threads, counted on
    its scheduler (not this machine's cores), else :func:`worker_count`."""
    client = getattr(executor, "_client", None)  # a Dask ClientExecutor
    if client is not None:
        try:
            # Every worker's threads.  Not scheduler_info()["workers"]: some releases
            # list only five workers there, which would leave a larger cluster idle.
            threads = sum(int(n) for n in client.nthreads().values())
        except (OSError, TimeoutError, KeyError, TypeError, ValueError, AttributeError):
            threads = 0
        if threads > 0:
            return threads
    return worker_count(config)


class Window:
    """How many tasks to keep in flight on an executor: ``per_slot`` for each of
    :func:`executor_slots`, asked again at most every ``every`` seconds, so a Dask
    cluster whose workers join (or leave) after the run started is kept busy."""

    def __init__(self, executor: Executor, config: Config, *, per_slot: int = 4,
                 every: float = RESIZE_EVERY) -> None:
        self.executor, self.config, self.per_slot, self.every = executor, config, per_slot, every
        self._size = 0
        self._asked = -math.inf

    def size(self) -> int:
        """The current window (at least ``per_slot``)."""
        now = time.monotonic()
        if now - self._asked >= self.every:
            self._size = self.per_slot * executor_slots(self.executor, self.config)
            self._asked = now
        return self._size


def worker_count(config: Config) -> int:
    """``config.workers``, or every core of this machine."""
    return config.workers or os.cpu_count() or 1


def ignore_interrupts() -> None:
    """In a worker: leave Ctrl-C to the coordinating process, which stops the run in
    order (the terminal sends it to every process of the group)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def open_executor(config: Config) -> Iterator[Executor]:
    """The executor ``config.executor`` names; shut down (and the cluster closed) on exit."""
    if config.executor == "dask":
        with _dask_executor(config) as executor:
            yield executor
        return
    # forkserver: workers start from a clean process, not a fork of a threaded parent.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        # The server imports the worker's code once; each worker (and a fresh pool after
        # one broke) starts as a fork of it instead of importing it again.
        context.set_forkserver_preload(["__main__", WORKER_MODULE])
    pool = ProcessPoolExecutor(max_workers=worker_count(config), mp_context=context,
                               initializer=ignore_interrupts)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _dask_executor(config: Config) -> Iterator[Executor]:
    try:
        import distributed
    except ImportError:
        raise ConfigError("--executor dask needs Dask: pip install 'harvester[dask]'") from None
    # distributed ships no type hints: hold its objects as Any.
    Client: Any = distributed.Client
    LocalCluster: Any = distributed.LocalCluster
    cluster: Any = None
    if config.scheduler:
        try:
            client: Any = Client(config.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {config.scheduler}: {exc}; "
                              "check the address (tcp://host:8786) and that it is running"
                              ) from None
    else:
        cluster = LocalCluster(n_workers=worker_count(config), threads_per_worker=1,
                               processes=True, dashboard_address="127.0.0.1:0",
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        # pure=False: every submission is new work, even with the same arguments.
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
