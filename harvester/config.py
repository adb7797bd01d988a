"""One frozen :class:`Config` with every default in one place.

``load_config(path, overrides)`` merges a TOML file (``harvester.toml``) with
command-line overrides (flags win), validates once and raises
:class:`~harvester.errors.ConfigError` naming the bad key and the file.

>>> cfg = load_config(None, {"download": True, "concurrency": 4})
>>> cfg.download, cfg.concurrency
(True, 4)
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dateutil.parser import isoparse

from harvester.errors import ConfigError

USER_AGENT = "harvester/0.1 (+https://schema.org/VideoObject media-embed harvester)"
#: Query parameters whose values are masked in messages and logs.
SECRET_PARAMS = ("token", "sig", "signature", "key", "apikey", "access_token", "password")


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a run needs to know, with sensible defaults.

    Sizes are in bytes and times in seconds.
    """

    output: str | None = "manifest.json"
    jsonl: bool = False
    #: Write the manifest as a summary plus one JSONL.gz part per shard.
    parts: bool = False
    #: Add a Parquet file of the videos to each part (needs pyarrow).
    parquet: bool = False
    #: A JSON manifest of a run over more pages than this is written as parts.
    parts_over_pages: int = 1_000_000
    #: List every page in the manifest, not only those with videos, errors or sitemap facts.
    list_all_pages: bool = False
    report: str | None = None
    download: bool = False
    measure: bool = False
    stream_variant: str = "match"
    remux_timeout: float = 600.0
    dir: str = "downloads"
    state: str | None = None
    allow_private_hosts: bool = False
    allow_hosts: tuple[str, ...] = field(default_factory=tuple)
    ignore_robots: bool = False
    concurrency: int = 4
    per_host: int = 2
    retries: int = 3
    timeout: float = 30.0
    deadline: float = 3600.0
    min_speed: int = 1024
    min_speed_window: float = 30.0
    max_bytes: int = 2 * 1024**3
    max_page_bytes: int = 50 * 1024**2
    max_redirects: int = 10
    retry_after_cap: float = 300.0
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    probe: bool = True
    # Read every file already in the download directory again before reusing it, e.g.
    # `harvester harvest ... --download --state s.sqlite --verify` after a disk scare;
    # by default a file whose size and modification time are unchanged is trusted.
    verify: bool = False
    probe_timeout: float = 30.0
    user_agent: str = USER_AGENT
    log_file: str | None = None
    verbosity: int = 0
    inputs: tuple[str, ...] = field(default_factory=tuple)
    url_prefix: str | None = None  # joined to the relative lines of -i lists and '-'
    storage_options: tuple[str, ...] = field(default_factory=tuple)  # fsspec KEY=VALUE
    globs: tuple[str, ...] = field(default_factory=tuple)
    sitemaps: tuple[str, ...] = field(default_factory=tuple)
    sitemaps_from_robots: tuple[str, ...] = field(default_factory=tuple)
    since: str | None = None  # RFC 3339 date or date-time: sitemap pages modified after it
    executor: str = "serial"
    scheduler: str | None = None
    workers: int | None = None
    shard_dir: str | None = None
    shard_size: int = 500
    proxy: str | None = None
    trust_env: bool = False
    headers: tuple[str, ...] = field(default_factory=tuple)
    wait: float = 0.0
    rate: float = 0.0  # requests per second per host; 0 means no cap
    limit_rate: int = 0  # bytes per second per transfer; 0 means no cap
    redact_params: tuple[str, ...] = SECRET_PARAMS


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "ki": 1024,
          "m": 1000**2, "mb": 1000**2, "mib": 1024**2, "mi": 1024**2,
          "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "gi": 1024**3,
          "t": 1000**4, "tb": 1000**4, "tib": 1024**4, "ti": 1024**4}


def parse_size(value: str | int) -> int:
    """Parse ``"500M"``, ``"2GiB"``, ``"1048576"`` or an int into bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ConfigError(f"size must be positive, got {value}")
        return value
    match = _SIZE.match(str(value))
    if not match or (match.group(2) or "").lower() not in _UNITS:
        raise ConfigError(f"cannot read size {value!r}: use a number with K, M, G (e.g. 500M)")
    size = int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])
    if size <= 0:
        raise ConfigError(f"size must be positive, got {value!r}")
    return size


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}
_TOML_ALIASES = {"allow-private-hosts": "allow_private_hosts", "max-bytes": "max_bytes",
                 "allow-host": "allow_hosts", "allow_host": "allow_hosts", "glob": "globs",
                 "sitemap": "sitemaps",
                 "header": "headers", "storage-option": "storage_options",
                 "storage_option": "storage_options"}
_STRING_LISTS = ("inputs", "allow_hosts", "globs", "redact_params", "sitemaps",
                 "sitemaps_from_robots")


def _normalise_key(key: str) -> str:
    return _TOML_ALIASES.get(key, key.replace("-", "_"))


def _unknown(key: str, origin: str, what: str) -> ConfigError:
    """The error for an unknown key, with the closest known one as a hint."""
    close = difflib.get_close_matches(_normalise_key(key), list(_FIELDS), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return ConfigError(f"{origin}: unknown {what} '{key}'{hint}")


def _coerce(name: str, value: Any, origin: str) -> Any:
    """Check one value against the field's default type; sizes accept units."""
    if name in ("max_bytes", "max_page_bytes", "min_speed"):
        return parse_size(value)
    if name in _NETWORK:
        return _NETWORK[name](value, f"{origin}: '{name}'")
    if name == "since":
        return _since(value, f"{origin}: 'since'")
    if name == "storage_options":
        return _storage_options(value, f"{origin}: 'storage_options'")
    if name in _STRING_LISTS:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{origin}: '{name}' must be a list of strings")
        return tuple(value)
    default = _FIELDS[name].default
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{origin}: '{name}' must be true or false, got {value!r}")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{origin}: '{name}' must be an integer, got {value!r}")
    elif isinstance(default, float):
        value = _number(value, f"{origin}: '{name}'")
    elif str(_FIELDS[name].type) == "int | None":  # optional ints default to None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{origin}: '{name}' must be an integer, got {value!r}")
    elif not isinstance(value, str):
        raise ConfigError(f"{origin}: '{name}' must be a string, got {value!r}")
    return value


def _number(value: Any, where: str) -> float:
    """A finite number (TOML allows ``inf`` and ``nan``; no setting means either)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _since(value: Any, where: str) -> str:
    """A date (``2026-11-01``) or date-time, as given; anything else is a ConfigError."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        isoparse(text)
    except (ValueError, OverflowError):
        raise ConfigError(f"{where} must be a date such as 2026-11-01 or "
                          f"2026-11-01T12:00:00Z, got {value!r}") from None
    return text


# ── storage options ────────────────────────────────────────────────────────

_OPTION_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _storage_options(value: Any, where: str) -> tuple[str, ...]:
    """``["KEY=VALUE", ...]`` or a table ``{KEY = value}`` as ``("KEY=VALUE", ...)``;
    a table's values are written as JSON, so ``anon = true`` stays a boolean."""
    if isinstance(value, dict):
        value = [f"{k}={json.dumps(v)}" for k, v in value.items()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of 'KEY=VALUE' strings or a table")
    for entry in value:
        _storage_option(entry, where)
    return tuple(value)


def _storage_option(entry: str, where: str) -> tuple[str, Any]:
    """One ``KEY=VALUE``: the value is JSON when it reads as JSON (``true``, ``3``,
    ``{"region_name": "eu-west-1"}``), else the text itself."""
    key, sep, text = entry.partition("=")
    key = key.strip()
    if not sep or not _OPTION_KEY.match(key):
        # The value may be a secret: the message names the key only.
        raise ConfigError(f"{where}: {key or 'an entry'!s} is not KEY=VALUE "
                          "(e.g. endpoint_url=http://127.0.0.1:9000)")
    try:
        return key, json.loads(text)
    except ValueError:
        return key, text


def parse_storage_options(entries: Iterable[str]) -> dict[str, Any]:
    """``--storage-option`` values as the keyword arguments fsspec takes.

    >>> parse_storage_options(["anon=true", "endpoint_url=http://127.0.0.1:9000"])
    {'anon': True, 'endpoint_url': 'http://127.0.0.1:9000'}
    """
    return dict(_storage_option(entry, "--storage-option") for entry in entries)


# ── network options ────────────────────────────────────────────────────────

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*([smh]))?\s*$", re.IGNORECASE)
_PER = {"s": 1.0, "m": 60.0, "h": 3600.0}
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
#: Headers the network layer sets itself; a user value would break a request.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "range",
                          "if-range", "user-agent"})
MAX_WAIT = 3600.0
MAX_RATE = 1000.0


def parse_rate(value: str | float) -> float:
    """Requests per second from ``"2/s"``, ``"30/m"``, ``"100/h"`` or a number (per second).

    ``0`` means no cap.

    >>> parse_rate("30/m")
    0.5
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        rate = float(value)
    else:
        match = _RATE.match(str(value))
        if not match:
            raise ConfigError(f"cannot read rate {value!r}: use requests per second, minute "
                              "or hour (e.g. 2/s, 30/m)")
        rate = float(match.group(1)) / _PER[(match.group(2) or "s").lower()]
    if not math.isfinite(rate) or rate < 0 or rate > MAX_RATE:
        raise ConfigError(f"rate {value!r} is out of range: 0 (no cap) up to {MAX_RATE:g}/s")
    return rate


def parse_bandwidth(value: str | int) -> int:
    """Bytes per second from ``"500K"``, ``"500K/s"``, ``"2M"`` or an int; ``0`` means no cap."""
    if value in (0, "0"):
        return 0
    text = value.strip()[:-2] if isinstance(value, str) and value.strip().endswith("/s") \
        else value
    size = parse_size(text)
    if size < 1000:
        raise ConfigError(f"bandwidth {value!r} is below 1K/s: too slow to finish anything")
    return size


def _rate(value: Any, where: str) -> float:
    try:
        return parse_rate(value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.message}") from None


def _bandwidth(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{where} must be a size per second such as 500K, got {value!r}")
    try:
        return parse_bandwidth(value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.message}") from None


def _wait(value: Any, where: str) -> float:
    seconds = _number(value, where)
    if not 0 <= seconds <= MAX_WAIT:
        raise ConfigError(f"{where} must be between 0 and {MAX_WAIT:g} seconds, got {value!r}")
    return seconds


def _headers(value: Any, where: str) -> tuple[str, ...]:
    """``["Name: value", ...]`` or ``{Name = "value"}`` as ``("Name: value", ...)``."""
    if isinstance(value, dict):
        value = [f"{k}: {v}" if isinstance(v, str) else None for k, v in value.items()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of 'Name: value' strings or a table of "
                          "strings")
    return tuple(_header_line(line, where) for line in value)


def _header_line(line: str, where: str) -> str:
    name, sep, text = line.partition(":")
    name, text = name.strip(), text.strip()
    if not sep or not _TOKEN.match(name):
        raise ConfigError(f"{where}: {name or line!r} is not a header; write 'Name: value'")
    if any(c in text for c in "\r\n\0"):
        raise ConfigError(f"{where}: the value of {name} holds a line break")
    if name.lower() in _OWN_HEADERS:
        hint = " (use --user-agent)" if name.lower() == "user-agent" else ""
        raise ConfigError(f"{where}: {name} is set by harvester itself{hint}")
    return f"{name}: {text}"


def _proxy(value: Any, where: str) -> str:
    """An ``http://`` or ``https://`` proxy URL; the error never repeats the value
    (it may hold a password)."""
    shape = re.match(r"^(https?)://(?:[^@/\s]*@)?([^@/\s:]+|\[[0-9a-f:.]+\])(?::\d{1,5})?/?$",
                     value.strip() if isinstance(value, str) else "", re.IGNORECASE)
    if shape is None:
        raise ConfigError(f"{where} must be an http:// or https:// proxy URL such as "
                          "http://proxy.example:3128")
    return str(value).strip()


def _user_agent(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be a non-empty string")
    if not value.isprintable() or not value.isascii():
        raise ConfigError(f"{where} must be printable ASCII on one line")
    return value.strip()


_NETWORK = {"rate": _rate, "limit_rate": _bandwidth, "wait": _wait, "headers": _headers,
            "proxy": _proxy, "user_agent": _user_agent}


def _flatten(table: dict[str, Any]) -> dict[str, Any]:
    """Accept both a flat file and one with a ``[harvest]`` table."""
    if "harvest" in table and isinstance(table["harvest"], dict):
        rest = {k: v for k, v in table.items() if k != "harvest"}
        return {**rest, **table["harvest"]}
    return table


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a config file into a dict of Config field names, checking every key."""
    origin = str(path)
    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {origin}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from None
    values: dict[str, Any] = {}
    for key, value in _flatten(table).items():
        name = _normalise_key(key)
        if name not in _FIELDS:
            raise _unknown(key, origin, "key")
        values[name] = _coerce(name, value, origin)
    return values


def _check(cfg: Config) -> None:
    positive = ("concurrency", "per_host", "timeout", "deadline", "probe_timeout", "shard_size",
                "parts_over_pages")
    for name in positive:
        if getattr(cfg, name) <= 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be positive")
    if cfg.workers is not None and cfg.workers <= 0:
        raise ConfigError("--workers must be positive")
    if (cfg.parts or cfg.parquet) and cfg.jsonl:
        raise ConfigError("a JSON-lines manifest is one stream: --output-format parts and "
                          "--parquet go with a JSON manifest")
    if (cfg.parts or cfg.parquet) and cfg.output in (None, "-"):
        raise ConfigError("--output-format parts needs -o FILE for the summary "
                          "(the parts go beside it)")
    if cfg.retries < 0:
        raise ConfigError("--retries must be 0 or more")
    _check_allowed_hosts(cfg.allow_hosts)
    if not all(_TOKEN.match(name) for name in cfg.redact_params):
        raise ConfigError("redact_params must hold query parameter names such as 'token'")
    if not _STREAM_VARIANT.match(cfg.stream_variant):
        raise ConfigError(f"--stream-variant {cfg.stream_variant!r}: use best, worst, match "
                          "or WIDTHxHEIGHT (e.g. 1280x720)")
    if cfg.remux_timeout <= 0:
        raise ConfigError("remux_timeout must be positive")
    if cfg.url_prefix is not None and not cfg.url_prefix.strip():
        raise ConfigError("--url-prefix must not be empty (e.g. s3://commoncrawl/)")
    if cfg.executor not in ("serial", "local", "dask"):
        raise ConfigError(f"unknown executor {cfg.executor!r}: use serial, local or dask")


_STREAM_VARIANT = re.compile(r"^(best|worst|match|[1-9][0-9]{0,4}x[1-9][0-9]{0,4})$")
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_.])?$", re.IGNORECASE)
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allowed_hosts(entries: Iterable[str]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """Split ``--allow-host`` values into host names and address ranges.

    Raises :class:`ValueError` naming an entry that is neither.
    """
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        text = entry.strip().strip("[]")
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
            continue
        except ValueError:
            pass
        if not text or "/" in text or not _HOST_NAME.match(text):
            raise ValueError(f"not a host name, address or CIDR range: {entry!r}")
        names.add(text.lower().rstrip("."))
    return frozenset(names), tuple(networks)


def _check_allowed_hosts(entries: tuple[str, ...]) -> None:
    """Each ``--allow-host`` is a host name, an IP address or a CIDR range."""
    try:
        parse_allowed_hosts(entries)
    except ValueError as exc:
        raise ConfigError(f"--allow-host: {exc} (e.g. intranet.example, 10.0.0.5, "
                          "10.1.0.0/16)") from None


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> Config:
    """Merge the TOML file at ``path`` (if any) with ``overrides`` (flags win).

    ``None`` values in ``overrides`` mean "not given" and do not override.
    """
    values: dict[str, Any] = read_toml(path) if path is not None else {}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        name = _normalise_key(key)
        if name not in _FIELDS:
            raise _unknown(key, "command line", "option")
        values[name] = _coerce(name, value, "command line")
    cfg = Config(**values)
    _check(cfg)
    return cfg
