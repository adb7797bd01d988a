"""The command line: output, exit codes 0/1/2, help with examples, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harvester import manifest_problems
from harvester.cli import cli, main
from harvester.store.manifest import manifest_line_problems

SAMPLES = Path(__file__).parent / "samples"
FIXTURE = SAMPLES / "texturized-news-page.txt"


def run(args: list[str]) -> tuple[int, str, str]:
    """Run ``python -m harvester`` for real: exit code, stdout, stderr."""
    proc = subprocess.run([sys.executable, "-m", "harvester", *args], capture_output=True,
                          text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("command", ["harvest", "validate", "probe", "report", "schema", "demo"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "-h"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Example" in result.output and f"harvester {command}" in result.output


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"], catch_exceptions=False)
    assert result.exit_code == 0 and "harvester" in result.output


def test_harvest_fixture_writes_a_valid_manifest(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    code, stdout, stderr = run(["harvest", str(FIXTURE), "-o", str(out)])
    assert code == 0, stderr
    assert stdout == ""  # quiet on stdout for cron
    assert stderr.count("\n") == 1 and "3 videos" in stderr
    document = json.loads(out.read_text())
    assert manifest_problems(document) == []
    assert [v["syntax"] for v in document["videos"]] == ["text"] * 3
    assert [v["partial"] for v in document["videos"]] == [False, False, True]


def test_harvest_jsonl_to_stdout() -> None:
    code, stdout, _ = run(["harvest", str(FIXTURE), "-o", "-", "--jsonl", "-q"])
    assert code == 0
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [r["type"] for r in lines] == ["run", "page", "video", "video", "video", "end"]
    assert all(manifest_line_problems(line) == [] for line in lines)
    assert "finished" not in lines[0] and lines[-1]["interrupted"] is False


def test_missing_page_exits_1_with_one_line(tmp_path: Path) -> None:
    code, _, stderr = run(["harvest", str(tmp_path / "nope.html"), "-o", str(tmp_path / "m")])
    assert code == 1
    assert "Traceback" not in stderr


@pytest.mark.parametrize("args", [
    ["harvest"],
    ["harvest", "x.html", "--concurrency", "0"],
    ["harvest", "x.html", "--max-bytes", "lots"],
    ["harvest", "x.html", "--config", "/nonexistent/harvester.toml"],
    ["schema", "nothing"],
    ["nosuchcommand"],
])
def test_bad_usage_exits_2_without_traceback(args: list[str]) -> None:
    code, _, stderr = run(args)
    assert code == 2, stderr
    assert "Traceback" not in stderr and stderr.strip()


def test_unknown_config_key_names_key_and_file(tmp_path: Path) -> None:
    config = tmp_path / "h.toml"
    config.write_text('concurency = 3\n')
    code, _, stderr = run(["harvest", str(FIXTURE), "--config", str(config)])
    assert code == 2
    assert "concurency" in stderr and str(config) in stderr


def test_validate_prints_findings_and_exits_1() -> None:
    code, stdout, _ = run(["validate", str(FIXTURE)])
    assert code == 1
    assert "T1M30S" in stdout and "error" in stdout and "truncated" in stdout


def test_validate_a_bare_json_blob(tmp_path: Path) -> None:
    blob = tmp_path / "v.jsonld"
    blob.write_text(json.dumps({
        "@context": "https://schema.org", "@type": "VideoObject", "name": "x",
        "thumbnailUrl": "https://example.org/t.jpg", "uploadDate": "2024-01-01T00:00:00Z",
        "contentUrl": "https://example.org/v.mp4", "duration": "PT10S",
        "description": "d"}))
    code, stdout, _ = run(["validate", str(blob)])
    assert code == 0, stdout
    assert "valid" in stdout


@pytest.mark.parametrize(("content", "why"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('<script type="application/ld+json">{"@type": "VideoObject", "name": "'
     + "x" * 10_500_000 + '"}</script>', "too large to parse"),
])
def test_validate_names_a_blob_it_cannot_read_and_exits_1(
        tmp_path: Path, content: str, why: str) -> None:
    path = tmp_path / ("page.html" if content.startswith("<") else "blob.json")
    path.write_text(content)
    code, stdout, _ = run(["validate", str(path)])
    assert code == 1
    assert "no VideoObject found" in stdout and "unreadable json-ld at offset" in stdout
    assert why in stdout


@pytest.mark.parametrize("name", ["videoobject", "manifest"])
def test_schema_prints_json(name: str) -> None:
    code, stdout, _ = run(["schema", name])
    assert code == 0
    assert json.loads(stdout)["$schema"].startswith("https://json-schema.org/")


def test_main_maps_errors_to_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["harvest", "--retries", "-1", "x.html"])
    assert exc.value.code == 2
    assert "retries" in capsys.readouterr().err
