"""RunLock: one run per state file, holder named, released by the kernel on kill -9."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harvester.errors import StateLocked
from harvester.store.lock import RunLock, lock_path_for, waiting_lock

ROOT = Path(__file__).resolve().parent.parent

HOLDER = """
import sys, time
from harvester.store.lock import RunLock
with RunLock.for_state(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def _spawn_holder(state: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(state)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_lock_file_sits_beside_the_state(tmp_path: Path) -> None:
    assert lock_path_for(tmp_path / "state.sqlite") == tmp_path / "state.sqlite.lock"
    assert RunLock(tmp_path / "x.lock").path == tmp_path / "x.lock"
    assert RunLock.for_state(tmp_path / "s.db").path == tmp_path / "s.db.lock"


def test_holder_info_written_while_held_and_cleared_after(tmp_path: Path) -> None:
    lock = RunLock.for_state(tmp_path / "s.db")
    with lock:
        assert lock.held
        info = json.loads(lock.path.read_text())
        assert info["pid"] == os.getpid()
        assert info["host"] == socket.gethostname()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["started"])
    assert not lock.held
    assert lock.path.exists() and lock.path.read_text() == ""


def test_second_lock_in_same_process_is_refused(tmp_path: Path) -> None:
    with RunLock.for_state(tmp_path / "s.db"), pytest.raises(StateLocked) as err:
        RunLock.for_state(tmp_path / "s.db").acquire()
    assert err.value.exit_code == 75
    assert f"pid {os.getpid()} on {socket.gethostname()} since " in str(err.value)


def test_lock_is_reusable_after_release(tmp_path: Path) -> None:
    with RunLock.for_state(tmp_path / "s.db"):
        pass
    with RunLock.for_state(tmp_path / "s.db") as again:
        assert again.held


def test_other_process_holds_then_kill_9_frees_it(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    proc = _spawn_holder(state)
    try:
        with pytest.raises(StateLocked) as err:
            RunLock.for_state(state).acquire()
        assert str(err.value).startswith(f"another run holds the lock: pid {proc.pid} on ")
        assert "\n" not in str(err.value)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        with RunLock.for_state(state) as lock:  # the kernel dropped the dead holder's lock
            assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_garbage_in_lock_file_does_not_hide_contention(tmp_path: Path) -> None:
    state = tmp_path / "s.db"
    with RunLock.for_state(state) as lock:
        lock.path.write_text("not json")
        with pytest.raises(StateLocked, match="holder details not yet written"):
            RunLock.for_state(state).acquire()


def test_waiting_lock_admits_one_holder_at_a_time_and_cleans_up(tmp_path: Path) -> None:
    import threading
    import time

    path = tmp_path / "locks" / "one-url.lock"
    inside: list[int] = []
    most = [0]

    def work() -> None:
        for _ in range(20):
            with waiting_lock(path):
                inside.append(1)
                most[0] = max(most[0], len(inside))
                time.sleep(0.001)
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert most[0] == 1
    assert list(path.parent.iterdir()) == []
