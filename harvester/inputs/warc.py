"""WARC files as pages: each HTML response record becomes a :class:`Page`.

Reads plain and gzip-per-record WARC files (and ARC files) streaming: a record's
body is read once, capped at ``config.max_page_bytes``, and never the whole
file.  The record's ``WARC-Target-URI`` is the page URL, and its HTTP
``Content-Type`` travels with the page (its charset decodes the body).  A path
may be a local file or any fsspec URL (``s3://bucket/crawl.warc.gz`` with s3fs
installed); ``opener`` replaces how it is opened (a run opens http(s) URLs
through its own network layer: :mod:`harvester.inputs.remote`).

Two readers give the same pages and the same damage report: FastWARC
(:mod:`~harvester.inputs.warc_fastwarc`), the default, and warcio
(:mod:`~harvester.inputs.warc_warcio`), used for ARC files, when FastWARC is not
installed, or when ``HARVESTER_WARC_READER=warcio`` is set.

A truncated or corrupt record costs only itself: it is counted in
:attr:`WarcReader.bad_records` and reading resumes at the next record that
starts cleanly (the next gzip member holding ``WARC/``, or the next
``WARC/1.`` line in an uncompressed file).  A record whose body is larger than
``max_bytes`` is skipped, like a record that is not HTML: it is not a page this
run reads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from typing import IO

from harvester.config import Config
from harvester.errors import ConfigError, FetchError
from harvester.inputs.warcbase import GZIP_MAGIC, WarcTally, next_record_start
from harvester.records import Page, Source

__all__ = ["READERS", "WarcReader", "default_reader", "iter_warc_pages", "next_record_start",
           "open_binary", "warc_damage"]

READERS = ("fastwarc", "warcio")
#: Names a reader for every WARC file of the process (``fastwarc`` or ``warcio``).
READER_ENV = "HARVESTER_WARC_READER"
_ARC_SUFFIXES = (".arc", ".arc.gz")
#: A reader module's entry: the pages of a stream, counting damage in a tally.
_Read = Callable[[IO[bytes], WarcTally, bool], Iterator[Page]]


def default_reader() -> str:
    """The reader ``HARVESTER_WARC_READER`` names, else FastWARC when it is installed,
    else warcio."""
    wanted = os.environ.get(READER_ENV, "").strip().lower()
    if wanted and wanted not in READERS:
        raise ConfigError(f"{READER_ENV}={wanted!r}: use one of {', '.join(READERS)}")
    if wanted:
        return wanted if wanted == "warcio" or _fastwarc_installed() else "warcio"
    return "fastwarc" if _fastwarc_installed() else "warcio"


def _fastwarc_installed() -> bool:
    return find_spec("fastwarc") is not None


@contextmanager
def open_binary(path: str) -> Iterator[IO[bytes]]:
    """A seekable binary stream on a local path or an fsspec URL."""
    if "://" in path and not path.startswith("file://"):
        import fsspec

        with fsspec.open(path, "rb") as stream:
            yield stream
    else:
        with open(path.removeprefix("file://"), "rb") as stream:
            yield stream


@dataclass
class WarcReader(WarcTally):
    """Iterate the HTML response records of one WARC file as pages.

    ``reader`` is ``"fastwarc"`` or ``"warcio"`` (None: :func:`default_reader`);
    ARC files are always read by warcio, which alone reads them.

    >>> reader = WarcReader("crawl.warc.gz")          # doctest: +SKIP
    >>> pages = list(reader.pages()); reader.bad_records   # doctest: +SKIP
    0
    """

    reader: str | None = None
    opener: Callable[[str], AbstractContextManager[IO[bytes]]] = open_binary

    def pages(self) -> Iterator[Page]:
        read = self._reading()
        try:
            with self.opener(self.path) as stream:
                gzipped = stream.read(2) == GZIP_MAGIC[:2]
                yield from read(stream, self, gzipped)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise FetchError(f"cannot read WARC {self.path}: {exc.strerror or exc}",
                             self.path, code="unreadable") from None

    def _reading(self) -> _Read:
        name = self.reader or default_reader()
        if name == "fastwarc" and not self.path.lower().endswith(_ARC_SUFFIXES):
            from harvester.inputs.warc_fastwarc import fastwarc_pages

            return fastwarc_pages
        from harvester.inputs.warc_warcio import warcio_pages

        return warcio_pages


def iter_warc_pages(
    source: Source, config: Config,
    opener: Callable[[str], AbstractContextManager[IO[bytes]]] | None = None,
) -> Iterator[Page]:
    """The pages of one WARC source; raises FetchError at the end if records were lost."""
    reader = WarcReader(source.ref, max_bytes=config.max_page_bytes,
                        opener=opener or open_binary)
    yield from reader.pages()
    if reader.bad_records:
        raise warc_damage(reader, source.ref)


def warc_damage(reader: WarcTally, ref: str) -> FetchError:
    """The error that reports the records of ``ref`` that could not be read."""
    return FetchError(
        f"{reader.bad_records} WARC record(s) could not be read in {ref}: "
        + "; ".join(reader.problems[:3]), ref, code="warc_corrupt")
