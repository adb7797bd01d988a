"""The scheduling docs: crontab line, systemd service + timer, example config."""

from __future__ import annotations

import configparser
import dataclasses
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from harvester.config import Config, load_config

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLE = ROOT / "examples" / "harvester.toml"
COMMAND = "harvester harvest --config /etc/harvester/harvester.toml"


def _unit(name: str) -> configparser.ConfigParser:
    # systemd allows repeated keys; strict=False keeps the last, which is enough here
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DOCS / name).read_text("utf-8"))
    return parser


def test_crontab_line_every_15_minutes_behind_flock() -> None:
    text = (DOCS / "cron.md").read_text("utf-8")
    line = f"*/15 * * * * flock -n /var/lib/harvester/cron.lock {COMMAND}"
    assert line in text
    fields = line.split(maxsplit=5)
    assert fields[:5] == ["*/15", "*", "*", "*", "*"]


def test_cron_doc_lists_every_exit_code() -> None:
    text = (DOCS / "cron.md").read_text("utf-8")
    for code in ("0", "1", "2", "75"):
        assert re.search(rf"^\| {code} \|", text, re.MULTILINE), f"exit code {code} missing"


def test_service_is_oneshot_and_75_is_success() -> None:
    service = _unit("harvester.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"].endswith(COMMAND)
    assert service["SuccessExitStatus"].split() == ["75"]


def test_timer_every_15_minutes_persistent() -> None:
    timer = _unit("harvester.timer")
    assert timer["Timer"]["OnCalendar"] == "*:0/15"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "harvester.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


def _systemd_analyze_works() -> bool:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        return False
    probe = subprocess.run([exe, "calendar", "*:0/15"], capture_output=True, timeout=30,
                           check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _systemd_analyze_works(), reason="systemd-analyze unavailable here")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart's binary exists: point it at this Python
    service = (DOCS / "harvester.service").read_text("utf-8")
    assert "ExecStart=/usr/local/bin/harvester " in service
    service = service.replace("ExecStart=/usr/local/bin/harvester ",
                              f"ExecStart={sys.executable} -m harvester ")
    (tmp_path / "harvester.service").write_text(service, "utf-8")
    shutil.copy(DOCS / "harvester.timer", tmp_path / "harvester.timer")
    done = subprocess.run(
        ["systemd-analyze", "verify", "./harvester.service", "./harvester.timer"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    # unknown keys are only warnings (exit 0): any output counts as a failure
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_example_config_loads_and_uses_only_config_fields() -> None:
    fields = {f.name for f in dataclasses.fields(Config)}
    with EXAMPLE.open("rb") as fh:
        table = tomllib.load(fh)
    assert set(table) <= fields, set(table) - fields
    cfg = load_config(EXAMPLE)
    assert cfg.state and cfg.state.startswith("/")
    assert cfg.download is True and cfg.log_file
    assert cfg.max_bytes == 2 * 1024**3
    assert cfg.inputs == ("/etc/harvester/pages.txt",)


def test_docs_point_at_the_example_and_units() -> None:
    text = (DOCS / "cron.md").read_text("utf-8")
    for name in ("examples/harvester.toml", "harvester.service", "harvester.timer"):
        assert name in text
