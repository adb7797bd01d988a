"""The whole pipeline over real pages served from loopback and read from disk."""

from __future__ import annotations

from pathlib import Path

from harvester import Config, harvest, manifest_problems
from tests.support.server import LoopbackServer

SAMPLES = Path(__file__).parent / "samples"

JSONLD_PAGE = b"""<!doctype html><html><head><title>t</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "VideoObject",
 "name": "Clip", "uploadDate": "2025-01-02T03:04:05Z", "duration": "PT1M30S",
 "thumbnailUrl": "/thumb.jpg", "contentUrl": "//cdn.example.org/v.mp4"}</script>
<script type="application/ld+json">{"@type": "VideoObject", "name": "Broken", }</script>
</head><body></body></html>"""


def test_pages_from_server_and_disk(http_server: LoopbackServer, tmp_path: Path) -> None:
    http_server.route("/robots.txt", status=404, body=b"")
    http_server.route("/a.html", body=JSONLD_PAGE)
    local = tmp_path / "local.html"
    local.write_bytes(JSONLD_PAGE.replace(b"Clip", b"Local clip"))
    manifest = harvest([http_server.url("/a.html"), str(local), http_server.url("/missing")],
                       Config(retries=0))
    document = manifest.to_dict()
    assert manifest_problems(document) == []
    by_page = {p["page"]: p for p in document["pages"]}
    assert by_page[http_server.url("/missing")]["error"]["code"] == "http_404"
    assert by_page[http_server.url("/a.html")]["videos"] == 2
    clip = next(v for v in document["videos"] if v["declared"]["name"] == "Clip")
    # Relative and protocol-relative URLs resolve against the fetched page.
    assert clip["declared"]["thumbnail_urls"] == [http_server.url("/thumb.jpg")]
    assert clip["declared"]["content_url"] == "http://cdn.example.org/v.mp4"
    assert clip["declared"]["duration_s"] == 90
    broken = next(v for v in document["videos"] if v["data"].get("name") == "Broken")
    assert broken["repairs"], "the bad blob was repaired, not lost"
    assert manifest.failed  # the 404 page makes the run exit 1


def test_one_bad_page_costs_only_itself(tmp_path: Path) -> None:
    good = tmp_path / "good.html"
    good.write_bytes(JSONLD_PAGE)
    binary = tmp_path / "binary.html"
    binary.write_bytes(bytes(range(256)) * 100)
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    manifest = harvest([str(binary), str(empty), str(good), str(tmp_path / "nope.html")],
                       Config(list_all_pages=True))
    statuses = {Path(p.ref).name: (p.error.code if p.error else "ok") for p in manifest.pages}
    assert statuses["good.html"] == "ok" and statuses["binary.html"] == "ok"
    assert statuses["empty.html"] == "ok" and statuses["nope.html"] != "ok"
    assert sum(len(p.videos) for p in manifest.pages) == 2


def test_directory_is_walked(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.html").write_bytes(JSONLD_PAGE)
    (tmp_path / "b.html").write_bytes(JSONLD_PAGE)
    manifest = harvest([str(tmp_path)], Config())
    assert len(manifest.pages) == 2
    assert manifest.to_dict()["run"]["counts"]["videos"] == 4


def test_failed_rerun_keeps_last_good_videos(http_server: LoopbackServer,
                                             tmp_path: Path) -> None:
    from harvester.store.state import State

    http_server.route("/robots.txt", status=404, body=b"")
    http_server.route("/a.html", body=JSONLD_PAGE)
    config = Config(retries=0, state=str(tmp_path / "s.db"))
    with State.open(tmp_path / "s.db") as state:
        first = harvest([http_server.url("/a.html")], config, state=state)
        state.commit_run()
    http_server.route("/a.html", status=503, body=b"down")
    with State.open(tmp_path / "s.db") as state:
        second = harvest([http_server.url("/a.html")], config, state=state)
    assert second.pages[0].error is not None and second.pages[0].error.code == "http_503"
    assert [v.id for v in second.videos] == [v.id for v in first.videos]
    assert second.changes == {"new": [], "changed": [], "gone": []}
    assert second.failed


def test_recorder_saves_a_file_only_once_its_directory_is_durable(tmp_path: Path) -> None:
    import threading

    from harvester.pipeline.media import Recorder
    from harvester.records import MediaResult, MediaStatus

    saved: list[str] = []
    problems: list[str] = []
    tickets: dict[str, int] = {}

    class Memory:
        def save_media(self, result: MediaResult) -> None:
            if not recorder.dirsync.durable(tickets[result.url]):
                problems.append(f"{result.url} saved before its directory was fsynced")
            saved.append(result.url)

    recorder = Recorder([Memory()], batch=3, wait=60.0)

    def worker(n: int) -> None:
        for i in range(n, 48, 4):
            sub = f"{i % 7:02x}"
            (tmp_path / sub).mkdir(exist_ok=True)
            tickets[f"u{i}"] = recorder.dirsync.add(tmp_path / sub)  # as finalize does
            recorder.add(MediaResult(url=f"u{i}", status=MediaStatus.DOWNLOADED,
                                     path=f"{sub}/{i}.mp4", sha256="0" * 64))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert saved  # batches of 3 were saved while the work went on
    recorder.flush()
    assert problems == [] and sorted(saved) == sorted(f"u{i}" for i in range(48))
    assert recorder.dirsync.fsyncs < 48  # several files per directory fsync


def test_recorder_records_nothing_it_could_not_make_durable(tmp_path: Path) -> None:
    from harvester.pipeline.media import Recorder
    from harvester.records import MediaResult, MediaStatus

    saved: list[str] = []

    class Memory:
        def save_media(self, result: MediaResult) -> None:
            saved.append(result.url)

    recorder = Recorder([Memory()])
    gone = tmp_path / "ab"  # a directory that vanished before its fsync
    recorder.dirsync.add(gone)
    recorder.add(MediaResult(url="u", status=MediaStatus.DOWNLOADED, path="ab/x.mp4",
                             sha256="0" * 64))
    recorder.flush()  # a warning, not an exception
    assert saved == [] and recorder.dirsync.waiting() == {gone}
    gone.mkdir()
    recorder.flush()
    assert recorder.dirsync.waiting() == frozenset() and saved == []
