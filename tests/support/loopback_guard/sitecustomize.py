"""Keeps every Python process of a test run on loopback.

A test that puts this folder on ``PYTHONPATH`` has it imported at start-up
by the process it runs and by every process that one starts (pool workers
too).  Any name lookup or connection to an address outside 127.0.0.0/8 and
::1 is then refused, and noted in the file ``HARVESTER_TEST_OUTSIDE`` names,
so the test can assert that nothing tried to leave the machine (an S3
client looking for AWS, say).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

_NOTES = os.environ.get("HARVESTER_TEST_OUTSIDE", "")


def _loopback(host: object) -> bool:
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        return ipaddress.ip_address(text.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _note(what: str) -> None:
    if _NOTES:
        with open(_NOTES, "a", encoding="utf-8") as notes:
            notes.write(what + "\n")


_getaddrinfo = socket.getaddrinfo
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not _loopback(host):
        _note(f"lookup {host}")
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: refused, not a loopback address")
    return _getaddrinfo(host, *args, **kwargs)


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        _note(f"connect {address[0]}")
        raise ConnectionRefusedError(f"{address[0]}: refused, not a loopback address")


def _guarded_connect(sock: socket.socket, address: Any) -> None:
    _check(sock, address)
    _connect(sock, address)


def _guarded_connect_ex(sock: socket.socket, address: Any) -> int:
    _check(sock, address)
    return _connect_ex(sock, address)


socket.getaddrinfo = _guarded_getaddrinfo
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
