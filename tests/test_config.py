"""load_config: TOML file plus flags (flags win), every key and value checked once."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.config import Config, load_config, parse_size
from harvester.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "harvester.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_no_file_no_flags_gives_defaults() -> None:
    assert load_config(None) == Config()


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, 'state = "/var/lib/h/state.db"\ndownload = true\n'
                           'concurrency = 8\ntimeout = 5\ninputs = ["a.txt", "b.txt"]\n')
    cfg = load_config(path)
    assert cfg.state == "/var/lib/h/state.db" and cfg.download is True
    assert cfg.concurrency == 8
    assert cfg.timeout == 5.0 and isinstance(cfg.timeout, float)
    assert cfg.inputs == ("a.txt", "b.txt")


def test_flags_override_file_and_none_means_not_given(tmp_path: Path) -> None:
    path = write(tmp_path, "concurrency = 8\nretries = 5\n")
    cfg = load_config(path, {"concurrency": 2, "retries": None})
    assert cfg.concurrency == 2 and cfg.retries == 5


def test_harvest_table_and_dashed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, '[harvest]\nmax-bytes = "500M"\nallow-private-hosts = true\n'
                           "per-host = 3\n")
    cfg = load_config(path)
    assert cfg.max_bytes == 500_000_000 and cfg.allow_private_hosts and cfg.per_host == 3


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "concurency = 4\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "'concurency'" in str(err.value) and str(path) in str(err.value)
    assert err.value.exit_code == 2


def test_unknown_key_inside_harvest_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[harvest]\nspeed = 1\n")
    with pytest.raises(ConfigError, match=r"unknown key 'speed'"):
        load_config(path)


def test_unknown_flag_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown option 'colour'"):
        load_config(None, {"colour": True})


@pytest.mark.parametrize(("text", "needle"), [
    ('download = "yes"', "'download' must be true or false"),
    ("concurrency = 2.5", "'concurrency' must be an integer"),
    ("concurrency = true", "'concurrency' must be an integer"),
    ('timeout = "30"', "'timeout' must be a number"),
    ("state = 5", "'state' must be a string"),
    ('workers = "many"', "'workers' must be an integer"),
    ('inputs = "pages.txt"', "'inputs' must be a list of strings"),
    ('max_bytes = "lots"', "cannot read size"),
])
def test_bad_values_are_clear_errors(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert needle in str(err.value)


@pytest.mark.parametrize(("overrides", "needle"), [
    ({"concurrency": 0}, "--concurrency must be positive"),
    ({"timeout": -1.0}, "--timeout must be positive"),
    ({"retries": -1}, "--retries must be 0 or more"),
    ({"executor": "gpu"}, "unknown executor"),
    ({"workers": 0}, "--workers must be positive"),
])
def test_out_of_range_values(overrides: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_config(None, overrides)


def test_not_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "this is = = not toml\n")
    with pytest.raises(ConfigError, match=r"harvester\.toml: not valid TOML"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.toml")


@pytest.mark.parametrize(("value", "expected"), [
    ("500M", 500_000_000), ("2GiB", 2 * 1024**3), ("1048576", 1048576), (7, 7),
    ("1.5k", 1500), ("10 MiB", 10 * 1024**2),
])
def test_parse_size(value: str | int, expected: int) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["0", 0, -3, "", "5 parsecs", "M"])
def test_parse_size_refuses(value: str | int) -> None:
    with pytest.raises(ConfigError):
        parse_size(value)


def test_config_is_frozen() -> None:
    cfg = Config()
    with pytest.raises(AttributeError):
        cfg.concurrency = 9  # type: ignore[misc]
