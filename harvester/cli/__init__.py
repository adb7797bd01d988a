"""The ``harvester`` command: a thin layer over the library.

Each command parses its options into a :class:`~harvester.config.Config`,
makes one library call and renders the result.  ``main()`` is the one place
that maps :class:`~harvester.errors.HarvesterError` to an exit code and a
single line on stderr (``-v`` / ``--traceback`` shows the traceback instead).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar

import click

from harvester import __version__
from harvester.cli.render import (
    ProgressBars,
    render_probe,
    render_validation,
    summary_line,
)
from harvester.config import Config, load_config
from harvester.errors import ConfigError, HarvesterError
from harvester.net.redact import redact

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class ExitCode(IntEnum):
    """What the process tells its caller (cron reads these)."""

    OK = 0
    FAILURES = 1
    USAGE = 2
    LOCKED = 75
    INTERRUPTED = 130


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="harvester")
def cli() -> None:
    """Find every schema.org VideoObject on web pages, repair and validate it,
    optionally download and measure the media, and write a manifest.

    \b
    Example:
      harvester harvest https://example.org/news/article.html -o manifest.json
      harvester demo
    """


_DEFAULTS = Config()


class _ConfigDefault(click.Option):
    """An option whose help shows its Config default as written, not in parentheses.

    Options default to None so that a config file's value is not overridden
    by a flag nobody gave; the default that applies is the Config's.
    """

    def get_help_extra(self, ctx: click.Context) -> Any:
        extra = super().get_help_extra(ctx)
        if isinstance(self.show_default, str):
            extra["default"] = self.show_default
        return extra


def shown(name: str, text: str | None = None) -> dict[str, Any]:
    """Keyword arguments that show the Config default of ``name`` (or ``text``) in -h."""
    value = getattr(_DEFAULTS, name)
    if text is None:
        if isinstance(value, bool):
            text = "on" if value else "off"
        elif name == "max_bytes" and value % 1024**3 == 0:
            text = f"{value // 1024**3}GiB"
        else:
            text = f"{value:g}" if isinstance(value, float) else str(value)
    return {"cls": _ConfigDefault, "show_default": text}


def network_options() -> list[Callable[[F], F]]:
    """Proxy, identity, pacing and bandwidth: how the run behaves on the network."""
    return [
        click.option("--proxy", default=None, metavar="URL", **shown("proxy", "none"),
                     help="Send every request through this http:// or https:// proxy."),
        click.option("--trust-env", is_flag=True, default=None, **shown("trust_env"),
                     help="Use the HTTP_PROXY, HTTPS_PROXY and NO_PROXY variables."),
        click.option("--user-agent", default=None, metavar="STRING",
                     **shown("user_agent"),
                     help="User-Agent; its first word is the robots.txt product token."),
        click.option("--header", "headers", multiple=True, metavar="'NAME: VALUE'",
                     help="Extra request header for pages and media (repeatable); "
                          "Authorization and Cookie are never sent to robots.txt."),
        click.option("--wait", type=float, default=None, metavar="SECONDS",
                     **shown("wait"),
                     help="Seconds between requests to one host, jittered 0.5x-1.5x."),
        click.option("--rate", default=None, metavar="N/s", **shown("rate", "no cap"),
                     help="Most requests per host, e.g. 2/s or 30/m."),
        click.option("--limit-rate", default=None, metavar="SIZE/s",
                     **shown("limit_rate", "no cap"),
                     help="Bandwidth cap per transfer, e.g. 500K."),
    ]


def harvest_options(f: F) -> F:
    """The options of ``harvest``, shared with anything that runs a harvest."""
    options = [
        click.option("-i", "--input", "inputs", multiple=True, metavar="LIST",
                     help="File listing PAGEs or WARC files, one per line, such as a "
                          "Common Crawl warc.paths.gz: a path or a URL (s3://, https://), "
                          "gzipped or not (repeatable)."),
        click.option("--url-prefix", default=None, metavar="PREFIX",
                     help="Put PREFIX before each relative line of -i lists and '-', "
                          "e.g. s3://commoncrawl/ or https://data.example.org/."),
        click.option("--storage-option", "storage_options", multiple=True,
                     metavar="KEY=VALUE",
                     help="fsspec option for s3:// and other non-http URLs (repeatable), "
                          "e.g. endpoint_url=http://127.0.0.1:9000 or anon=true; "
                          "the AWS_* environment variables work too."),
        click.option("--glob", "globs", multiple=True, metavar="PATTERN",
                     help="Which files of a directory PAGE are pages, e.g. '*.shtml' "
                          "(repeatable; default: .html .htm .xhtml .txt .json .jsonld, "
                          "WARC files, .gz of these, and extensionless HTML)."),
        click.option("--sitemap", "sitemaps", multiple=True, metavar="URL",
                     help="Harvest the pages a sitemap, sitemap index or plain-text list of "
                          "URLs names (repeatable)."),
        click.option("--sitemaps-from-robots", "sitemaps_from_robots", multiple=True,
                     metavar="SITE", help="Harvest the sitemaps the Sitemap: lines of SITE's "
                                          "robots.txt name (repeatable)."),
        click.option("--since", default=None, metavar="DATE",
                     help="Only sitemap pages whose lastmod is on or after DATE "
                          "(e.g. 2026-11-01)."),
        click.option("-o", "--output", default=None, metavar="FILE",
                     **shown("output"), help="Manifest path ('-' for stdout; "
                                             "manifest.jsonl with --jsonl)."),
        click.option("--download/--no-download", default=None, **shown("download"),
                     help="Download each video and thumbnail."),
        click.option("--measure", is_flag=True, default=None,
                     help="Measure HLS/DASH streams from their playlists without downloading."),
        click.option("--stream-variant", default=None, metavar="WHICH",
                     help="Stream rendition to fetch: best, worst, match (the declared size, "
                          "else best; default) or WIDTHxHEIGHT."),
        click.option("--dir", default=None, metavar="DIR", **shown("dir"),
                     help="Download directory."),
        click.option("--state", default=None, metavar="FILE",
                     help="SQLite state for incremental (cron) runs."),
        click.option("--verify", is_flag=True, default=None, **shown("verify"),
                     help="Re-hash every file already downloaded before reusing it, not "
                          "only those whose size or modification time changed "
                          "(e.g. --download --state s.sqlite --verify)."),
        click.option("--config", "config_path", default=None, metavar="FILE",
                     help="harvester.toml with any of these options; flags win."),
        click.option("--allow-private-hosts", is_flag=True, default=None,
                     **shown("allow_private_hosts"),
                     help="Allow every loopback/private address (media, redirects)."),
        click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST",
                     help="Allow one private host: a name, an address or a CIDR range "
                          "(repeatable), e.g. --allow-host 10.0.0.5."),
        click.option("--ignore-robots", is_flag=True, default=None,
                     **shown("ignore_robots"),
                     help="Fetch pages even where robots.txt disallows them."),
        click.option("--concurrency", type=int, default=None, **shown("concurrency"),
                     help="Parallel transfers."),
        click.option("--retries", type=int, default=None, **shown("retries"),
                     help="Retries per transfer."),
        click.option("--timeout", type=float, default=None, **shown("timeout"),
                     help="Seconds per network read."),
        click.option("--max-bytes", default=None, metavar="SIZE", **shown("max_bytes"),
                     help="Byte cap per download, e.g. 500M or 2G."),
        *network_options(),
        click.option("--no-probe", "no_probe", is_flag=True, default=False,
                     help="Do not measure downloads with ffprobe."),
        click.option("--jsonl", is_flag=True, default=None, **shown("jsonl"),
                     help="Stream the manifest as JSON lines while the run works "
                          "(the same as --output-format jsonl)."),
        click.option("--output-format", type=click.Choice(["json", "jsonl", "parts"]),
                     default=None, cls=_ConfigDefault, show_default="json",
                     help="json: one document; jsonl: JSON lines as the run goes; parts: a "
                          "summary at -o plus JSONL.gz files per shard in MANIFEST.parts/ "
                          "(a json run over --parts-over-pages pages writes parts too)."),
        click.option("--parquet", is_flag=True, default=None, **shown("parquet"),
                     help="With parts: a Parquet file of each part's videos too (needs "
                          "pyarrow)."),
        click.option("--parts-over-pages", type=int, default=None, metavar="N",
                     **shown("parts_over_pages"),
                     help="A JSON manifest of a run over N pages is written as parts."),
        click.option("--list-all-pages", is_flag=True, default=None,
                     **shown("list_all_pages"),
                     help="List every page in the manifest (default: pages with videos, "
                          "errors or sitemap facts are listed, the others only counted)."),
        click.option("--report", default=None, metavar="HTML", help="Also write an HTML report."),
        click.option("--log-file", default=None, metavar="FILE", help="Append JSON-lines logs."),
        click.option("--executor", type=click.Choice(["serial", "local", "dask"]), default=None,
                     **shown("executor"),
                     help="Where pages are processed: threads here (serial), a process "
                          "pool (local), or a Dask cluster (dask)."),
        click.option("--scheduler", default=None, metavar="ADDRESS",
                     help="Dask scheduler address (default: a LocalCluster)."),
        click.option("--workers", type=int, default=None, metavar="N",
                     help="Worker processes for --executor local/dask (default: all cores)."),
        click.option("--shard-dir", default=None, metavar="URL",
                     help="Where shard parts and markers go (path or fsspec URL such as "
                          "s3://bucket/run; default: MANIFEST.shards)."),
        click.option("-q", "--quiet", is_flag=True, help="No progress, no summary."),
        click.option("-v", "--verbose", count=True, help="More output; -v shows tracebacks."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def build_config(params: dict[str, Any]) -> Config:
    """Turn command-line parameters into a Config (file values, then flags)."""
    overrides = {k: v for k, v in params.items()
                 if k not in ("pages", "config_path", "quiet", "verbose", "no_probe",
                              "output_format")}
    overrides["inputs"] = tuple(params.get("inputs") or ()) or None
    output_format = params.get("output_format")
    if output_format is not None:
        overrides["jsonl"] = output_format == "jsonl"
        overrides["parts"] = output_format == "parts"
    if (params.get("jsonl") or output_format == "jsonl") and not params.get("output"):
        overrides["output"] = "manifest.jsonl"
    overrides["allow_hosts"] = tuple(params.get("allow_hosts") or ()) or None
    overrides["globs"] = tuple(params.get("globs") or ()) or None
    for name in ("sitemaps", "sitemaps_from_robots"):
        overrides[name] = tuple(params.get(name) or ()) or None
    overrides["headers"] = tuple(params.get("headers") or ()) or None
    overrides["storage_options"] = tuple(params.get("storage_options") or ()) or None
    if params.get("no_probe"):
        overrides["probe"] = False
    overrides["verbosity"] = -1 if params.get("quiet") else params.get("verbose") or None
    return load_config(params.get("config_path"), overrides)


@cli.command(context_settings=CONTEXT)
@click.argument("pages", nargs=-1)
@harvest_options
def harvest(pages: tuple[str, ...], **params: Any) -> None:
    """Harvest VideoObjects from PAGEs (URLs, files, directories, WARC files, or - for a
    list on stdin) into a manifest.

    \b
    Examples:
      harvester harvest https://example.org/a.html https://example.org/b.html
      harvester harvest saved-pages/ --download --dir media/ -o manifest.json
      harvester harvest -i pages.txt --state harvester.db --config harvester.toml
      harvester harvest crawl/*.warc.gz --executor local --output-format parts -o run.json
      harvester harvest -i warc.paths.gz --url-prefix s3://commoncrawl/ --executor dask
    """
    from harvester.scale.outputs import in_parts
    from harvester.scale.runner import run_harvest
    from harvester.store.parts import parts_dir

    cfg = build_config(params)
    if not (pages or cfg.inputs or cfg.sitemaps or cfg.sitemaps_from_robots):
        raise ConfigError("no PAGE given: pass URLs, files, directories, '-', -i LIST, "
                          "--sitemap URL or --sitemaps-from-robots SITE")
    bars = ProgressBars.for_terminal(enabled=cfg.verbosity >= 0, total=known_total(pages, cfg),
                                     secrets=cfg.redact_params, verbose=cfg.verbosity > 0)
    cancel = threading.Event()
    with bars, stop_on_signals(cancel, bars.say), retries_shown(cfg.verbosity > 0, bars.say):
        manifest = run_harvest(list(pages), cfg, progress=bars.update,
                               stdin=sys.stdin if "-" in pages else None, cancel=cancel)
    if cfg.verbosity >= 0:
        for line in bars.hints(manifest):
            click.echo(line, err=True)
        click.echo(summary_line(manifest), err=True)
        if in_parts(cfg, manifest.counts()["pages"]) and not (cfg.parts or cfg.parquet):
            click.echo(f"harvester: more than {cfg.parts_over_pages} pages: the manifest is "
                       f"written in parts, a summary in {cfg.output} and the pages and videos "
                       f"in {parts_dir(cfg.output or '')}/ (harvester merge joins them)",
                       err=True)
    if manifest.interrupted:
        raise SystemExit(ExitCode.INTERRUPTED)
    raise SystemExit(ExitCode.FAILURES if manifest.failed else ExitCode.OK)


def known_total(pages: tuple[str, ...], cfg: Config) -> int | None:
    """How many pages the run will read, when the arguments say it without reading."""
    if cfg.inputs or cfg.sitemaps or cfg.sitemaps_from_robots or any(
            p == "-" or os.path.isdir(p) or ".warc" in p.lower() or ".xml" in p.lower()
            for p in pages):
        return None
    return len(set(pages))


class _SayHandler(logging.Handler):
    """Log records as lines on the terminal: ``retry`` records and warnings."""

    def __init__(self, say: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.say = say

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", None)
        if record.getMessage() == "retry" and isinstance(fields, dict):
            self.say(f"retry: {fields['code']} {fields['url']} (attempt {fields['attempt']} "
                     f"failed; next in {fields['wait_s']:g} s)")
        elif record.levelno >= logging.WARNING:
            self.say(f"{record.levelname.lower()}: {record.getMessage()}")


@contextlib.contextmanager
def retries_shown(enabled: bool, say: Callable[[str], None]) -> Iterator[None]:
    """With ``-v``, each retry and warning of the run as a line on stderr."""
    if not enabled:
        yield
        return
    logger = logging.getLogger("harvester")
    handler = _SayHandler(say)
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@contextlib.contextmanager
def stop_on_signals(cancel: threading.Event, say: Callable[[str], None]) -> Iterator[None]:
    """The first SIGINT or SIGTERM asks the run to stop (it writes what it did and
    exits 130); a second one exits at once."""
    def handler(signum: int, frame: object) -> None:
        if cancel.is_set():
            os._exit(ExitCode.INTERRUPTED)
        cancel.set()
        say("harvester: stopping: finishing what is in flight and writing the manifest "
            "(press Ctrl-C again to quit at once)")

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only (e.g. under a test runner's thread)
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@cli.command(context_settings=CONTEXT)
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--glob", "globs", multiple=True, metavar="PATTERN",
              help="Which files of a directory to check (as for harvest).")
def validate(files: tuple[str, ...], globs: tuple[str, ...]) -> None:
    """Check the VideoObjects in FILEs (pages or JSON blobs, gzipped or not; a directory
    is walked as harvest walks it) and print the findings.

    Exits 1 when any video has errors, or a blob that may describe one cannot be read.

    \b
    Example:
      harvester validate saved-page.html video.jsonld saved-pages/
    """
    from harvester.api import check_file
    from harvester.inputs.sources import source_for

    any_errors = False
    paths = [s.ref for f in files for s in source_for(f, globs)]
    for path in paths:
        videos, unreadable = check_file(Path(path))
        click.echo(render_validation(path, videos, unreadable))
        any_errors |= bool(unreadable) or any(not v.validation.valid for v in videos)
    raise SystemExit(ExitCode.FAILURES if any_errors else ExitCode.OK)


@cli.command(context_settings=CONTEXT)
@click.argument("media", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--timeout", type=float, default=30.0, help="Seconds per file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def probe(media: tuple[str, ...], timeout: float, as_json: bool) -> None:
    """Measure duration and dimensions of local MEDIA files with ffprobe.

    A local HLS playlist (.m3u8) is measured with its local segments.

    \b
    Example:
      harvester probe downloads/ab/ab12....mp4 thumb.jpg
      harvester probe saved-stream/index.m3u8
    """
    from harvester.measure.probe import probe as probe_file

    results = [(path, probe_file(Path(path), timeout=timeout, playlist=True)) for path in media]
    click.echo(render_probe(results, as_json=as_json))
    failed = any(p.error for _, p in results)
    raise SystemExit(ExitCode.FAILURES if failed else ExitCode.OK)


@cli.command(context_settings=CONTEXT)
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, metavar="HTML", help="Where to write the report.")
@click.option("--dir", "download_dir", default=None, metavar="DIR",
              help="Download directory the manifest's paths are relative to.")
@click.option("--remote-thumbnails", is_flag=True,
              help="Let the page load thumbnails that were not downloaded from their own "
                   "hosts (off: nothing leaves the reader's browser).")
def report(manifest: str, output: str, download_dir: str | None,
           remote_thumbnails: bool) -> None:
    """Write a self-contained HTML gallery of the videos in MANIFEST.

    \b
    Example:
      harvester report manifest.json -o report.html
    """
    from harvester.store.report import write_report

    document = read_manifest_file(Path(manifest))
    base = Path(download_dir) if download_dir else Path(document.get("run", {})
                                                         .get("options", {}).get("dir", "."))
    write_report(document, Path(output), download_dir=base, remote_thumbnails=remote_thumbnails)
    click.echo(f"report written to {output}", err=True)


@cli.command(context_settings=CONTEXT)
@click.argument("summary", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, metavar="FILE",
              help="Where to write the one manifest ('-' for stdout).")
def merge(summary: str, output: str) -> None:
    """Join a manifest written in parts (--output-format parts) into one JSON manifest.

    Every part is checked against its checksum first; the document is written in
    constant memory, whatever its size.

    \b
    Example:
      harvester merge run.json -o run-whole.json
    """
    from harvester.files import write_atomic
    from harvester.store.parts import merged_pieces

    pieces = merged_pieces(summary)
    if output == "-":
        sys.stdout.writelines(pieces)
        return
    try:
        write_atomic(output, pieces)
    except OSError as exc:
        raise HarvesterError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"manifest written to {output}", err=True)


@cli.command(context_settings=CONTEXT)
@click.argument("name", type=click.Choice(["videoobject", "manifest"]))
def schema(name: str) -> None:
    """Print the JSON Schema for a VideoObject or for the manifest.

    \b
    Example:
      harvester schema videoobject > videoobject.schema.json
    """
    from harvester import manifest_schema, videoobject_schema

    document = videoobject_schema() if name == "videoobject" else manifest_schema()
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@cli.command(context_settings=CONTEXT)
@click.option("--dir", "out_dir", default="downloads/demo", show_default=True,
              help="Where the demo writes downloads, manifest.json and report.html.")
def demo(out_dir: str) -> None:
    """Run the whole pipeline offline on bundled sample pages and media.

    \b
    Example:
      harvester demo && xdg-open downloads/demo/report.html
    """
    from harvester.cli.demo import render_summary, run_demo

    result = run_demo(Path(out_dir), progress=lambda line: click.echo(line, err=True))
    click.echo(render_summary(result))
    if not result.as_designed:
        raise SystemExit(ExitCode.FAILURES)


def read_manifest_file(path: Path) -> dict[str, Any]:
    """A manifest document from a JSON manifest, a JSON-lines one (``--jsonl``) or the
    summary of one in parts (joined)."""
    from harvester.store.jsonl import read_jsonl_manifest

    try:
        text = path.read_text("utf-8")
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = read_jsonl_manifest(text)
        if isinstance(document, dict) and "type" in document:  # a one-line JSON-lines file
            document = read_jsonl_manifest(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read manifest {path}: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"cannot read manifest {path}: not a manifest")
    if isinstance(document.get("parts"), list):  # a summary: its parts hold the videos
        from harvester.store.parts import merged_pieces

        document = json.loads("".join(merged_pieces(path)))
    return dict(document)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn errors into exit codes and one line."""
    args = sys.argv[1:] if argv is None else argv
    show_traceback = "--traceback" in args or any(a in ("-v", "--verbose") or
                                                  (a.startswith("-v") and set(a[1:]) == {"v"})
                                                  for a in args)
    args = [a for a in args if a != "--traceback"]
    try:
        cli.main(args=args, prog_name="harvester", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        raise SystemExit(130) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(ExitCode.USAGE) from None
    except HarvesterError as exc:
        if show_traceback:
            raise
        click.echo(f"harvester: {redact(exc.message)}", err=True)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        raise SystemExit(130) from None
    raise SystemExit(ExitCode.OK)
