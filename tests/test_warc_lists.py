"""Lists of WARC paths or URLs (-i, gzipped or not, local, s3:// or http://) and --url-prefix.

Real servers on loopback: moto's S3 server in a thread, and an HTTP server
that answers Range requests.  The harvester runs as a real process with
tests/support/loopback_guard on PYTHONPATH, so it and every worker process
it starts refuse any name lookup or connection beyond loopback and note the
attempt: each run asserts there was none, and the S3 server's own request
log shows the requests arrived there.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harvester.config import Config, parse_storage_options
from harvester.errors import ConfigError, FetchError
from harvester.inputs.remote import HttpFile, Remote
from harvester.inputs.sources import iter_sources
from harvester.inputs.warc import WarcReader
from harvester.net.client import open_session
from harvester.pipeline.run import harvest
from harvester.records import SourceKind
from tests.support.rangefiles import RangeFiles
from tests.support.server import LoopbackServer
from tests.support.warcgen import corpus_pages, warc_bytes

ROOT = Path(__file__).resolve().parent.parent
GUARD = ROOT / "tests" / "support" / "loopback_guard"
BUCKET = "crawl-bucket"
PAGES_PER_WARC = 20
SEGMENT = "crawl-data/CC-MAIN-2024-10/segments/1707947473347.0/warc"


@dataclass
class Crawl:
    """WARC files under ``root`` at Common Crawl-like relative paths, and their list."""

    root: Path
    paths: list[str]
    videos: int
    listing: bytes  # warc.paths.gz

    def bytes_of(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    root = tmp_path_factory.mktemp("crawl")
    pages = list(corpus_pages(3 * PAGES_PER_WARC, video_every=4, min_size=3000,
                              max_size=6000))
    paths = []
    for n in range(3):
        rel = f"{SEGMENT}/CC-MAIN-20240220211055-20240221001055-{n:05d}.warc.gz"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(warc_bytes(pages[n * PAGES_PER_WARC:(n + 1) * PAGES_PER_WARC]))
        paths.append(rel)
    listing = gzip.compress(("\n".join(paths) + "\n").encode())
    (root / "warc.paths.gz").write_bytes(listing)
    return Crawl(root, paths, sum(p.videos for p in pages), listing)


# ── the S3 server ──────────────────────────────────────────────────────────


class _Requests(logging.Handler):
    """The request lines werkzeug logs for the moto server: (client, method, path)."""

    LINE = re.compile(r'^(\S+) - - \[[^\]]*\] "(\w+) (\S+) HTTP')

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[tuple[str, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = self.LINE.match(re.sub(r"\x1b\[[0-9;]*m", "", record.getMessage()))
        if found:
            self.seen.append((found[1], found[2], found[3].split("?", 1)[0]))


@dataclass
class S3:
    endpoint: str
    requests: _Requests

    def gets(self, key: str) -> int:
        return sum(1 for _, method, path in self.requests.seen
                   if method == "GET" and path == f"/{BUCKET}/{key}")


@pytest.fixture(scope="module")
def s3(crawl: Crawl) -> Iterator[S3]:
    """moto's S3 server on 127.0.0.1 (a free port), holding the crawl and its list."""
    import boto3
    from moto.server import ThreadedMotoServer

    requests = _Requests()
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.addHandler(requests)
    level = werkzeug.level
    werkzeug.setLevel(logging.INFO)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_bucket(Bucket=BUCKET)
        for rel in crawl.paths:
            client.put_object(Bucket=BUCKET, Key=rel, Body=crawl.bytes_of(rel))
        client.put_object(Bucket=BUCKET, Key="warc.paths.gz", Body=crawl.listing)
        client.put_object(Bucket=BUCKET, Key="with-missing.paths",
                          Body="\n".join([*crawl.paths[:2], f"{SEGMENT}/gone.warc.gz"]))
        yield S3(endpoint, requests)
    finally:
        server.stop()
        werkzeug.removeHandler(requests)
        werkzeug.setLevel(level)


# ── running the command ────────────────────────────────────────────────────


@dataclass
class Run:
    code: int
    stderr: str
    outside: list[str]
    document: dict[str, Any] | None


def run_cli(args: list[str], tmp_path: Path, output: Path | None = None,
            env: dict[str, str] | None = None) -> Run:
    """``python -m harvester`` kept on loopback, with dummy AWS credentials and no AWS
    configuration from this machine."""
    notes = tmp_path / "outside.txt"
    notes.write_text("")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update({
        "PYTHONPATH": os.pathsep.join([str(GUARD), str(ROOT)]),
        "HARVESTER_TEST_OUTSIDE": str(notes),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        **(env or {})})
    extra = ["-o", str(output)] if output is not None else []
    proc = subprocess.run([sys.executable, "-m", "harvester", "harvest", *args, *extra, "-q"],
                          capture_output=True, text=True, timeout=240, env=clean, cwd=ROOT)
    document = None
    if output is not None and output.exists():
        document = json.loads(output.read_text("utf-8"))
    return Run(proc.returncode, proc.stderr, notes.read_text().splitlines(), document)


def same_run(document: dict[str, Any] | None) -> dict[str, Any]:
    """A manifest without what differs between two runs of the same input (times)."""
    assert document is not None
    document = json.loads(json.dumps(document))
    for key in ("started", "finished"):
        document["run"].pop(key, None)
    return document


@pytest.fixture(scope="module")
def reference(crawl: Crawl, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The manifest of the local files, read through the same list under a local prefix."""
    tmp = tmp_path_factory.mktemp("reference")
    out = tmp / "m.json"
    run = run_cli(["-i", str(crawl.root / "warc.paths.gz"), "--url-prefix", str(crawl.root)],
                  tmp, out)
    assert run.code == 0, run.stderr
    document = same_run(run.document)
    assert document["run"]["counts"]["pages"] == 3 * PAGES_PER_WARC
    assert len(document["videos"]) == crawl.videos > 0
    return document


# ── S3 ─────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_s3_warc_list_gives_the_manifest_of_the_local_files(
        executor: str, crawl: Crawl, s3: S3, reference: dict[str, Any], tmp_path: Path) -> None:
    before = {rel: s3.gets(rel) for rel in crawl.paths}
    args = ["-i", f"s3://{BUCKET}/warc.paths.gz", "--url-prefix", f"s3://{BUCKET}/"]
    if executor == "serial":  # the endpoint from the environment, as botocore reads it
        env = {"AWS_ENDPOINT_URL": s3.endpoint}
    else:  # the endpoint as a storage option, carried to the workers in the config
        env = {}
        args += ["--executor", "local", "--workers", "2", "--shard-dir",
                 str(tmp_path / "shards"), "--storage-option", f"endpoint_url={s3.endpoint}"]
    run = run_cli(args, tmp_path, tmp_path / "m.json", env)
    assert run.code == 0, run.stderr
    assert run.outside == []
    assert same_run(run.document) == reference
    assert all(s3.gets(rel) > before[rel] for rel in crawl.paths)
    assert {client for client, _, _ in s3.requests.seen} == {"127.0.0.1"}
    if executor == "local":
        assert len(list((tmp_path / "shards").glob("*.done"))) == len(crawl.paths)


def test_a_missing_warc_in_s3_fails_alone(crawl: Crawl, s3: S3, tmp_path: Path) -> None:
    run = run_cli(["-i", f"s3://{BUCKET}/with-missing.paths", "--url-prefix",
                   f"s3://{BUCKET}", "--storage-option", f"endpoint_url={s3.endpoint}"],
                  tmp_path, tmp_path / "m.json")
    assert run.code == 1 and run.outside == []
    assert run.document is not None
    failed = [p for p in run.document["pages"] if p.get("error")]
    assert [p["page"] for p in failed] == [f"s3://{BUCKET}/{SEGMENT}/gone.warc.gz"]
    assert failed[0]["error"]["code"] == "not_found"
    assert run.document["run"]["counts"]["pages"] == 2 * PAGES_PER_WARC + 1


def test_a_missing_s3_list_exits_2_with_one_line(s3: S3, tmp_path: Path) -> None:
    run = run_cli(["-i", f"s3://{BUCKET}/nope.paths.gz"], tmp_path,
                  env={"AWS_ENDPOINT_URL": s3.endpoint})
    assert run.code == 2 and run.outside == []
    assert run.stderr.strip() == f"harvester: list file not found: s3://{BUCKET}/nope.paths.gz"


def test_the_loopback_guard_sees_an_s3_client_that_would_leave(tmp_path: Path) -> None:
    """Without an endpoint s3fs would go to AWS: the guard refuses the lookup (nothing
    leaves the machine) and notes it, so the empty notes of the other runs mean something."""
    run = run_cli(["-i", f"s3://{BUCKET}/warc.paths.gz"], tmp_path,
                  env={"AWS_MAX_ATTEMPTS": "1"})
    assert run.code == 2
    assert run.outside and all(note.startswith("lookup ") and "amazonaws" in note
                               for note in run.outside)
    assert run.stderr.startswith(f"harvester: cannot read list file s3://{BUCKET}/")
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_missing_local_list_exits_2_with_one_line(tmp_path: Path) -> None:
    run = run_cli(["-i", str(tmp_path / "warc.paths.gz"), "--url-prefix", "s3://commoncrawl/"],
                  tmp_path)
    assert run.code == 2
    assert run.stderr.strip() == f"harvester: list file not found: {tmp_path}/warc.paths.gz"


def test_a_bad_storage_option_exits_2_without_its_value(tmp_path: Path) -> None:
    run = run_cli(["x.warc.gz", "--storage-option", "secret"], tmp_path)
    assert run.code == 2 and "Traceback" not in run.stderr
    assert "not KEY=VALUE" in run.stderr


def test_storage_options_read_json_values() -> None:
    options = parse_storage_options(["anon=true", "endpoint_url=http://127.0.0.1:9000",
                                     'client_kwargs={"region_name": "eu-west-1"}', "key=abc"])
    assert options == {"anon": True, "endpoint_url": "http://127.0.0.1:9000",
                       "client_kwargs": {"region_name": "eu-west-1"}, "key": "abc"}
    with pytest.raises(ConfigError):
        parse_storage_options(["=x"])


def test_config_file_takes_url_prefix_and_a_table_of_storage_options(tmp_path: Path) -> None:
    from harvester.config import load_config

    path = tmp_path / "harvester.toml"
    path.write_text('url-prefix = "s3://commoncrawl/"\n'
                    'storage_options = {endpoint_url = "http://127.0.0.1:9000", anon = false}\n')
    config = load_config(path, {"inputs": ("warc.paths.gz",)})
    assert config.url_prefix == "s3://commoncrawl/"
    assert parse_storage_options(config.storage_options) == \
        {"endpoint_url": "http://127.0.0.1:9000", "anon": False}
    with pytest.raises(ConfigError, match="url-prefix"):
        load_config(None, {"url_prefix": " "})


def test_a_store_that_fails_mid_file_costs_the_rest_of_that_file_only(crawl: Crawl) -> None:
    """A file system error after some pages (a connection s3fs gave up on) keeps the
    pages read and ends that WARC with one ``unreadable`` entry; the run goes on."""
    import fsspec
    from fsspec.spec import AbstractFileSystem

    class Flaky(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data, self.pos = data, 0

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return True

        def seek(self, offset: int, whence: int = 0) -> int:
            self.pos = {0: 0, 1: self.pos, 2: len(self.data)}[whence] + offset
            return self.pos

        def readinto(self, buffer: Any) -> int:
            if self.pos > len(self.data) // 2:
                raise OSError("connection reset by the store")
            piece = self.data[self.pos:self.pos + len(buffer)]
            buffer[:len(piece)] = piece
            self.pos += len(piece)
            return len(piece)

    class FlakyFS(AbstractFileSystem):  # type: ignore[misc]
        protocol = "flaky"

        def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
            assert self._strip_protocol(path) == "crawl/a.warc.gz"
            return io.BufferedReader(Flaky(crawl.bytes_of(crawl.paths[0])))

    fsspec.register_implementation("flaky", FlakyFS, clobber=True)
    local = str(crawl.root / crawl.paths[1])
    manifest = harvest(["flaky://crawl/a.warc.gz", local], Config(output=None))
    failed = [p for p in manifest.pages if p.error is not None]
    assert [(p.ref, p.error.code) for p in failed if p.error] == \
        [("flaky://crawl/a.warc.gz", "unreadable")]
    # The other file is read whole; of this one, what came before the failure (how much
    # that is depends on the reader's buffer: FastWARC reads ahead further than warcio).
    assert 0 <= manifest.counts()["pages"] - len(failed) - PAGES_PER_WARC < PAGES_PER_WARC


# ── http ───────────────────────────────────────────────────────────────────


def _http_crawl(crawl: Crawl, server: LoopbackServer, ranges: bool = True) -> RangeFiles:
    """The crawl on ``server``; its list names one WARC by absolute URL, the rest relative."""
    lines = [server.url("/" + crawl.paths[0]), *crawl.paths[1:]]
    files = {"/" + rel: crawl.bytes_of(rel) for rel in crawl.paths}
    files["/warc.paths.gz"] = gzip.compress("\n".join(lines).encode())
    served = RangeFiles(files, ranges=ranges)
    served.serve(server)
    return served


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_http_warc_list_gives_the_manifest_of_the_local_files(
        executor: str, crawl: Crawl, reference: dict[str, Any], tmp_path: Path) -> None:
    with LoopbackServer() as server:
        served = _http_crawl(crawl, server)
        args = ["-i", server.url("/warc.paths.gz"), "--url-prefix", server.url("/")]
        if executor == "local":
            args += ["--executor", "local", "--workers", "2", "--shard-dir",
                     str(tmp_path / "shards")]
        run = run_cli(args, tmp_path, tmp_path / "m.json")
    assert run.code == 0, run.stderr
    assert run.outside == []
    assert same_run(run.document) == reference
    for rel in crawl.paths:  # each WARC read with Range requests, pinned with If-Range
        asked = served.requests_to("/" + rel)
        assert asked and all(r.get("Range", "").startswith("bytes=0-") for r in asked)


def test_http_warcs_go_through_the_proxy(crawl: Crawl, tmp_path: Path) -> None:
    from tests.support.proxy import CountingProxy

    with LoopbackServer() as server, CountingProxy() as proxy:
        _http_crawl(crawl, server)
        run = run_cli(["-i", server.url("/warc.paths.gz"), "--url-prefix", server.url("/"),
                       "--proxy", proxy.url], tmp_path, tmp_path / "m.json")
        targets = proxy.targets
    assert run.code == 0, run.stderr
    assert set(targets) == {server.url("/warc.paths.gz"),
                            *(server.url("/" + rel) for rel in crawl.paths)}


def test_a_missing_http_list_exits_2_with_one_line(tmp_path: Path) -> None:
    with LoopbackServer() as server:
        run = run_cli(["-i", server.url("/warc.paths.gz")], tmp_path)
    assert run.code == 2 and run.outside == []
    assert run.stderr.strip() == \
        f"harvester: list file not found: {server.url('/warc.paths.gz')}"


def test_a_redirect_to_an_internal_host_is_refused_by_the_address_guard(crawl: Crawl) -> None:
    rel = crawl.paths[0]
    with LoopbackServer() as named, LoopbackServer("127.0.0.2") as internal:
        RangeFiles({"/" + rel: crawl.bytes_of(rel)}).serve(internal)
        named.route("/moved.warc.gz", status=302, headers={"Location": internal.url("/" + rel)})
        refused = harvest([named.url("/moved.warc.gz")], Config(output=None))
        allowed = harvest([named.url("/moved.warc.gz")],
                          Config(output=None, allow_hosts=("127.0.0.2",)))
    assert [(p.ref, p.error.code if p.error else None) for p in refused.pages] == \
        [(named.url("/moved.warc.gz"), "private_address")]
    assert allowed.counts()["pages"] == PAGES_PER_WARC and not allowed.failed


def _pages_of(reader: WarcReader) -> list[tuple[str, bytes]]:
    return [(page.url or "", page.body) for page in reader.pages()]


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
def test_http_file_reads_the_warc_as_the_local_file(crawl: Crawl, ranges: bool) -> None:
    rel = crawl.paths[1]
    data = crawl.bytes_of(rel)
    local = _pages_of(WarcReader(str(crawl.root / rel)))
    with LoopbackServer() as server, open_session(Config()) as session:
        served = RangeFiles({"/w.warc.gz": data}, ranges=ranges)
        served.serve(server)
        files: list[HttpFile] = []

        def opener(url: str) -> Any:
            files.append(HttpFile(url, session, block=16384))
            return files[-1]

        remote = _pages_of(WarcReader(server.url("/w.warc.gz"), opener=opener))
    assert remote == local and len(local) == PAGES_PER_WARC
    asked = served.requests_to("/w.warc.gz")
    if ranges:  # one request per block, every later one pinned to the first's version
        assert len(asked) == files[0].requests >= len(data) // 16384
        assert all(r.get("If-Range") == '"v1"' for r in asked[1:])
    else:  # the whole file at once, kept aside and read from there
        assert len(asked) == files[0].requests == 1


def test_http_file_refuses_a_file_changed_between_blocks(crawl: Crawl) -> None:
    data = crawl.bytes_of(crawl.paths[0])
    with LoopbackServer() as server, open_session(Config()) as session:
        served = RangeFiles({"/w.warc.gz": data})
        served.serve(server)
        stream = HttpFile(server.url("/w.warc.gz"), session, block=4096)
        served.etag = '"v2"'  # replaced on the server after the first block
        stream.seek(8192)
        with pytest.raises(FetchError) as info:
            stream.read(100)
    assert info.value.code == "changed"


def test_http_file_of_an_empty_file_and_seeks(tmp_path: Path) -> None:
    with LoopbackServer() as server, open_session(Config()) as session:
        RangeFiles({"/empty.warc": b"", "/ten.warc": b"0123456789"}).serve(server)
        empty = HttpFile(server.url("/empty.warc"), session)
        assert empty.size == 0 and empty.read(10) == b""
        ten = HttpFile(server.url("/ten.warc"), session, block=4)
        assert ten.seek(0, 2) == 10 and ten.read(5) == b""
        ten.seek(3)
        assert ten.read(6) == b"345678" and ten.tell() == 9
        assert ten.seek(-2, 1) == 7 and ten.read() == b"789"


def test_remote_reads_a_list_at_an_http_url_as_sent(tmp_path: Path) -> None:
    listing = gzip.compress(b"a/x.warc.gz\n")
    with LoopbackServer() as server:
        RangeFiles({"/l.gz": listing}).serve(server)
        assert Remote(Config()).read_bytes(server.url("/l.gz")) == listing
        got = list(iter_sources([], [server.url("/l.gz")], url_prefix="s3://b"))
    assert [(s.ref, s.kind) for s in got] == [("s3://b/a/x.warc.gz", SourceKind.WARC)]


def test_the_shard_directory_in_s3_takes_the_storage_options(
        crawl: Crawl, s3: S3, reference: dict[str, Any], tmp_path: Path) -> None:
    import boto3

    args = ["-i", f"s3://{BUCKET}/warc.paths.gz", "--url-prefix", f"s3://{BUCKET}/",
            "--executor", "local", "--workers", "2", "--shard-dir", f"s3://{BUCKET}/run-1",
            "--storage-option", f"endpoint_url={s3.endpoint}"]
    run = run_cli(args, tmp_path, tmp_path / "m.json")  # no AWS_ENDPOINT_URL: options only
    assert run.code == 0, run.stderr
    assert run.outside == []
    assert same_run(run.document) == reference
    client = boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix="run-1/")["Contents"]]
    assert len([k for k in keys if k.endswith(".done")]) == len(crawl.paths)


_VIDEO_PAGE = (b'<html><script type="application/ld+json">{"@context": "https://schema.org", '
               b'"@type": "VideoObject", "name": "Clip", "uploadDate": "2024-01-01", '
               b'"thumbnailUrl": "https://example.org/t.jpg", '
               b'"contentUrl": "https://example.org/v.mp4"}</script></html>')


def _listed(named: LoopbackServer, internal: LoopbackServer, crawl: Crawl) -> str:
    """A list on ``named`` naming a page on its own host, and a page and a WARC on
    ``internal``; its URL."""
    rel = crawl.paths[0]
    for server in (named, internal):
        server.route("/page.html", body=_VIDEO_PAGE)
    RangeFiles({"/x.warc.gz": crawl.bytes_of(rel)}).serve(internal)
    lines = [named.url("/page.html"), internal.url("/page.html"), internal.url("/x.warc.gz")]
    named.route("/list.txt", body="\n".join(lines).encode(), content_type="text/plain")
    return named.url("/list.txt")


def test_a_list_from_the_network_cannot_send_the_run_to_an_internal_host(
        crawl: Crawl, tmp_path: Path) -> None:
    with LoopbackServer() as named, LoopbackServer("127.0.0.2") as internal:
        listing = _listed(named, internal, crawl)
        refused = run_cli(["-i", listing], tmp_path, tmp_path / "refused.json")
        asked_inside = list(internal.log)
        allowed = run_cli(["-i", listing, "--allow-host", "127.0.0.2"], tmp_path,
                          tmp_path / "allowed.json")
    assert refused.code == 1 and refused.document is not None
    errors = {p["page"]: (p.get("error") or {}).get("code") for p in refused.document["pages"]}
    assert errors == {named.url("/page.html"): None,
                      internal.url("/page.html"): "private_address",
                      internal.url("/x.warc.gz"): "private_address"}
    assert asked_inside == []
    assert allowed.code == 0, allowed.stderr
    assert allowed.document is not None
    assert allowed.document["run"]["counts"]["pages"] == 2 + PAGES_PER_WARC


def test_a_list_from_the_network_may_not_name_local_files(tmp_path: Path) -> None:
    with LoopbackServer() as server:
        server.route("/list.txt", body=b"/etc/hostname\n", content_type="text/plain")
        run = run_cli(["-i", server.url("/list.txt")], tmp_path, tmp_path / "m.json")
    assert run.code == 2 and run.document is None
    assert run.stderr.strip() == (
        f"harvester: list file {server.url('/list.txt')} names '/etc/hostname', which is "
        "not a URL: a list read from the network may name only URLs (relative lines need "
        "--url-prefix)")


def test_urls_of_a_remote_list_are_trusted_on_the_hosts_the_user_named() -> None:
    with LoopbackServer() as server:
        lines = ["a.html", server.url("/b.html"), "http://127.0.0.2:1/c.html",
                 "http://127.0.0.3:1/d.html", "s3://bucket/e.warc.gz"]
        server.route("/l.txt", body="\n".join(lines).encode(), content_type="text/plain")
        got = list(iter_sources([], [server.url("/l.txt")], url_prefix="http://127.0.0.3:1/"))
    assert [(s.ref, s.trusted) for s in got] == [
        ("http://127.0.0.3:1/a.html", True), (server.url("/b.html"), True),
        ("http://127.0.0.2:1/c.html", False), ("http://127.0.0.3:1/d.html", True),
        ("s3://bucket/e.warc.gz", True)]
