"""Exceptions raised by harvester.

::

    HarvesterError                 exit_code 1
    ├── ConfigError                exit_code 2: bad usage or configuration
    ├── StateLocked                exit_code 75: another run holds the lock
    ├── StateError                 the state file could not be written
    ├── RemoteError(url, attempts) a network problem with one URL
    │   ├── BlockedURL(reason)     bad scheme or private address, at any redirect hop
    │   ├── FetchError             the page could not be fetched after retries
    │   └── DownloadError          a media download failed after retries
    │       ├── TooLarge
    │       ├── NotMedia
    │       │   └── IsStream       a playlist where a file was expected (kind hls|dash)
    │       └── StreamRefused      a stream refused: loop, too deep, too many segments
    └── ProbeError(path)           ffprobe could not measure a file

Bad markup is never an exception: it is recorded as repairs and findings.
Each error carries a stable ``code`` that the manifest records.
"""

from __future__ import annotations

from typing import ClassVar


class HarvesterError(Exception):
    """Base of every error harvester raises on purpose."""

    exit_code: ClassVar[int] = 1
    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(HarvesterError):
    """Bad command-line usage or configuration file."""

    exit_code: ClassVar[int] = 2
    code = "config"


class StateLocked(HarvesterError):
    """Another run holds the state lock; cron can simply try again later."""

    exit_code: ClassVar[int] = 75
    code = "locked"


class StateError(HarvesterError):
    """The state file could not be written (a full disk, a read-only file)."""

    code = "state_error"


class RemoteError(HarvesterError):
    """A problem talking to one URL."""

    code = "remote"

    def __init__(self, message: str, url: str, *, code: str | None = None,
                 attempts: int = 0) -> None:
        super().__init__(message, code=code)
        self.url = url
        self.attempts = attempts


class BlockedURL(RemoteError):
    """The URL (or a redirect hop) is not allowed: scheme or private address."""

    code = "private_address"


class FetchError(RemoteError):
    """A page could not be fetched."""

    code = "fetch_failed"


class DownloadError(RemoteError):
    """A media download failed after its retries."""

    code = "download_failed"


class TooLarge(DownloadError):
    """The body is larger than the byte cap."""

    code = "too_large"


class NotMedia(DownloadError):
    """The body is not media (for example an HTML error page served with 200)."""

    code = "not_media"


class IsStream(NotMedia):
    """The body is an HLS playlist or a DASH manifest: a stream, not a file."""

    code = "stream"

    def __init__(self, message: str, url: str, *, kind: str, body: bytes | None = None,
                 final: str | None = None) -> None:
        super().__init__(message, url)
        self.kind = kind
        self.body = body  # the whole playlist when it was read, else None
        self.final = final  # the URL it was read from, after redirects


class StreamRefused(DownloadError):
    """A stream harvester will not fetch: a loop, too deep, too many segments, unreadable."""

    code = "bad_playlist"


class ProbeError(HarvesterError):
    """ffprobe could not measure a file."""

    code = "probe_failed"

    def __init__(self, message: str, path: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.path = path
