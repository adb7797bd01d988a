"""Outputs at scale: results kept on disk, pages counted not listed, manifests in parts."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harvester.records import ErrorInfo, PageResult, utc_now
from harvester.store.manifest import Manifest, manifest_problems, to_json
from harvester.store.results import RunResults
from tests.support.warcgen import corpus_pages, warc_bytes
from tests.test_manifest import make_media, make_video

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harvester", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def warcs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Three WARC files of corpus-like pages, one in ten with a video, and a recrawl."""
    root = tmp_path_factory.mktemp("warcs")
    pages = list(corpus_pages(120, video_every=10, min_size=3000, max_size=6000))
    paths = []
    for n in range(3):
        path = root / f"crawl-{n}.warc.gz"
        path.write_bytes(warc_bytes(pages[n * 40:(n + 1) * 40]))
        paths.append(str(path))
    (root / "recrawl.warc.gz").write_bytes(warc_bytes(pages[:10]))
    return [*paths, str(root / "recrawl.warc.gz")]


def test_pages_without_videos_are_counted_not_kept() -> None:
    results = RunResults(list_all=False)
    assert results.add(PageResult(ref="a")) is False
    assert results.add(PageResult(ref="b", videos=(make_video(),))) is True
    assert results.add(PageResult(ref="c", error=ErrorInfo("http_404", "gone"))) is True
    assert [p.ref for p in results.pages()] == ["b", "c"]
    counts = results.counts()
    assert (counts["pages"], counts["pages_failed"], counts["videos"]) == (3, 1, 1)


def test_a_success_replaces_a_failure_in_its_place_and_nothing_else_replaces() -> None:
    results = RunResults()
    heard: list[str] = []
    results.listeners.append(lambda r: heard.append(r.ref))
    results.add(PageResult(ref="a", error=ErrorInfo("timeout", "slow")))
    results.add(PageResult(ref="b", videos=(make_video(),)))
    assert results.add(PageResult(ref="a", videos=(make_video("fedcba9876543210"),))) is True
    assert results.add(PageResult(ref="b", error=ErrorInfo("timeout", "slow"))) is False
    pages = list(results.pages())
    assert [p.ref for p in pages] == ["a", "b"]
    assert pages[0].error is None and pages[1].error is None
    assert heard == ["a", "b"]  # listeners hear each page once
    assert results.counts()["pages_failed"] == 0


def test_streamed_text_is_the_document_text() -> None:
    videos = (make_video(), make_video("fedcba9876543210", duplicate_of="0123456789abcdef"))
    full = Manifest.build(
        started=utc_now(), finished=utc_now(), options={"download": True},
        pages=[PageResult(ref="https://example.org/a", videos=videos),
               PageResult(ref="https://example.org/b", error=ErrorInfo("http_404", "gone"))],
        media={"0123456789abcdef": make_media()},
        seen={"0123456789abcdef": (utc_now(), utc_now())},
        changes={"new": ["0123456789abcdef"], "changed": [], "gone": []})
    for manifest in (full, Manifest(started=utc_now())):
        assert "".join(manifest.pieces()) == to_json(manifest.to_dict())


def _videos_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["id"]: v for v in document["videos"]}


def _harvest(warcs: list[str], tmp_path: Path, name: str, *extra: str) -> Path:
    out = tmp_path / f"{name}.json"
    done = run_cli("harvest", *warcs, "-o", str(out), "-q", *extra, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return out


def test_default_manifest_lists_pages_with_videos_and_counts_all(
        warcs: list[str], tmp_path: Path) -> None:
    short = json.loads(_harvest(warcs, tmp_path, "short").read_text())
    full = json.loads(_harvest(warcs, tmp_path, "full", "--list-all-pages").read_text())
    assert manifest_problems(short) == [] and manifest_problems(full) == []
    assert short["run"]["counts"] == full["run"]["counts"]
    assert short["run"]["counts"]["pages"] == 130  # the recrawl's pages are read again
    assert len(full["pages"]) == 120  # listed once each
    assert {p["page"] for p in short["pages"]} == {p["page"] for p in full["pages"]
                                                   if p["videos"] or p["error"]}
    assert len(short["pages"]) == 12 and _videos_of(short) == _videos_of(full)


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_parts_hold_the_same_videos_as_one_manifest(
        warcs: list[str], tmp_path: Path, executor: str) -> None:
    pyarrow_parquet = pytest.importorskip("pyarrow.parquet")
    single = json.loads(_harvest(warcs, tmp_path, "single").read_text())
    summary_path = _harvest(warcs, tmp_path, "run", "--output-format", "parts", "--parquet",
                            "--executor", executor, "--workers", "2")
    summary = json.loads(summary_path.read_text())
    assert manifest_problems(summary) == []
    assert "videos" not in summary and summary["run"]["counts"] == single["run"]["counts"]
    assert sum(p["videos"] for p in summary["parts"]) == len(single["videos"])

    from_jsonl: dict[str, dict[str, Any]] = {}
    for part in summary["parts"]:
        with gzip.open(tmp_path / part["files"]["videos"]["path"], "rt") as fh:
            from_jsonl.update((v["id"], v) for v in map(json.loads, fh))
    assert from_jsonl == _videos_of(single)

    table = [row for part in summary["parts"]
             for row in pyarrow_parquet.read_table(tmp_path / part["files"]["parquet"]["path"])
             .to_pylist()]
    assert {r["id"]: json.loads(r["data"]) for r in table} == {
        vid: v["data"] for vid, v in _videos_of(single).items()}

    merged = tmp_path / "merged.json"
    done = run_cli("merge", str(summary_path), "-o", str(merged), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    whole = json.loads(merged.read_text())
    assert manifest_problems(whole) == []
    assert whole["videos"] == single["videos"] and whole["pages"] == single["pages"]
    assert whole["run"]["counts"] == single["run"]["counts"]


def test_merge_refuses_a_part_that_changed(warcs: list[str], tmp_path: Path) -> None:
    summary_path = _harvest(warcs[:1], tmp_path, "run", "--output-format", "parts")
    summary = json.loads(summary_path.read_text())
    part = tmp_path / summary["parts"][0]["files"]["videos"]["path"]
    part.write_bytes(gzip.compress(b'{"id": "forged"}\n'))
    done = run_cli("merge", str(summary_path), "-o", str(tmp_path / "m.json"), cwd=tmp_path)
    assert done.returncode == 1
    assert "does not match its checksum" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "m.json").exists()


def test_parts_need_a_file_for_the_summary(warcs: list[str], tmp_path: Path) -> None:
    done = run_cli("harvest", warcs[0], "--output-format", "parts", "-o", "-", cwd=tmp_path)
    assert done.returncode == 2 and "needs -o FILE" in done.stderr


def test_a_run_over_the_page_threshold_is_written_in_parts_and_says_so(
        warcs: list[str], tmp_path: Path) -> None:
    out = tmp_path / "big.json"
    done = run_cli("harvest", warcs[0], "-o", str(out), "--parts-over-pages", "10",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(out.read_text())
    assert manifest_problems(summary) == [] and summary["run"]["counts"]["pages"] == 40
    assert [p["files"]["videos"]["path"] for p in summary["parts"]] == [
        "big.parts/videos-00000.jsonl.gz"]
    assert "written in parts" in done.stderr and "big.parts/" in done.stderr
    small = run_cli("harvest", warcs[0], "-o", str(tmp_path / "small.json"),
                    "--parts-over-pages", "40", "-q", cwd=tmp_path)
    assert small.returncode == 0 and "videos" in json.loads((tmp_path / "small.json").read_text())
