"""Shared fixtures: a loopback HTTP server, ../shared paths, a clean environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.faultserver import FaultServer
from tests.support.server import LoopbackServer
from tests.support.streams import Streams, make_streams

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """A real HTTP server on 127.0.0.1, port 0, torn down after the test."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def srv() -> Iterator[FaultServer]:
    """A scriptable fault server on 127.0.0.1, port 0 (see tests/support/faultserver.py)."""
    with FaultServer() as server:
        yield server


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the project; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the project")
    return SHARED


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or colour settings from the developer's shell leak into tests."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
                 "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def streams(tmp_path_factory: pytest.TempPathFactory) -> Streams:
    """Real HLS and DASH streams (tests/support/streams.py), made once a session."""
    from tests.support.media import have_ffmpeg

    if not have_ffmpeg():
        pytest.skip("ffmpeg is not installed")
    return make_streams(tmp_path_factory.mktemp("streams"))
