"""The ``harvester`` command: a thin layer over the library.

Each command parses its options into a :class:`~harvester.config.Config`,
makes one library call and renders the result.  ``main()`` is the one place
that maps :class:`~harvester.errors.HarvesterError` to an exit code and a
single line on stderr (``-v`` / ``--traceback`` shows the traceback instead).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
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

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class ExitCode(IntEnum):
    """What the process tells its caller (cron reads these)."""

    OK = 0
    FAILURES = 1
    USAGE = 2
    LOCKED = 75


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


def harvest_options(f: F) -> F:
    """The options of ``harvest``, shared with anything that runs a harvest."""
    options = [
        click.option("-i", "--input", "inputs", multiple=True, metavar="LIST",
                     help="File listing PAGEs, one per line (repeatable)."),
        click.option("-o", "--output", default=None, metavar="FILE",
                     help="Manifest path ('-' for stdout). Default: manifest.json."),
        click.option("--download/--no-download", default=None,
                     help="Download each video and thumbnail."),
        click.option("--measure", is_flag=True, default=None,
                     help="Measure HLS/DASH streams from their playlists without downloading."),
        click.option("--stream-variant", default=None, metavar="WHICH",
                     help="Stream rendition to fetch: best, worst, match (the declared size, "
                          "else best; default) or WIDTHxHEIGHT."),
        click.option("--dir", default=None, metavar="DIR", help="Download directory."),
        click.option("--state", default=None, metavar="FILE",
                     help="SQLite state for incremental (cron) runs."),
        click.option("--config", "config_path", default=None, metavar="FILE",
                     help="harvester.toml with any of these options; flags win."),
        click.option("--allow-private-hosts", is_flag=True, default=None,
                     help="Allow every loopback/private address (media, redirects)."),
        click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST",
                     help="Allow one private host: a name, an address or a CIDR range "
                          "(repeatable), e.g. --allow-host 10.0.0.5."),
        click.option("--ignore-robots", is_flag=True, default=None,
                     help="Fetch pages even where robots.txt disallows them."),
        click.option("--concurrency", type=int, default=None, help="Parallel transfers."),
        click.option("--retries", type=int, default=None, help="Retries per transfer."),
        click.option("--timeout", type=float, default=None, help="Seconds per network read."),
        click.option("--max-bytes", default=None, metavar="SIZE",
                     help="Byte cap per download, e.g. 500M or 2G."),
        click.option("--no-probe", "no_probe", is_flag=True, default=False,
                     help="Do not measure downloads with ffprobe."),
        click.option("--jsonl", is_flag=True, default=None,
                     help="Write one JSON record per video per line instead of one document."),
        click.option("--report", default=None, metavar="HTML", help="Also write an HTML report."),
        click.option("--log-file", default=None, metavar="FILE", help="Append JSON-lines logs."),
        click.option("--executor", type=click.Choice(["serial", "local", "dask"]), default=None,
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
                 if k not in ("pages", "config_path", "quiet", "verbose", "no_probe")}
    overrides["inputs"] = tuple(params.get("inputs") or ()) or None
    overrides["allow_hosts"] = tuple(params.get("allow_hosts") or ()) or None
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
    """
    from harvester.scale.runner import run_harvest

    cfg = build_config(params)
    if not pages and not cfg.inputs:
        raise ConfigError("no PAGE given: pass URLs, files, directories, '-' or -i LIST")
    bars = ProgressBars.for_terminal(enabled=cfg.verbosity >= 0)
    with bars:
        manifest = run_harvest(list(pages), cfg, progress=bars.update,
                               stdin=sys.stdin if "-" in pages else None)
    if cfg.verbosity >= 0:
        click.echo(summary_line(manifest), err=True)
    raise SystemExit(ExitCode.FAILURES if manifest.failed else ExitCode.OK)


@cli.command(context_settings=CONTEXT)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check the VideoObjects in FILEs (pages or JSON blobs) and print the findings.

    Exits 1 when any video has errors, or a blob that may describe one cannot be read.

    \b
    Example:
      harvester validate saved-page.html video.jsonld
    """
    from harvester.api import check_file

    any_errors = False
    for path in files:
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
def report(manifest: str, output: str, download_dir: str | None) -> None:
    """Write a self-contained HTML gallery of the videos in MANIFEST.

    \b
    Example:
      harvester report manifest.json -o report.html
    """
    from harvester.store.report import write_report

    try:
        document = json.loads(Path(manifest).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read manifest {manifest}: {exc}") from None
    base = Path(download_dir) if download_dir else Path(document.get("run", {})
                                                         .get("options", {}).get("dir", "."))
    write_report(document, Path(output), download_dir=base)
    click.echo(f"report written to {output}", err=True)


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
        click.echo(f"harvester: {exc.message}", err=True)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        raise SystemExit(130) from None
    raise SystemExit(ExitCode.OK)
