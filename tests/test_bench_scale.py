"""scripts/bench_scale.py: its corpus, its driver measurement and its manifest check.

The check must pass a complete manifest in every shape the coordinator may write
(full JSON, JSON lines, a summary whose parts hold the records, a listing of only
the pages with videos) and must fail one that lost or repeated a video.
"""

from __future__ import annotations

import copy
import gzip
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bench_scale  # noqa: E402

PER_WARC = 40
FILES = 2


@pytest.fixture(scope="module")
def measured_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """One real serial CLI run over two small generated WARC files, kept on disk."""
    work = tmp_path_factory.mktemp("scale")
    args = bench_scale.parse_args(["--work", str(work), "--per-warc", str(PER_WARC),
                                   "--sizes", str(FILES * PER_WARC), "--jobs", "1"])
    warcs = bench_scale.build_corpus(work, FILES, PER_WARC, jobs=1)
    expected = bench_scale.Expected.of(FILES, PER_WARC)
    run = bench_scale.run_once(warcs, "serial", work / "out", args, expected, None)
    return work / "out" / "manifest.json", run


def expected() -> bench_scale.Expected:
    return bench_scale.Expected.of(FILES, PER_WARC)


def test_corpus_is_cached_and_has_one_video_in_twenty(tmp_path: Path) -> None:
    first = bench_scale.build_corpus(tmp_path, FILES, PER_WARC, jobs=1)
    stamp = Path(first[0]).stat().st_mtime_ns
    again = bench_scale.build_corpus(tmp_path, FILES, PER_WARC, jobs=1)
    assert again == first
    assert Path(first[0]).stat().st_mtime_ns == stamp  # reused, not rewritten
    pages = list(bench_scale.file_pages(1, PER_WARC))
    assert len(pages) == PER_WARC
    assert sum(p.videos for p in pages) == PER_WARC // bench_scale.VIDEO_EVERY
    assert all(1500 <= len(p.body) <= 6000 for p in pages)  # about 2-5 KB
    with_video = [p for p in pages if p.videos]
    assert b'"@type": "VideoObject"' in with_video[0].body
    assert len(expected().video_pages) == FILES * PER_WARC // bench_scale.VIDEO_EVERY


def test_real_run_is_measured_and_complete(measured_run: tuple[Path, Any]) -> None:
    run = measured_run[1]
    assert run.returncode == 0
    assert run.complete, run.check.problems
    assert run.hwm > 10 * bench_scale.MIB  # a Python process with harvester loaded
    assert run.polled_peak > 0 and run.seconds > 0
    assert run.check.video_entries == len(expected().video_pages)


def test_missing_or_repeated_video_is_incomplete(measured_run: tuple[Path, Any],
                                                 tmp_path: Path) -> None:
    full = json.loads(measured_run[0].read_text())
    lost = copy.deepcopy(full)
    lost["videos"].pop()
    (tmp_path / "lost.json").write_text(json.dumps(lost))
    check = bench_scale.check_manifest(tmp_path / "lost.json", "json", expected())
    assert not check.complete
    assert "1 expected videos missing" in check.problems

    twice = copy.deepcopy(full)
    twice["videos"].append(twice["videos"][0])
    (tmp_path / "twice.json").write_text(json.dumps(twice))
    check = bench_scale.check_manifest(tmp_path / "twice.json", "json", expected())
    assert "1 videos listed more than once" in check.problems

    short = copy.deepcopy(full)
    short["run"]["counts"]["pages"] -= 1
    (tmp_path / "short.json").write_text(json.dumps(short))
    check = bench_scale.check_manifest(tmp_path / "short.json", "json", expected())
    assert check.problems == [f"counts.pages={FILES * PER_WARC - 1} (want {FILES * PER_WARC})"]


def test_manifest_listing_only_pages_with_videos_is_complete(measured_run: tuple[Path, Any],
                                                             tmp_path: Path) -> None:
    full = json.loads(measured_run[0].read_text())
    full["pages"] = [p for p in full["pages"] if p["videos"]]
    for video in full["videos"]:
        del video["page"]  # matched by contentUrl instead
    (tmp_path / "m.json").write_text(json.dumps(full))
    assert bench_scale.check_manifest(tmp_path / "m.json", "json", expected()).complete


def test_summary_with_parts_is_read(measured_run: tuple[Path, Any], tmp_path: Path) -> None:
    full = json.loads(measured_run[0].read_text())
    (tmp_path / "parts").mkdir()
    half = len(full["videos"]) // 2
    for n, videos in enumerate((full["videos"][:half], full["videos"][half:])):
        with gzip.open(tmp_path / "parts" / f"part-{n}.jsonl.gz", "wt") as part:
            for video in videos:
                part.write(json.dumps({"type": "video", **video}) + "\n")
    summary = {"run": full["run"], "videos": full["videos"][:1],
               "parts": [{"path": f"parts/part-{n}.jsonl.gz"} for n in range(2)]}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    check = bench_scale.check_manifest(tmp_path / "summary.json", "json", expected())
    assert check.complete, check.problems
    assert check.video_entries == len(full["videos"])  # the summary's own list is not counted

    (tmp_path / "parts" / "part-1.jsonl.gz").unlink()
    with gzip.open(tmp_path / "parts" / "part-1.jsonl.gz", "wt") as part:
        part.write("")
    check = bench_scale.check_manifest(tmp_path / "summary.json", "json", expected())
    assert f"{len(full['videos']) - half} expected videos missing" in check.problems


def test_jsonl_manifest_counts_come_from_its_end_line(measured_run: tuple[Path, Any],
                                                      tmp_path: Path) -> None:
    full = json.loads(measured_run[0].read_text())
    counts = full["run"].pop("counts")
    lines = [{"type": "run", **full["run"]}]
    lines += [{"type": "video", **v} for v in full["videos"]]
    lines.append({"type": "end", "counts": counts})
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert bench_scale.check_manifest(path, "jsonl", expected()).complete
    path.write_text("".join(json.dumps(line) + "\n" for line in lines[:-1]))
    problems = bench_scale.check_manifest(path, "jsonl", expected()).problems
    assert "counts.pages=None (want 80)" in problems
