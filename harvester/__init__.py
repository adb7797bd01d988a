"""harvester: find every schema.org VideoObject on web pages, repair and validate it,
download and measure the media, and write a manifest.

>>> import harvester
>>> videos = harvester.extract(open("page.html", "rb").read(), url="https://example.org/a")
>>> manifest = harvester.harvest(["https://example.org/a"], harvester.Config(download=True))
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

# Public names and the module that defines each.  Imported on first use so that
# ``import harvester`` stays cheap (cron runs, process-pool workers) and a
# stage module can be imported on its own.
_EXPORTS = {
    "validate_file": "harvester.api", "videoobject_schema": "harvester.api",
    "Config": "harvester.config", "load_config": "harvester.config",
    "BlockedURL": "harvester.errors", "ConfigError": "harvester.errors",
    "DownloadError": "harvester.errors", "FetchError": "harvester.errors",
    "HarvesterError": "harvester.errors", "NotMedia": "harvester.errors",
    "ProbeError": "harvester.errors", "RemoteError": "harvester.errors",
    "StateLocked": "harvester.errors", "TooLarge": "harvester.errors",
    "extract": "harvester.extract",
    "Manifest": "harvester.store.manifest", "manifest_problems": "harvester.store.manifest",
    "manifest_schema": "harvester.store.manifest", "write_manifest": "harvester.store.manifest",
    "Event": "harvester.pipeline.events", "harvest": "harvester.pipeline.run",
    "Declared": "harvester.records", "Finding": "harvester.records",
    "MediaResult": "harvester.records", "MediaStatus": "harvester.records",
    "Probe": "harvester.records", "Syntax": "harvester.records",
    "Validation": "harvester.records", "Verdict": "harvester.records",
    "Video": "harvester.records",
}

if TYPE_CHECKING:
    from harvester.api import validate_file, videoobject_schema
    from harvester.config import Config, load_config
    from harvester.errors import (
        BlockedURL,
        ConfigError,
        DownloadError,
        FetchError,
        HarvesterError,
        NotMedia,
        ProbeError,
        RemoteError,
        StateLocked,
        TooLarge,
    )
    from harvester.extract import extract
    from harvester.pipeline.events import Event
    from harvester.pipeline.run import harvest
    from harvester.records import (
        Declared,
        Finding,
        MediaResult,
        MediaStatus,
        Probe,
        Syntax,
        Validation,
        Verdict,
        Video,
    )
    from harvester.store.manifest import (
        Manifest,
        manifest_problems,
        manifest_schema,
        write_manifest,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harvester' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "BlockedURL",
    "Config",
    "ConfigError",
    "Declared",
    "DownloadError",
    "Event",
    "FetchError",
    "Finding",
    "HarvesterError",
    "Manifest",
    "MediaResult",
    "MediaStatus",
    "NotMedia",
    "Probe",
    "ProbeError",
    "RemoteError",
    "StateLocked",
    "Syntax",
    "TooLarge",
    "Validation",
    "Verdict",
    "Video",
    "__version__",
    "extract",
    "harvest",
    "load_config",
    "manifest_problems",
    "manifest_schema",
    "validate_file",
    "videoobject_schema",
    "write_manifest",
]
