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
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harvester.errors import ConfigError

USER_AGENT = "harvester/0.1 (+https://schema.org/VideoObject media-embed harvester)"


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a run needs to know, with sensible defaults.

    Sizes are in bytes and times in seconds.
    """

    output: str | None = "manifest.json"
    jsonl: bool = False
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
    probe_timeout: float = 30.0
    user_agent: str = USER_AGENT
    log_file: str | None = None
    verbosity: int = 0
    inputs: tuple[str, ...] = field(default_factory=tuple)
    executor: str = "serial"
    scheduler: str | None = None
    workers: int | None = None
    shard_dir: str | None = None
    shard_size: int = 500


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
                 "allow-host": "allow_hosts", "allow_host": "allow_hosts"}
_STRING_LISTS = ("inputs", "allow_hosts")


def _normalise_key(key: str) -> str:
    return _TOML_ALIASES.get(key, key.replace("-", "_"))


def _coerce(name: str, value: Any, origin: str) -> Any:
    """Check one value against the field's default type; sizes accept units."""
    if name in ("max_bytes", "max_page_bytes", "min_speed"):
        return parse_size(value)
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
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{origin}: '{name}' must be a number, got {value!r}")
        value = float(value)
    elif str(_FIELDS[name].type) == "int | None":  # optional ints default to None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{origin}: '{name}' must be an integer, got {value!r}")
    elif not isinstance(value, str):
        raise ConfigError(f"{origin}: '{name}' must be a string, got {value!r}")
    return value


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
            raise ConfigError(f"{origin}: unknown key '{key}'")
        values[name] = _coerce(name, value, origin)
    return values


def _check(cfg: Config) -> None:
    positive = ("concurrency", "per_host", "timeout", "deadline", "probe_timeout", "shard_size")
    for name in positive:
        if getattr(cfg, name) <= 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be positive")
    if cfg.workers is not None and cfg.workers <= 0:
        raise ConfigError("--workers must be positive")
    if cfg.retries < 0:
        raise ConfigError("--retries must be 0 or more")
    _check_allowed_hosts(cfg.allow_hosts)
    if not _STREAM_VARIANT.match(cfg.stream_variant):
        raise ConfigError(f"--stream-variant {cfg.stream_variant!r}: use best, worst, match "
                          "or WIDTHxHEIGHT (e.g. 1280x720)")
    if cfg.remux_timeout <= 0:
        raise ConfigError("remux_timeout must be positive")
    if cfg.executor not in ("serial", "local", "dask"):
        raise ConfigError(f"unknown executor {cfg.executor!r}: use serial, local or dask")


_STREAM_VARIANT = re.compile(r"^(best|worst|match|[1-9][0-9]{0,4}x[1-9][0-9]{0,4})$")
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_.])?$", re.IGNORECASE)


def _check_allowed_hosts(entries: tuple[str, ...]) -> None:
    """Each ``--allow-host`` is a host name, an IP address or a CIDR range."""
    for entry in entries:
        text = entry.strip().strip("[]")
        try:
            ipaddress.ip_network(text, strict=False)
            continue
        except ValueError:
            pass
        if not _HOST_NAME.match(text):
            raise ConfigError(f"--allow-host {entry!r} is not a host name, an IP address or a "
                              "CIDR range (e.g. intranet.example, 10.0.0.5, 10.1.0.0/16)")


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
            raise ConfigError(f"unknown option '{key}'")
        values[name] = _coerce(name, value, "command line")
    cfg = Config(**values)
    _check(cfg)
    return cfg
