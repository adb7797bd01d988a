"""The README documents every command and option, and the package's public names."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

import harvester
from harvester.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")


def _commands() -> list[tuple[str, click.Command]]:
    assert isinstance(cli, click.Group)
    return sorted(cli.commands.items())


@pytest.mark.parametrize("name", [n for n, _ in _commands()])
def test_command_in_readme(name: str) -> None:
    assert f"harvester {name}" in README


@pytest.mark.parametrize(
    "option",
    sorted({opt for _, cmd in _commands() for p in cmd.params if isinstance(p, click.Option)
            for opt in p.opts if opt.startswith("--") and opt not in ("--help",)}),
)
def test_option_in_readme(option: str) -> None:
    assert re.search(re.escape(option) + r"\b", README), f"{option} is not documented"


def test_public_api_matches_all() -> None:
    exported = set(harvester.__all__)
    for name in exported:
        assert getattr(harvester, name) is not None
    assert {"harvest", "extract", "Config", "validate_file"} <= exported


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text("utf-8")
    command = ".venv/bin/python -m pytest -q"
    assert command in ci and command in README
