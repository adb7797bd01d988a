"""The SSRF guard as pure functions: address literals, URL spellings, rebinding.

Schemes, internal addresses and their numeric spellings, and a resolver
answering a public and then a loopback address (rebinding); allowed hosts.
Nothing here opens a connection: addresses outside loopback are only ever
inspected, never dialled.  The connecting halves live in
test_download_faults.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.errors import BlockedURL
from harvester.net.guard import (
    HostRules,
    check_address,
    check_url,
    numeric_host,
    parse_allowed_hosts,
    resolve_checked,
)

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize(("ip", "reason"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"),
    ("fd00::1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("100.64.0.1", "shared (CGNAT)"), ("100.127.255.254", "shared (CGNAT)"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"), ("240.0.0.1", "private"), ("255.255.255.255", "private"),
    ("192.0.2.1", "private"), ("198.18.0.1", "private"),
])
def test_internal_addresses_are_refused(ip: str, reason: str) -> None:
    assert check_address(ip) == reason


@pytest.mark.parametrize("ip", [
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
    "2002:7f00:1::",            # 6to4 around 127.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "64:ff9b::a00:1",           # NAT64 around 10.0.0.1
])
def test_tunnelled_ipv4_is_unwrapped(ip: str) -> None:
    reason = check_address(ip)
    assert reason is not None and "IPv4" in reason


@pytest.mark.parametrize("ip", [PUBLIC, "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(ip: str) -> None:
    assert check_address(ip) is None


def test_garbage_is_not_an_address() -> None:
    assert check_address("example.org") is not None


@pytest.mark.parametrize(("host", "ip"), [
    ("2130706433", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("10.1", "10.0.0.1"),
    ("127.0.0.1.", "127.0.0.1"), ("93.184.216.34", PUBLIC),
])
def test_numeric_hosts_read_like_inet_aton(host: str, ip: str) -> None:
    assert numeric_host(host) == ip


def test_names_are_not_numeric() -> None:
    assert numeric_host("media.example.org") is None
    assert numeric_host("0x7f.example") is None
    with pytest.raises(ValueError):
        numeric_host("999.1.1.1")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/v.mp4", "http://[::1]/v.mp4", "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.5/x", "http://100.64.1.1/x", "http://[::ffff:10.0.0.1]/x",
    "http://2130706433/x", "http://0x7f.1/x", "http://0177.0.0.1/x", "https://127.1:8443/x",
    "http://user:pw@127.0.0.1/x", "http://[fe80::1%25eth0]/x", "http://999.1.1.1/x",
])
def test_internal_urls_are_blocked(url: str) -> None:
    with pytest.raises(BlockedURL) as info:
        check_url(url)
    assert info.value.code == "private_address"
    check_url(url.replace("999.1.1.1", "127.0.0.1"), HostRules(allow_private=True))


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://example.org/x.mp4", "gopher://example.org:70/_x",
    "data:video/mp4;base64,AAAA", "javascript:alert(1)", "//example.org/x", "x.mp4",
])
def test_other_schemes_are_blocked_even_when_private_is_allowed(url: str) -> None:
    with pytest.raises(BlockedURL) as info:
        check_url(url, HostRules(allow_private=True))
    assert info.value.code == "blocked_scheme"


@pytest.mark.parametrize("url", ["http:///x", "http://[::1/x"])
def test_unreadable_urls_are_blocked(url: str) -> None:
    with pytest.raises(BlockedURL) as info:
        check_url(url)
    assert info.value.code == "bad_url"


def test_names_pass_the_url_check_and_wait_for_connect_time() -> None:
    check_url("https://media.example.org/v.mp4")
    check_url(f"http://{PUBLIC}/v.mp4")


class FakeResolver:
    """Answers from a table and counts lookups; never touches the network."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers
        self.calls = 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return list(self.answers)


def test_r24_rebinding_answer_is_blocked_after_one_lookup() -> None:
    resolver = FakeResolver([PUBLIC, "127.0.0.1"])
    with pytest.raises(BlockedURL) as info:
        resolve_checked("rebind.example", 80, resolver, HostRules())
    assert "127.0.0.1" in info.value.message and resolver.calls == 1


def test_public_answers_are_returned_for_dialling() -> None:
    resolver = FakeResolver([PUBLIC, "2606:4700:4700::1111"])
    assert resolve_checked("ok.example", 443, resolver, HostRules()) == resolver.answers
    assert resolver.calls == 1


def test_allow_private_skips_the_address_check() -> None:
    resolver = FakeResolver(["127.0.0.1"])
    assert resolve_checked("x", 80, resolver, HostRules(allow_private=True)) == ["127.0.0.1"]


@given(st.ip_addresses())
def test_every_address_gets_a_verdict(ip: object) -> None:
    reason = check_address(str(ip))
    assert reason is None or isinstance(reason, str)
    if getattr(ip, "is_loopback", False) or getattr(ip, "is_private", False):
        assert reason is not None


def test_allowed_hosts_name_an_address_a_range_or_a_name() -> None:
    rules = HostRules(allow_hosts=("127.0.0.1", "10.1.0.0/16", "Intranet.Example."))
    check_url("http://127.0.0.1:8080/a", rules)
    check_url("http://10.1.200.3/a", rules)
    check_url("http://intranet.example/a", rules)
    with pytest.raises(BlockedURL):
        check_url("http://127.0.0.2/a", rules)  # the next address is still internal
    with pytest.raises(BlockedURL):
        check_url("http://10.2.0.1/a", rules)
    assert rules.refusal("127.0.0.1") is None and rules.refusal("127.0.0.2") == "loopback"
    resolver = FakeResolver(["10.1.0.9"])
    assert resolve_checked("db.example", 80, resolver, rules) == ["10.1.0.9"]
    assert resolve_checked("intranet.example", 80, FakeResolver(["192.168.1.1"]), rules)


def test_a_trusted_url_skips_only_the_address_check() -> None:
    check_url("http://127.0.0.2/a", HostRules(), trusted=True)
    with pytest.raises(BlockedURL) as info:
        check_url("file:///etc/passwd", HostRules(), trusted=True)
    assert info.value.code == "blocked_scheme"


@pytest.mark.parametrize("entry", ["", "a b", "http://x/", "10.0.0.0/33", "x/y"])
def test_unreadable_allowed_hosts_are_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_allowed_hosts([entry])
