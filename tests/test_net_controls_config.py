"""The network controls as settings: config keys, flags, -h, pacing rules and redaction."""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from harvester.cli import cli
from harvester.config import Config, load_config, parse_bandwidth, parse_rate
from harvester.errors import ConfigError
from harvester.net.limiter import HostLimiter
from harvester.net.policy import NetPolicy, product_token
from harvester.net.proxy import ProxyRoutes, bypassed
from harvester.net.redact import redact
from tests.support.faultserver import FaultServer, Reply, redirect

pytestmark = pytest.mark.timeout(60)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "harvester.toml"
    path.write_text(text, "utf-8")
    return path


# ── config file and flags ──────────────────────────────────────────────────


def test_every_network_key_is_read_from_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'proxy = "http://proxy.example:3128"\ntrust-env = true\n'
                           'user_agent = "mybot/1.0"\nwait = 1.5\nrate = "30/m"\n'
                           'limit_rate = "500K/s"\n[headers]\nX-Team = "video"\n')
    cfg = load_config(path)
    assert cfg.proxy == "http://proxy.example:3128" and cfg.trust_env
    assert cfg.user_agent == "mybot/1.0" and cfg.wait == 1.5
    assert cfg.rate == 0.5 and cfg.limit_rate == 500_000
    assert cfg.headers == ("X-Team: video",)
    policy = NetPolicy.from_config(cfg)
    assert policy.headers == (("X-Team", "video"),) and policy.product_token == "mybot"


def test_headers_as_a_list_and_flags_win(tmp_path: Path) -> None:
    path = write(tmp_path, 'headers = ["Authorization: Bearer x", "X-A:1"]\nwait = 2\n')
    assert load_config(path).headers == ("Authorization: Bearer x", "X-A: 1")
    cfg = load_config(path, {"headers": ("X-B: 2",), "wait": 0.5})
    assert cfg.headers == ("X-B: 2",) and cfg.wait == 0.5


@pytest.mark.parametrize(("text", "key", "needle"), [
    ('rate = "fast"', "rate", "cannot read rate"),
    ('rate = "5000/s"', "rate", "out of range"),
    ("wait = -1", "wait", "between 0 and 3600"),
    ("wait = inf", "wait", "finite"),
    ("timeout = nan", "timeout", "finite"),
    ('limit_rate = "10"', "limit_rate", "below 1K/s"),
    ("limit_rate = true", "limit_rate", "size per second"),
    ('headers = ["NoColon"]', "headers", "not a header"),
    ('headers = ["Host: evil.example"]', "headers", "set by harvester itself"),
    ('headers = ["User-Agent: x"]', "headers", "--user-agent"),
    ("headers = 3", "headers", "list of 'Name: value' strings"),
    ('proxy = "ftp://proxy.example"', "proxy", "http:// or https:// proxy URL"),
    ('user_agent = ""', "user_agent", "non-empty"),
])
def test_bad_network_values_name_the_file_and_key(tmp_path: Path, text: str, key: str,
                                                  needle: str) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and f"'{key}'" in message and needle in message
    assert err.value.exit_code == 2


def test_a_bad_proxy_is_refused_without_repeating_its_password(tmp_path: Path) -> None:
    path = write(tmp_path, 'proxy = "socks5://ann:hunter2@proxy.example:1080"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "hunter2" not in str(err.value) and "'proxy'" in str(err.value)


@pytest.mark.parametrize(("key", "suggestion"), [
    ("wiat", "wait"), ("limit-rat", "limit_rate"), ("user_agnet", "user_agent"),
    ("proxi", "proxy"),
])
def test_an_unknown_key_suggests_the_closest(tmp_path: Path, key: str, suggestion: str) -> None:
    path = write(tmp_path, f"{key} = 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"unknown key '{key}'; did you mean '{suggestion}'?" in str(err.value)
    assert str(path) in str(err.value)


def test_parsers() -> None:
    assert parse_rate("2/s") == 2.0 and parse_rate("30/m") == 0.5
    assert parse_rate("360/h") == 0.1 and parse_rate(4) == 4.0 and parse_rate("0") == 0.0
    assert parse_bandwidth("500K") == parse_bandwidth("500K/s") == 500_000
    assert parse_bandwidth(0) == 0 and parse_bandwidth("1MiB/s") == 1024**2
    assert product_token("mybot/1.0 (+https://bot.example)") == "mybot"
    assert product_token(Config().user_agent) == "harvester"


def test_help_shows_the_config_defaults() -> None:
    text = CliRunner().invoke(cli, ["harvest", "-h"], terminal_width=200).output
    flat = " ".join(text.split())
    for shown in ("--concurrency INTEGER Parallel transfers. [default: 4]",
                  "[default: off]", "[default: 30]", "[default: 2GiB]",
                  f"[default: {Config().user_agent}]", "[default: no cap]", "[default: none]",
                  "--wait SECONDS Seconds between requests to one host, jittered 0.5x-1.5x. "
                  "[default: 0]"):
        assert shown in flat, shown


# ── pacing and proxy routing, without a network ────────────────────────────


def test_wait_jitter_stays_between_half_and_one_and_a_half() -> None:
    limiter = HostLimiter(1, wait=0.1, rng=random.Random(1))
    stamps = []
    for _ in range(6):
        with limiter.slot("a.example"):
            stamps.append(time.monotonic())
    spaced = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(0.05 - 0.005 <= gap <= 0.15 + 0.05 for gap in spaced), spaced
    with limiter.slot("b.example"):  # another host's first turn is now
        assert time.monotonic() - stamps[-1] < 0.05


def test_pacing_survives_pickling() -> None:
    import pickle

    limiter = pickle.loads(pickle.dumps(HostLimiter(2, wait=0.5, rate=3.0)))
    assert (limiter.per_host, limiter.wait, limiter.rate) == (2, 0.5, 3.0)


def test_proxy_routes() -> None:
    import httpx

    env = {"http_proxy": "proxy.example:3128", "HTTPS_PROXY": "http://tls.example:8080",
           "NO_PROXY": ".internal.example,10.0.0.0/8"}
    routes = ProxyRoutes.of(None, trust_env=True, environ=env)
    assert routes.proxy_for(httpx.URL("http://a.example/")) == "http://proxy.example:3128"
    assert routes.proxy_for(httpx.URL("https://a.example/")) == "http://tls.example:8080"
    assert routes.proxy_for(httpx.URL("http://cdn.internal.example/")) is None
    assert routes.proxy_for(httpx.URL("http://10.1.2.3/")) is None
    assert ProxyRoutes.of(None, trust_env=False, environ=env).urls == frozenset()
    explicit = ProxyRoutes.of("http://p.example:1", trust_env=False, environ=env)
    assert explicit.proxy_for(httpx.URL("https://cdn.internal.example/")) == "http://p.example:1"
    assert bypassed("a.example", 8080, "a.example:8080") and not bypassed("a.example", 80,
                                                                          "a.example:8080")
    with pytest.raises(ConfigError) as err:
        ProxyRoutes.of(None, trust_env=True, environ={"HTTP_PROXY": "socks5://u:pw@h:1"})
    assert "pw" not in str(err.value)


# ── redaction ──────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("text", "expected"), [
    ("https://ann:pw@h.example/v.mp4", "https://ann:***@h.example/v.mp4"),
    ("see http://h.example/a?token=abc&w=1#x", "see http://h.example/a?token=***&w=1#x"),
    ("http://h/a?x=1&SIG=abc;key=k2", "http://h/a?x=1&SIG=***;key=***"),
    ("http://h/a?mytoken=keep&tokens=keep", "http://h/a?mytoken=keep&tokens=keep"),
    ("http://ann@h/a", "http://ann@h/a"),
    ("loop: http://u:p@h/?access_token=z leads back to http://u:p@h/?password=q",
     "loop: http://u:***@h/?access_token=*** leads back to http://u:***@h/?password=***"),
])
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_uses_the_configured_parameters() -> None:
    assert redact("http://h/?session=s1&token=t", ("session",)) == "http://h/?session=***&token=t"


def test_secrets_never_reach_stderr_the_log_or_error_messages(tmp_path: Path) -> None:
    with FaultServer() as srv:
        base = f"http://ann:secret@127.0.0.1:{srv.port}"
        loop = f"{base}/loop.html?token=abc"
        srv.script("/loop.html", redirect(loop))
        srv.script("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private/\n",
                                        content_type="text/plain"))
        hidden = f"{base}/private/p.html?sig=abc"
        out, log = tmp_path / "m.json", tmp_path / "h.log"
        proc = subprocess.run(
            [sys.executable, "-m", "harvester", "harvest", loop, hidden, "-o", str(out),
             "--log-file", str(log), "--retries", "0", "--proxy", "socks5://u:secret@h:1"],
            capture_output=True, text=True, timeout=60, env=dict(os.environ))
        assert proc.returncode == 2 and "secret" not in proc.stderr  # the bad proxy
        proc = subprocess.run(
            [sys.executable, "-m", "harvester", "harvest", loop, hidden, "-o", str(out),
             "--log-file", str(log), "--retries", "0"],
            capture_output=True, text=True, timeout=60, env=dict(os.environ))
    pages = json.loads(out.read_text())["pages"]
    assert proc.returncode == 1, proc.stderr
    assert [p["error"]["code"] for p in pages] == ["too_many_redirects", "robots_disallowed"]
    assert "ann:***@" in pages[0]["error"]["message"]
    assert "robots.txt disallows" in proc.stderr  # the warning is there, masked
    for text in (proc.stderr, log.read_text(), *(p["error"]["message"] for p in pages)):
        assert "secret" not in text and "abc" not in text, text
    # The manifest's identity fields keep the URL exactly as given.
    assert [p["page"] for p in pages] == [loop, hidden]
