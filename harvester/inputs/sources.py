"""Turn PAGE arguments into :class:`~harvester.records.Source` records.

A PAGE is one of:

* an ``http://`` or ``https://`` URL -> ``SourceKind.URL``;
* a URL (of any scheme) whose path ends in ``.warc``, ``.warc.gz``, ``.arc``
  or ``.arc.gz`` -> ``SourceKind.WARC``, read through
  :class:`~harvester.inputs.remote.Remote` (http(s) through harvester's
  network layer, ``s3://`` and other schemes through fsspec);
* a ``file://`` URL -> the local path it names;
* an existing file -> ``SourceKind.WARC`` when its name ends in ``.warc``,
  ``.warc.gz``, ``.arc`` or ``.arc.gz``, else ``SourceKind.FILE`` (a file
  named explicitly is read whatever its extension);
* an existing directory -> walked recursively in sorted order (directories
  and files compared by name, depth first).  Hidden entries (names starting
  with ``.``) are skipped, symbolic links to directories are not followed,
  and only pages are kept: files whose names end in one of
  :data:`PAGE_SUFFIXES` (case insensitive, also with ``.gz`` after them) and
  files without an extension whose first bytes look like HTML; with
  ``globs`` (``--glob``), the files whose name or path below the directory
  matches one of the patterns instead;
* ``-`` -> a list of PAGEs read from ``stdin``, one per line.

``list_files`` (``-i FILE``) are lists of the same shape, such as a Common
Crawl ``warc.paths.gz``.  A list is a local path or a URL (``s3://...``,
``https://...``), and may be gzipped (it is, when it starts like gzip).  In
lists, blank lines and lines starting with ``#`` are ignored; each line may
itself be a URL, file or directory.  With ``url_prefix`` (``--url-prefix``),
each relative line of a list or of ``-`` (no scheme, not starting with ``/``)
is joined to the prefix with one ``/``: ``crawl-data/x.warc.gz`` under
``s3://commoncrawl/`` is ``s3://commoncrawl/crawl-data/x.warc.gz``.  Sources
are yielded in argument order, then the list files in order, with duplicates
(same URL, or the same normalised path) dropped so a page is never processed
twice.  A list read from the network speaks for someone else: it may name only
URLs, and those on a host the user did not name (the list's own, or the
prefix's) are fetched through the address guard from their first hop.

Bad input is reported at the smallest useful scale.  A missing or unreadable
list file (local or remote), or ``-`` without a ``stdin``, raises
:class:`ConfigError` as soon as :func:`iter_sources` is called (exit code 2):
the whole run's input is wrong.
A single PAGE that names no existing file, or a URL with another scheme
(``ftp:``, ``data:``), is still yielded: reading it fails for that page alone
with a clear message (``not_found`` or ``bad_scheme``), so one typo in a list
does not stop a scheduled run.
"""

from __future__ import annotations

import fnmatch
import gzip
import logging
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlsplit

from harvester.config import Config
from harvester.errors import ConfigError, FetchError
from harvester.inputs.remote import Remote, is_http, is_remote
from harvester.net.exchange import host_of
from harvester.records import Source, SourceKind

__all__ = ["PAGE_SUFFIXES", "WARC_SUFFIXES", "iter_sources", "source_for"]

log = logging.getLogger(__name__)

#: Name endings of archive files read record by record.
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
#: Name endings kept when walking a directory.
PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".txt", ".json", ".jsonld", *WARC_SUFFIXES)

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_GZIPPED_PAGE_SUFFIXES = tuple(s + ".gz" for s in PAGE_SUFFIXES if s not in WARC_SUFFIXES)
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
                         re.IGNORECASE | re.DOTALL)


def _has_suffix(name: str, suffixes: tuple[str, ...]) -> bool:
    return name.lower().endswith(suffixes)


def _looks_like_html(path: str) -> bool:
    """Does a file without an extension start like an HTML document?"""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return False
    return _HTML_START.match(head.lstrip(b"\xef\xbb\xbf")) is not None


def _is_page(root: str, path: str, globs: tuple[str, ...]) -> bool:
    """Is the file at ``path`` (found under ``root``) one the walk keeps?"""
    name = os.path.basename(path)
    if globs:
        below = os.path.relpath(path, root)
        return any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(below, g) for g in globs)
    if _has_suffix(name, PAGE_SUFFIXES + _GZIPPED_PAGE_SUFFIXES):
        return True
    return "." not in name and _looks_like_html(path)


def _file_source(path: str) -> Source:
    kind = SourceKind.WARC if _has_suffix(path, WARC_SUFFIXES) else SourceKind.FILE
    return Source(ref=path, kind=kind)


def _walk(root: str, globs: tuple[str, ...] = ()) -> Iterator[Source]:
    """Page files under ``root``, depth first in sorted order, hidden entries skipped."""
    found = False
    for dirpath, dirnames, filenames in os.walk(root, onerror=_walk_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if name.startswith(".") or not _is_page(root, path, globs):
                continue
            found = True
            yield _file_source(path)
    if not found:
        wanted = ", ".join(globs) if globs else ", ".join(PAGE_SUFFIXES) + " (or .gz of them)"
        log.warning("directory %s holds no page files (looked for %s)", root, wanted)


def _walk_error(exc: OSError) -> None:
    log.warning("cannot list %s: %s", exc.filename, exc.strerror)


def _file_url_path(ref: str) -> str | None:
    """The local path of a ``file://`` URL on this machine, else ``None``."""
    parts = urlsplit(ref)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    return unquote(parts.path)


def source_for(ref: str, globs: tuple[str, ...] = ()) -> Iterator[Source]:
    """The sources one PAGE stands for (several for a directory, none for ``-``).

    ``-`` is handled by :func:`iter_sources`; here it is a plain path.
    """
    ref = ref.strip()
    scheme = _SCHEME.match(ref)
    if scheme and not os.path.exists(ref):
        local = _file_url_path(ref)
        if local is None:
            # http(s) is fetched; any other scheme fails for this page alone.
            kind = SourceKind.WARC if _names_warc(ref) else SourceKind.URL
            yield Source(ref=ref, kind=kind)
            return
        ref = local
    path = os.path.normpath(ref)
    if os.path.isdir(path):
        yield from _walk(path, globs)
    else:
        # Missing files are yielded too: read_file reports them per page.
        yield _file_source(path)


def _names_warc(url: str) -> bool:
    """Does the path of ``url`` (query and fragment aside) end like a WARC file?"""
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return _has_suffix(path, WARC_SUFFIXES)


def _list_lines(lines: Iterable[str], prefix: str | None = None) -> Iterator[str]:
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            yield _prefixed(line, prefix)


def _prefixed(line: str, prefix: str | None) -> str:
    """``line`` under ``prefix`` when it is relative (no scheme, no leading ``/``)."""
    if not prefix or _SCHEME.match(line) or line.startswith("/"):
        return line
    return prefix + line if prefix.endswith("/") else f"{prefix}/{line}"


def _read_list(path: str, prefix: str | None,
               remote: Remote | None) -> list[tuple[str, bool]]:
    """The PAGE lines of a list file, each with whether it is trusted as typed.

    Any problem with the file is a ConfigError.  The lines of a local list are
    the user's own; those of a list read from the network are someone else's:
    :func:`_remote_line` decides what they may name.
    """
    lines = _list_file_lines(path, prefix, remote)
    if not is_remote(path):
        return [(line, True) for line in lines]
    return [_remote_line(line, path, prefix) for line in lines]


def _list_file_lines(path: str, prefix: str | None, remote: Remote | None) -> list[str]:
    data = _list_bytes(path, remote) if is_remote(path) else _local_list_bytes(path)
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ConfigError(f"list file {path} is not valid gzip: {exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"list file {path} is not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start})") from None
    return list(_list_lines(text.splitlines(), prefix))


def _remote_line(line: str, list_url: str, prefix: str | None) -> tuple[str, bool]:
    """One line of a list read from ``list_url``, with whether it is trusted as typed.

    A list from the network may not name files on this machine (ConfigError).
    Its http(s) URLs are trusted on the list's own host and on ``prefix``'s, the
    hosts the user named; on any other host they are fetched through the
    address guard, so a list cannot send the run to an internal address.
    """
    if not is_remote(line):
        raise ConfigError(f"list file {list_url} names {line!r}, which is not a URL: a list "
                          "read from the network may name only URLs (relative lines "
                          "need --url-prefix)")
    if not is_http(line):
        return line, True
    named = {host_of(url) for url in (list_url, prefix or "") if is_http(url)}
    return line, host_of(line) in named


def _local_list_bytes(path: str) -> bytes:
    try:
        return Path(path.removeprefix("file://")).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"list file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"list file {path} is a directory: give it as a PAGE "
                          "to walk it, or name a file with one PAGE per line") from None
    except OSError as exc:
        raise ConfigError(f"cannot read list file {path}: {exc.strerror}") from None


def _list_bytes(url: str, remote: Remote | None) -> bytes:
    """The bytes of the list at ``url`` (s3://, https:// ...)."""
    try:
        return (remote or Remote(Config())).read_bytes(url)
    except FetchError as exc:
        if exc.code in ("not_found", "http_404", "http_410"):
            raise ConfigError(f"list file not found: {url}") from None
        raise ConfigError(f"cannot read list file {url}: {exc.message}") from None


def iter_sources(
    refs: Iterable[str], list_files: Iterable[str] = (), stdin: TextIO | None = None,
    globs: tuple[str, ...] = (), *, url_prefix: str | None = None,
    remote: Remote | None = None,
) -> Iterator[Source]:
    """Every source named by ``refs`` and ``list_files``, in order, without duplicates.

    List files and ``-`` are read here, before the first source is yielded, so
    that a wrong list fails the run at once (``ConfigError``) rather than
    after some pages were fetched.  ``remote`` reads lists named by URL (by
    default with a default :class:`~harvester.config.Config`); ``url_prefix``
    is put before their relative lines and those of ``-``.
    """
    refs = list(refs)
    expanded: list[tuple[str, bool]] = []
    stdin_used = False
    for ref in refs:
        if ref.strip() != "-":
            expanded.append((ref, True))
            continue
        if stdin is None:
            raise ConfigError("'-' reads PAGEs from standard input, but none was given")
        if not stdin_used:  # a second '-' would find stdin already at its end
            expanded.extend((line, True) for line in _list_lines(stdin, url_prefix))
            stdin_used = True
    for list_file in list_files:
        expanded.extend(_read_list(list_file, url_prefix, remote))
    return _dedupe(expanded, globs)


def _dedupe(refs: list[tuple[str, bool]], globs: tuple[str, ...]) -> Iterator[Source]:
    seen: set[Source] = set()
    for ref, trusted in refs:
        if not ref.strip():
            continue
        for source in source_for(ref, globs):
            if not trusted:
                source = replace(source, trusted=False)
            if source not in seen:
                seen.add(source)
                yield source
