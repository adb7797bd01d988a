"""The operator's run, through the real command line: it talks while it works and stops
when asked.  Servers on 127.0.0.1 only; every harvester is a real subprocess."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvester.store.jsonl import read_jsonl_manifest
from harvester.store.manifest import manifest_line_problems, manifest_problems
from tests.support.faultserver import FaultServer, Reply, mp4_body

pytestmark = pytest.mark.timeout(120)

VIDEO = mp4_body(400 * 1024, seed=8)
ETAG = '"v1"'


def page_with_video(content_url: str, name: str = "clip") -> bytes:
    blob = {"@context": "https://schema.org", "@type": "VideoObject", "name": name,
            "contentUrl": content_url, "uploadDate": "2025-01-01"}
    return (f'<html><head><script type="application/ld+json">{json.dumps(blob)}'
            '</script></head><body>video</body></html>').encode()


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "harvester", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def ends(proc: subprocess.Popen[str], timeout: float = 60) -> int:
    """Wait for ``proc`` (its pipes drained and closed); its exit code."""
    proc.communicate(timeout=timeout)
    return proc.returncode


def test_jsonl_lines_reach_stdout_while_a_slow_page_is_still_loading(
        srv: FaultServer, tmp_path: Path) -> None:
    fast = srv.script("/fast.html", Reply(body=page_with_video("https://x.example/a.mp4"),
                                          content_type="text/html"))
    body = page_with_video("https://x.example/b.mp4", "slow")
    slow = srv.script("/slow.html", Reply(body=body, content_type="text/html",
                                          trickle=(len(body) // 6 + 1, 1.0)))
    started = time.monotonic()
    proc = start(["harvest", fast, slow, "--jsonl", "-o", "-", "--ignore-robots"], tmp_path)
    assert proc.stdout is not None
    first: list[tuple[float, dict[str, object]]] = []
    for line in proc.stdout:
        first.append((time.monotonic() - started, json.loads(line)))
        if first[-1][1]["type"] == "video":
            break
    rest, _ = proc.communicate(timeout=60)
    took, video = first[-1]
    assert video["page"] == fast and took < 2.0 < time.monotonic() - started
    lines = [record for _, record in first] + [json.loads(x) for x in rest.splitlines()]
    assert [line["type"] for line in lines] == ["run", "page", "video", "page", "video", "end"]
    assert all(manifest_line_problems(line) == [] for line in lines)


def test_first_sigint_stops_the_download_writes_the_manifest_and_keeps_the_part(
        srv: FaultServer, tmp_path: Path) -> None:
    media = srv.script("/v.mp4", Reply(body=VIDEO, etag=ETAG, trickle=(10 * 1024, 1.0)),
                       Reply(body=VIDEO, etag=ETAG))
    page = srv.script("/p.html", Reply(body=page_with_video(media), content_type="text/html"))
    out, dest = tmp_path / "m.json", tmp_path / "dl"
    args = ["harvest", page, "--download", "--dir", str(dest), "-o", str(out),
            "--allow-host", "127.0.0.1", "--ignore-robots", "--no-probe"]
    proc = start(args, tmp_path)
    time.sleep(3.0)
    stopped = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert ends(proc, 30) == 130 and time.monotonic() - stopped < 3.0
    document = json.loads(out.read_text())
    assert document["run"]["interrupted"] is True and manifest_problems(document) == []
    assert document["videos"][0]["media"]["video"]["error"]["code"] == "interrupted"
    parts = list(dest.rglob("*.part"))
    assert len(parts) == 1 and 0 < parts[0].stat().st_size < len(VIDEO)
    assert ends(start(args, tmp_path)) == 0
    resumed = srv.requests_to("/v.mp4")[-1].headers
    assert resumed["range"].startswith("bytes=") and resumed["range"] != "bytes=0-"
    video = json.loads(out.read_text())["videos"][0]["media"]["video"]
    assert video["status"] == "downloaded" and video["bytes"] == len(VIDEO)


@pytest.mark.parametrize("flag", ["-o", "--report", "--log-file"])
def test_an_output_that_cannot_be_written_stops_before_any_request(
        srv: FaultServer, tmp_path: Path, flag: str) -> None:
    page = srv.script("/p.html", Reply(body=b"<html></html>", content_type="text/html"))
    args = ["harvest", page, flag, str(tmp_path / "no-such-dir" / "out")]
    if flag != "-o":
        args += ["-o", str(tmp_path / "m.json")]
    proc = start(args, tmp_path)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 2 and stderr.count("\n") == 1
    assert "no-such-dir" in stderr and "Traceback" not in stderr
    assert srv.log == []


def test_failures_are_named_on_stderr_and_the_log_streams(
        srv: FaultServer, tmp_path: Path) -> None:
    missing = srv.url("/missing.html")
    blocked = "http://127.0.0.2:9/v.mp4"
    page = srv.script("/p.html", Reply(body=page_with_video(blocked), content_type="text/html"))
    log = tmp_path / "log.jsonl"
    proc = start(["harvest", missing, page, "--download", "--dir", str(tmp_path / "dl"),
                  "-o", str(tmp_path / "m.json"), "--log-file", str(log), "--ignore-robots",
                  "--retries", "0"], tmp_path)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"page failed: http_404 {missing}" in stderr
    assert f"media blocked: private_address {blocked}" in stderr
    assert "--allow-host" in stderr
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events == ["page_failed", "media_failed", "run"]


def test_report_reads_a_jsonl_manifest(tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "samples" / "texturized-news-page.txt"
    out = tmp_path / "m.jsonl"
    assert ends(start(["harvest", str(fixture), "--jsonl", "-o", str(out), "-q"], tmp_path)) == 0
    document = read_jsonl_manifest(out.read_text())
    assert manifest_problems(document) == []
    assert len(document["videos"]) == 3
    report = tmp_path / "r.html"
    assert ends(start(["report", str(out), "-o", str(report)], tmp_path)) == 0
    assert report.stat().st_size > 0


def test_jsonl_without_o_writes_manifest_jsonl(tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "samples" / "texturized-news-page.txt"
    assert ends(start(["harvest", str(fixture), "--jsonl", "-q"], tmp_path)) == 0
    assert (tmp_path / "manifest.jsonl").is_file()
    assert not (tmp_path / "manifest.json").exists()


def test_outputs_follow_the_umask(tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "samples" / "texturized-news-page.txt"
    old = os.umask(0o022)
    try:
        assert ends(start(["harvest", str(fixture), "-o", str(tmp_path / "m.json"),
                           "--report", str(tmp_path / "r.html"), "-q"], tmp_path)) == 0
    finally:
        os.umask(old)
    for name in ("m.json", "r.html"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644


def test_a_second_run_into_the_same_dir_reuses_files_and_replaces_a_corrupt_one(
        srv: FaultServer, tmp_path: Path) -> None:
    small = mp4_body(20 * 1024, seed=9)
    media = [srv.script(f"/m{i}.mp4", Reply(body=small[:-i - 1], etag=f'"e{i}"'))
             for i in range(2)]
    pages = [srv.script(f"/p{i}.html", Reply(body=page_with_video(url, f"v{i}"),
                                             content_type="text/html"))
             for i, url in enumerate(media)]
    args = ["harvest", *pages, "--download", "--dir", str(tmp_path / "dl"), "-o",
            str(tmp_path / "m.json"), "--allow-host", "127.0.0.1", "--ignore-robots",
            "--no-probe", "-q"]
    assert ends(start(args, tmp_path)) == 0
    first = {v["media"]["video"]["url"]: v["media"]["video"]
             for v in json.loads((tmp_path / "m.json").read_text())["videos"]}
    assert ends(start(args, tmp_path)) == 0
    second = json.loads((tmp_path / "m.json").read_text())["videos"]
    assert [v["media"]["video"]["status"] for v in second] == ["cached", "cached"]
    assert sum(len(srv.requests_to(f"/m{i}.mp4")) for i in range(2)) == 2
    corrupt = tmp_path / "dl" / first[media[0]]["path"]
    corrupt.write_bytes(b"\0" * corrupt.stat().st_size)
    assert ends(start(args, tmp_path)) == 0
    third = {v["media"]["video"]["url"]: v["media"]["video"]
             for v in json.loads((tmp_path / "m.json").read_text())["videos"]}
    assert third[media[0]]["status"] == "downloaded"
    assert third[media[1]]["status"] == "cached"
    assert len(srv.requests_to("/m0.mp4")) == 2 and len(srv.requests_to("/m1.mp4")) == 1
    assert hashlib.sha256(corrupt.read_bytes()).hexdigest() == first[media[0]]["sha256"]


def test_verbose_shows_each_retry(srv: FaultServer, tmp_path: Path) -> None:
    page = srv.script("/busy.html", Reply(status=503, content_type="text/plain"),
                      Reply(body=b"<html></html>", content_type="text/html"))
    proc = start(["harvest", page, "-o", str(tmp_path / "m.json"), "--ignore-robots", "-v"],
                 tmp_path)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert f"retry: http_503 {page} (attempt 1 failed" in stderr


def test_a_file_bar_knows_its_size() -> None:
    from harvester.cli.render import ProgressBars
    from harvester.pipeline.events import Event

    with ProgressBars(True, bars=True, total=2) as bars:
        bars.update(Event("media-start", "http://h/v.mp4", total=1000))
        bars.update(Event("media-bytes", "http://h/v.mp4", 500))
        shown = str(bars._files["http://h/v.mp4"])  # the line tqdm draws for this file
    assert "50%" in shown and "500/1.00k" in shown


def test_a_gzipped_page_is_harvested_and_validate_walks_a_directory(tmp_path: Path) -> None:
    fixture = (Path(__file__).parent / "samples" / "texturized-news-page.txt").read_bytes()
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "story.html.gz").write_bytes(gzip.compress(fixture))
    (pages / "bomb.html.gz").write_bytes(gzip.compress(b" " * (2 * 1024 * 1024)))
    out = tmp_path / "m.json"
    (tmp_path / "h.toml").write_text("max_page_bytes = \"1M\"\n")
    assert ends(start(["harvest", str(pages), "-o", str(out), "-q", "--config",
                       str(tmp_path / "h.toml")], tmp_path)) == 1  # the bomb failed
    document = json.loads(out.read_text())
    status = {Path(p["page"]).name: p for p in document["pages"]}
    assert status["story.html.gz"]["videos"] == 3
    assert status["bomb.html.gz"]["error"]["code"] == "too_large"
    checked = start(["validate", str(pages)], tmp_path)
    stdout, _ = checked.communicate(timeout=60)
    assert "story.html.gz: 3 video(s)" in stdout


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KB tmpfs filled to the brim (needs the right to mount, as root in CI)."""
    where = tmp_path / "full"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        (where / "m.json").write_text("the previous manifest\n")
        fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 512):
                pass
        except OSError:
            pass  # full
        finally:
            os.close(fd)
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


def test_a_full_disk_is_one_line_and_the_old_manifest_stays(full_disk: Path,
                                                            tmp_path: Path) -> None:
    fixture = Path(__file__).parent / "samples" / "texturized-news-page.txt"
    proc = start(["harvest", str(fixture), "-o", str(full_disk / "m.json")], tmp_path)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "disk is full" in stderr and "Traceback" not in stderr
    assert (full_disk / "m.json").read_text() == "the previous manifest\n"
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", "m.json"]


def test_verbose_names_pages_skipped_as_unchanged(srv: FaultServer, tmp_path: Path) -> None:
    page = srv.script("/same.html", Reply(body=b"<html>same</html>", content_type="text/html",
                                          etag='"s1"'))
    args = ["harvest", page, "-o", str(tmp_path / "m.json"), "--ignore-robots",
            "--state", str(tmp_path / "state.db"), "-v"]
    assert ends(start(args, tmp_path)) == 0
    proc = start(args, tmp_path)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0 and f"page unchanged: {page}" in stderr
